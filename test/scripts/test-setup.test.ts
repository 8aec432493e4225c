// scripts/test-setup.mjs, which `npm test` runs first: on a machine without the Debian
// packages the tests use it installs exactly the missing ones (as root or through sudo)
// or stops naming them; --check (the suite's globalSetup) refuses to start without them.
// apt-get, sudo and dpkg-query are played by small scripts first on PATH, so nothing is
// installed for real; the package lists are the repository's own.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../support/e2e-cli.js';

const script = join(projectRoot, 'scripts', 'test-setup.mjs');
const work = mkdtempSync(join(tmpdir(), 'airlock-test-setup-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const bin = join(work, 'bin');
const calls = join(work, 'apt-calls');
const installedNow = join(work, 'installed-now');
mkdirSync(bin);
function fake(name: string, body: string): void {
  writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
  chmodSync(join(bin, name), 0o755);
}
// dpkg-query -W -f=FORMAT PKG…: "ii" for each package but those in $MISSING (unknown to
// dpkg, so no line and exit 1) and $REMOVED ("rc": removed, config files left); after a
// successful fake apt-get install, everything is installed.
fake(
  'dpkg-query',
  `shift 2; status=0
for p in "$@"; do
  if [ ! -e "${installedNow}" ] && [[ " $MISSING " == *" $p "* ]]; then status=1; continue; fi
  if [ ! -e "${installedNow}" ] && [[ " $REMOVED " == *" $p "* ]]; then printf '%s\\trc \\n' "$p"; continue; fi
  printf '%s\\tii \\n' "$p"
done
exit $status`,
);
fake('apt-get', `echo "$*" >> "${calls}"; if [ "$1" = install ]; then [ -n "$APT_FAILS" ] && exit 100; touch "${installedNow}"; fi; exit 0`);
fake('sudo', `[ "$1" = -n ] && shift; exec "$@"`);
fake('npm', `echo "npm $*" >> "${calls}"`);
// A stand-in project without node_modules: the script runs (fake) npm ci there, never in this checkout.
const project = join(work, 'project');
mkdirSync(project);
writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'stand-in', allowScripts: {} }));
writeFileSync(join(project, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: { '': { name: 'stand-in' } } }));

function setup(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, AIRLOCK_TEST_SETUP_PROJECT: project, ...env } });
  return { status: r.status, stderr: r.stderr, apt: readFileSync(calls, { encoding: 'utf8', flag: 'a+' }).trim().split('\n').filter(Boolean) };
}

beforeEach(() => {
  rmSync(calls, { force: true });
  rmSync(installedNow, { force: true });
});

const missing = { MISSING: 'minisign nginx-light', REMOVED: 'softhsm2' };

describe('scripts/test-setup.mjs', () => {
  it('--check names exactly the packages that are not installed and exits 1, installing nothing', () => {
    const r = setup(['--check'], missing);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('minisign nginx-light softhsm2');
    expect(r.stderr).not.toMatch(/\bgnupg\b|\bopenssh-server\b/);
    expect(r.apt).toEqual([]);
  });

  it('--check passes when every listed package is installed', () => {
    expect(setup(['--check']).status).toBe(0);
  });

  it('--dry-run says what it would install and runs no apt-get', () => {
    const r = setup(['--dry-run'], missing);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/would install .*: minisign nginx-light softhsm2/);
    expect(r.apt).toEqual([]);
  });

  it('installs exactly the missing packages (apt-get update first), says so, then goes on', () => {
    const r = setup([], missing);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/installing the Debian packages the tests use: minisign nginx-light softhsm2/);
    expect(r.apt[0]).toBe('update -qq');
    expect(r.apt[1]).toMatch(/^install -y .*--no-install-recommends .* minisign nginx-light softhsm2$/);
    // …then node_modules, missing in the stand-in project.
    expect(r.stderr).toContain('node_modules is missing: running npm ci');
    expect(r.apt.slice(2)).toEqual(['npm ci --no-audit --no-fund']);
  });

  it('stops loudly, naming the packages and the command, when apt-get cannot install them', () => {
    const r = setup([], { ...missing, APT_FAILS: '1' });
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('could not install minisign nginx-light softhsm2');
    expect(r.stderr).toMatch(/apt-get install .* minisign nginx-light softhsm2/);
  });

  it('installs no package when nothing is missing', () => {
    const r = setup([]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.apt.filter((c) => !c.startsWith('npm '))).toEqual([]);
  });

  it('--node-modules (what `npm run demo` runs first) installs no Debian package, only node_modules', () => {
    const r = setup(['--node-modules'], missing);
    expect(r.status, r.stderr).toBe(0);
    expect(r.apt).toEqual(['npm ci --no-audit --no-fund']);
  });

  it('refuses an unknown argument with exit 2', () => {
    expect(setup(['--bogus']).status).toBe(2);
  });
});

describe('node_modules against package-lock.json', () => {
  function stateOf(lock: object, hidden: object | null): string {
    const dir = mkdtempSync(join(work, 'modules-'));
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: lock }));
    if (hidden) {
      mkdirSync(join(dir, 'node_modules'));
      writeFileSync(join(dir, 'node_modules', '.package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: hidden }));
    }
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import { nodeModulesState } from ${JSON.stringify(script)}; console.log(nodeModulesState(${JSON.stringify(dir)}));`], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.trim();
  }
  const lock = {
    '': { name: 'x' },
    'node_modules/a': { version: '1.0.0' },
    'node_modules/@esbuild/darwin-arm64': { version: '0.1.0', optional: true },
  };

  it('is missing without npm ci, ok when it matches (other platforms\' optional packages absent), stale after a lockfile change', () => {
    expect(stateOf(lock, null)).toBe('missing');
    expect(stateOf(lock, { 'node_modules/a': { version: '1.0.0' } })).toBe('ok');
    expect(stateOf(lock, { 'node_modules/a': { version: '0.9.0' } })).toBe('stale');
    expect(stateOf({ ...lock, 'node_modules/b': { version: '2.0.0' } }, { 'node_modules/a': { version: '1.0.0' } })).toBe('stale');
    expect(stateOf(lock, { 'node_modules/a': { version: '1.0.0' }, 'node_modules/gone': { version: '1.0.0' } })).toBe('stale');
  });
});
