// `npm pack` then `npm install -g` of the tarball gives working `airlock` and
// `airlock-verify` commands on PATH, with no registry: the runtime dependencies travel
// inside the tarball (bundleDependencies), as a release terminal is offline. Install
// scripts are skipped here (pkcs11js's compile takes minutes on two cores; only token
// commands load it), everything else runs from the installed copy.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, projectRoot } from '../support/e2e-cli.js';

const work = mkdtempSync(join(tmpdir(), 'airlock-install-'));
const prefix = join(work, 'prefix');
let tarball: string;
afterAll(() => rmSync(work, { recursive: true, force: true }));

function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd ?? work, env: { ...process.env, ...opts.env }, input: opts.input, timeout: 300_000 });
  if (r.error) throw r.error;
  return r;
}

beforeAll(async () => {
  await ensureBuilt();
  // dist/ is current (npm test builds first; prepack builds when packing by hand).
  const pack = sh('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], { cwd: projectRoot });
  expect(pack.status, pack.stderr).toBe(0);
  tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
  const install = sh('npm', ['install', '-g', '--prefix', prefix, '--offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball], { env: { npm_config_cache: join(work, 'empty-cache') } });
  expect(install.status, install.stderr).toBe(0);
}, 300_000);

describe('npm pack / npm install -g', () => {
  it('packs the built programs with shebangs and exec bits, and no sources or tests', () => {
    const listing = sh('tar', ['tzvf', tarball]).stdout.split('\n');
    for (const bin of ['package/dist/cli/airlock.js', 'package/dist/airlock-verify.mjs']) {
      const line = listing.find((l) => l.endsWith(` ${bin}`));
      expect(line, bin).toMatch(/^-rwxr-xr-x/);
      expect(sh('sh', ['-c', `tar xzOf '${tarball}' ${bin} | head -1`]).stdout).toBe('#!/usr/bin/env node\n');
    }
    const names = listing.map((l) => l.split(' ').pop()!);
    expect(names.filter((n) => /^package\/(test|lib|cli|scripts)\//.test(n))).toEqual([]);
    expect(names).toContain('package/node_modules/commander/package.json');
  });

  it('installs airlock and airlock-verify on PATH, working without the registry (an empty npm cache, --offline)', () => {
    const env = { PATH: `${join(prefix, 'bin')}:${process.env.PATH}`, HOME: join(work, 'home'), AIRLOCK_HOME: join(work, 'terminal') };
    expect(sh('airlock', ['--version'], { env }).stdout.trim()).toBe('0.1.0');
    expect(sh('airlock-verify', ['--version'], { env }).stdout.trim()).toBe('0.1.0');
    expect(sh('airlock-verify', ['--help'], { env }).status).toBe(0);
    // A command that loads the bundled dependencies (commander, openpgp) from the installed copy.
    writeFileSync(join(work, 'pass'), 'an install test passphrase\n', { mode: 0o600 });
    const r = sh('sh', ['-c', 'airlock key generate pgp --keystore "$1" --passphrase-fd 3 --json 3<"$2"', 'sh', join(work, 'keystore'), join(work, 'pass')], { env });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).key.role).toBe('pgp');
    const usage = sh('airlock', ['bogus', '--json'], { env });
    expect(usage.status).toBe(2);
  });
});
