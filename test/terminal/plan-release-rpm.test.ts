// A release whose recipe lists .rpm files is refused before the build, before a
// passphrase is read and before a byte is written, when the terminal cannot sign and
// index it (lib/repo/compat/rpm-tools.ts checkRpmRelease, called by planRelease): no
// publicUrl for the .repo file, a missing rpm tool. Through the built CLI; the recipe's
// one step fails, so a build that ran would say E_BUILD_FAILED, and no passphrase source
// is given, so reading one would fail with its own code.
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keystore } from '../../lib/keys/keystore.js';
import type { Signer } from '../../lib/keys/signer.js';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { initRepository } from '../../lib/repo/init-repository.js';
import { defaultConfig, writeConfig } from '../../lib/terminal/config.js';
import { terminalPaths, type TerminalPaths } from '../../lib/terminal/home.js';
import { closeSigners } from '../../lib/terminal/keys.js';
import { makeRepo, recipeJson } from '../support/build-repo.js';
import { ensureBuilt, runCli, treeDigest } from '../support/e2e-cli.js';
import { TEST_ONLY_KDF, testPassphrase } from '../support/keys-fixtures.js';

let work: string;
let paths: TerminalPaths;
let host: string;
let src: { dir: string; commit: string; branch: string };
const SLOW = 180_000;

const codeOf = (stderr: string): string | undefined => /error (E_[A-Z_]+)/.exec(stderr)?.[1];

async function trees(): Promise<Record<string, Record<string, string>>> {
  return { home: await treeDigest(paths.home), host: await treeDigest(host) };
}

function release(env: NodeJS.ProcessEnv = {}, extra: string[] = []) {
  return runCli('airlock', ['release', '--source', src.dir, '--branch', src.branch, '--commit', src.commit, '--to', host, ...extra], { AIRLOCK_HOME: paths.home, ...env });
}

beforeAll(async () => {
  await ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'airlock-plan-rpm-'));
  paths = terminalPaths(join(work, 'home'));
  host = join(work, 'host');
  await mkdir(host);
  await mkdir(paths.home, { recursive: true, mode: 0o700 });
  const keystore = await Keystore.create(paths.keystore, TEST_ONLY_KDF);
  const pass = testPassphrase();
  const signers: Signer[] = [];
  try {
    for (const role of ['root', 'targets', 'snapshot', 'timestamp'] as const) signers.push(await keystore.unlock((await keystore.generate(role, pass)).keyId, pass));
    await keystore.generate('pgp', pass);
    const [root, targets, snapshot, timestamp] = signers as [Signer, Signer, Signer, Signer];
    await initRepository(paths.repository, paths.staging, { root: [root], rootThreshold: 1, targets, snapshot, timestamp }, { now: new Date(), expiryDays: DEFAULT_EXPIRY_DAYS, name: 'Plans' });
  } finally {
    pass.wipe();
    await closeSigners(signers);
  }
  src = makeRepo(
    { 'airlock.recipe.json': recipeJson({ project: 'hello', version: '1.0.0', steps: [{ name: 'must not run', run: ['sh', '-c', 'exit 7'] }], artifacts: ['hello-1.0.0-1.noarch.rpm'] }) },
    'release/1.0.0',
    work,
  );
}, SLOW);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('a release with .rpm files, refused before the build', () => {
  it('without publicUrl in airlock.json (the .repo file names it): E_CONFIG', async () => {
    await writeConfig(paths, defaultConfig('Plans'));
    const before = await trees();
    const r = await release();
    expect(codeOf(r.stderr), r.stderr).toBe('E_CONFIG');
    expect(r.stderr).toContain('publicUrl');
    expect(await trees()).toEqual(before);
  }, SLOW);

  it('with createrepo_c missing from PATH: E_TOOL_MISSING naming the Debian package', async () => {
    await writeConfig(paths, { ...defaultConfig('Plans'), publicUrl: 'https://releases.example.org' });
    // git (for the pin checks), rpmsign and rpmkeys, but no createrepo_c.
    const bin = join(work, 'bin');
    await mkdir(bin);
    for (const tool of ['git', 'rpmsign', 'rpmkeys']) await symlink(`/usr/bin/${tool}`, join(bin, tool));
    const before = await trees();
    const r = await release({ PATH: bin });
    expect(r.status, r.stderr).toBe(3);
    expect(codeOf(r.stderr), r.stderr).toBe('E_TOOL_MISSING');
    expect(r.stderr).toContain('createrepo-c');
    expect(await trees()).toEqual(before);
  }, SLOW);

  it('with everything in place, --dry-run plans the rpm repository', async () => {
    await writeConfig(paths, { ...defaultConfig('Plans'), publicUrl: 'https://releases.example.org' });
    const before = await trees();
    const r = await release({}, ['--dry-run', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { plan: { files: string[]; keys: { role: string }[] } };
    expect(out.plan.files).toEqual(expect.arrayContaining(['rpm/Packages/…', 'rpm/repodata/…']));
    expect(out.plan.keys.map((k) => k.role)).toContain('pgp');
    expect(await trees()).toEqual(before);
  }, SLOW);
});
