// Check everything, then act — through the built CLI, on a terminal home made with the
// test-only KDF (so unlocking is cheap): an already-released version is refused before
// the build (no build log touched, no passphrase read); --dry-run of release, refresh,
// publish, key rotate and init leaves the terminal home and the host byte-identical; init
// with a passphrase too short writes nothing to any medium; refresh on a stale copy
// refuses before signing, and so do its dry run and a key rotation on it; a release
// checks the source out once.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keystore } from '../../lib/keys/keystore.js';
import type { Signer } from '../../lib/keys/signer.js';
import { publish } from '../../lib/publish/index.js';
import { addHost } from '../../lib/publish/hosts.js';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { initRepository } from '../../lib/repo/init-repository.js';
import { refreshRepository } from '../../lib/repo/refresh.js';
import { releaseToRepository } from '../../lib/repo/release.js';
import { defaultConfig, writeConfig } from '../../lib/terminal/config.js';
import { terminalPaths, type TerminalPaths } from '../../lib/terminal/home.js';
import { closeSigners } from '../../lib/terminal/keys.js';
import { makeRepo, recipeJson } from '../support/build-repo.js';
import { ensureBuilt, runCli, treeDigest } from '../support/e2e-cli.js';
import { TEST_ONLY_KDF, TEST_PASSPHRASE, testPassphrase } from '../support/keys-fixtures.js';

let work: string;
let paths: TerminalPaths;
let host: string;
const SLOW = 180_000;

/** A recipe whose step fails: if the build ran, the error would be E_BUILD_FAILED. */
function failingRecipe(version: string) {
  return recipeJson({
    project: 'hello',
    version,
    steps: [{ name: 'must not run', run: ['sh', '-c', 'exit 7'] }],
    artifacts: [`hello-${version}.txt`],
  });
}

const codeOf = (stderr: string): string | undefined => /error (E_[A-Z_]+)/.exec(stderr)?.[1];

async function trees(): Promise<Record<string, Record<string, string>>> {
  return { home: await treeDigest(paths.home), host: await treeDigest(host) };
}

beforeAll(async () => {
  await ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'airlock-plans-cli-'));
  paths = terminalPaths(join(work, 'home'));
  host = join(work, 'host');
  await mkdir(paths.home, { recursive: true, mode: 0o700 });
  const keystore = await Keystore.create(paths.keystore, TEST_ONLY_KDF);
  const pass = testPassphrase();
  const signers: Signer[] = [];
  try {
    for (const role of ['root', 'targets', 'snapshot', 'timestamp'] as const) signers.push(await keystore.unlock((await keystore.generate(role, pass)).keyId, pass));
    const [root, targets, snapshot, timestamp] = signers as [Signer, Signer, Signer, Signer];
    const now = new Date();
    await initRepository(paths.repository, paths.staging, { root: [root], rootThreshold: 1, targets, snapshot, timestamp }, { now, expiryDays: DEFAULT_EXPIRY_DAYS, name: 'Plans' });
    const artifact = join(work, 'hello-1.0.0.txt');
    await writeFile(artifact, 'hello 1.0.0');
    await releaseToRepository(
      paths.repository,
      paths.staging,
      { project: 'hello', version: '1.0.0', commit: 'c'.repeat(40), branch: 'release/1.0.0', sourceDateEpoch: 1_700_000_000, artifacts: [{ name: 'hello-1.0.0.txt', path: artifact }], provenance: new TextEncoder().encode('{}') },
      { targets, snapshot, timestamp },
      { now, expiryDays: DEFAULT_EXPIRY_DAYS, name: 'Plans' },
    );
  } finally {
    pass.wipe();
    await closeSigners(signers);
  }
  await writeConfig(paths, defaultConfig('Plans'));
  await addHost(paths.hosts, { name: 'mirror', url: host });
  const [report] = await publish(paths.repository, [{ name: 'mirror', url: host }]);
  expect(report!.ok).toBe(true);
}, SLOW);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('refused before anything runs', () => {
  it('an already-released version is refused before the build: no build log touched, no passphrase read', async () => {
    const src = makeRepo({ 'airlock.recipe.json': failingRecipe('1.0.0') }, 'release/1.0.0', work);
    const kept = join(paths.home, 'build-logs', 'hello-1.0.0.log');
    await mkdir(join(paths.home, 'build-logs'), { recursive: true, mode: 0o700 });
    await writeFile(kept, 'the log whose SHA-256 the published provenance records\n');
    const before = await trees();
    // No passphrase source at all: reading one would fail with its own code.
    const r = await runCli('airlock', ['release', '--source', src.dir, '--branch', src.branch, '--commit', src.commit, '--to', 'mirror', '--json'], { AIRLOCK_HOME: paths.home });
    expect(r.status, r.stderr).toBe(1);
    expect(codeOf(r.stderr)).toBe('E_RELEASE_EXISTS');
    expect(await trees()).toEqual(before);
    await rm(join(paths.home, 'build-logs'), { recursive: true });
  }, SLOW);

  it('a release checks the source out once: the plan reads the recipe from the checkout the build runs in', async () => {
    // A git in front of the real one on PATH (the builder keeps PATH for git) logs each checkout.
    const bin = join(work, 'counting-bin');
    const log = join(work, 'checkouts.log');
    await mkdir(bin, { recursive: true });
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    await writeFile(join(bin, 'git'), `#!/bin/sh\nfor a in "$@"; do [ "$a" = checkout ] && echo "$*" >> '${log}'; done\nexec '${realGit}' "$@"\n`, { mode: 0o755 });
    const src = makeRepo({ 'airlock.recipe.json': failingRecipe('3.0.0') }, 'release/3.0.0', work);
    const tmp = join(work, 'build-tmp');
    await mkdir(tmp, { recursive: true });
    const env = { AIRLOCK_HOME: paths.home, PATH: `${bin}:${process.env.PATH}`, TMPDIR: tmp };
    const dry = await runCli('airlock', ['release', '--source', src.dir, '--branch', src.branch, '--commit', src.commit, '--to', 'mirror', '--dry-run', '--json'], env);
    expect(dry.status, dry.stderr).toBe(0);
    expect((await readFile(log, 'utf8')).trim().split('\n')).toHaveLength(1);
    await rm(log);
    // The real run: checked out once, the recipe's step runs (and fails, before any key).
    const r = await runCli('airlock', ['release', '--source', src.dir, '--branch', src.branch, '--commit', src.commit, '--to', 'mirror', '--json'], env);
    expect(codeOf(r.stderr), r.stderr).toBe('E_BUILD_FAILED');
    const checkouts = (await readFile(log, 'utf8')).trim().split('\n');
    expect(checkouts, checkouts.join('\n')).toHaveLength(1);
    expect(checkouts[0]).toContain(src.commit);
  }, SLOW);

  it('an unknown host is refused before the build', async () => {
    const src = makeRepo({ 'airlock.recipe.json': failingRecipe('2.0.0') }, 'release/2.0.0', work);
    const before = await trees();
    const r = await runCli('airlock', ['release', '--source', src.dir, '--branch', src.branch, '--commit', src.commit, '--to', 'nowhere', '--dry-run'], { AIRLOCK_HOME: paths.home });
    expect(codeOf(r.stderr)).toBe('E_HOST_UNKNOWN');
    expect(await trees()).toEqual(before);
  }, SLOW);

  it('--dry-run of release, refresh, publish, key rotate and init leaves the terminal home and the host byte-identical', async () => {
    const src = makeRepo({ 'airlock.recipe.json': failingRecipe('1.1.0') }, 'release/1.1.0', work);
    const before = await trees();
    const env = { AIRLOCK_HOME: paths.home };
    const runs = [
      ['release', '--source', src.dir, '--branch', src.branch, '--commit', src.commit, '--dry-run', '--json'],
      ['refresh', '--dry-run', '--resign', 'targets', '--json'],
      ['publish', '--dry-run', '--json'],
      ['key', 'rotate', 'timestamp', '--dry-run', '--json'],
    ];
    for (const args of runs) {
      const r = await runCli('airlock', args, env);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { ok: boolean; dryRun: boolean };
      expect(out).toMatchObject({ ok: true, dryRun: true });
    }
    const fresh = join(work, 'fresh-home');
    const init = await runCli('airlock', ['init', '--dry-run', '--root-keys', '3', '--root-threshold', '2', '--json'], { AIRLOCK_HOME: fresh });
    expect(init.status, init.stderr).toBe(0);
    expect(existsSync(fresh)).toBe(false);
    expect(await trees()).toEqual(before);
  }, SLOW);

  it('init with a passphrase too short writes nothing to any medium', async () => {
    const home = join(work, 'new-terminal');
    const media = [join(work, 'medium-a'), join(work, 'medium-b')];
    const good = join(work, 'good.pass');
    const short = join(work, 'short.pass');
    await writeFile(good, 'a long enough passphrase\n', { mode: 0o600 });
    await writeFile(short, 'short\n', { mode: 0o600 });
    for (const [main, second] of [[short, good], [good, short]]) {
      const r = await runCli('airlock', ['init', '--root-keystore', media[0]!, '--root-passphrase-file', good, '--root-keystore', media[1]!, '--root-passphrase-file', second!, '--root-threshold', '2'], { AIRLOCK_HOME: home, AIRLOCK_PASSPHRASE_FILE: main! });
      expect(codeOf(r.stderr), r.stderr).toBe('E_PASSPHRASE_WEAK');
      for (const d of [home, ...media]) expect(existsSync(d), d).toBe(false);
    }
  }, SLOW);

  it('refresh on a stale copy (a host ahead of it) refuses before signing', async () => {
    // A second copy of the terminal refreshes and publishes: the host is now ahead.
    const other = terminalPaths(join(work, 'other-home'));
    execFileSync('cp', ['-a', paths.home, other.home]);
    const keystore = await Keystore.open(other.keystore, TEST_ONLY_KDF);
    const pass = testPassphrase();
    const signers = await Promise.all((await keystore.list()).filter((k) => k.role !== 'root').map((k) => keystore.unlock(k.keyId, pass)));
    pass.wipe();
    try {
      await refreshRepository(other.repository, other.staging, { targets: signers.filter((s) => s.role === 'targets'), snapshot: signers.filter((s) => s.role === 'snapshot'), timestamp: signers.filter((s) => s.role === 'timestamp') }, { now: new Date(), expiryDays: DEFAULT_EXPIRY_DAYS, marginDays: 3 });
    } finally {
      await closeSigners(signers);
    }
    expect((await publish(other.repository, [{ name: 'mirror', url: host }]))[0]!.ok).toBe(true);
    const before = await treeDigest(paths.home);
    // Refused before a passphrase is even read (none is given) and before anything is signed.
    const r = await runCli('airlock', ['refresh', '--json'], { AIRLOCK_HOME: paths.home });
    expect(codeOf(r.stderr), r.stderr).toBe('E_PUBLISH_STALE');
    // Nothing signed: the audit log, the repository copy, everything as it was.
    expect(await treeDigest(paths.home)).toEqual(before);
    // The dry run observes the host too and refuses as the real run would, writing nothing.
    const hostBefore = await treeDigest(host);
    const dry = await runCli('airlock', ['refresh', '--dry-run', '--json'], { AIRLOCK_HOME: paths.home });
    expect(codeOf(dry.stderr), dry.stderr).toBe('E_PUBLISH_STALE');
    expect(await trees()).toEqual({ home: before, host: hostBefore });
    // A rotation on the stale copy is refused before a key is made: with the passphrase at
    // hand it would otherwise unlock, generate (an orphan key in the keystore) and sign.
    const passFile = join(work, 'rotate.pass');
    await writeFile(passFile, `${TEST_PASSPHRASE}\n`, { mode: 0o600 });
    const rotate = await runCli('airlock', ['key', 'rotate', 'timestamp', '--json'], { AIRLOCK_HOME: paths.home, AIRLOCK_PASSPHRASE_FILE: passFile });
    expect(codeOf(rotate.stderr), rotate.stderr).toBe('E_PUBLISH_STALE');
    expect(await trees()).toEqual({ home: before, host: hostBefore });
  }, SLOW);
});
