// The walking skeleton end to end, as users drive it: the demo plays a release; a
// standard TUF client (tuf-js) and airlock-verify download it from the host tree, over
// HTTP and from the directory; tampering is refused by both; user mistakes at the
// terminal are refused with a stable code and leave the host untouched.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitIn } from '../support/build-repo.js';
import { ensureBuilt, runCli as runCliRaw, runDemo, treeDigest, type DemoContract } from '../support/e2e-cli.js';
import { demoSecretFindings } from '../support/keys-secrets.js';
import { tufJsUpdater } from '../support/tufjs-client.js';
import { serveDirectory, type StaticServer } from '../support/static-http.js';

let work: string;
let out: string;
let demo: DemoContract;
let server: StaticServer;

/** Everything the CLIs printed in this file, for the secrets scan at the end. */
const printed: Record<string, string> = {};
let demoTmp: string;

async function runCli(...args: Parameters<typeof runCliRaw>): ReturnType<typeof runCliRaw> {
  const r = await runCliRaw(...args);
  const n = Object.keys(printed).length;
  printed[`run ${n} stdout`] = r.stdout;
  printed[`run ${n} stderr`] = r.stderr;
  return r;
}

beforeAll(async () => {
  await ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'airlock-e2e-demo-'));
  out = join(work, 'demo-out');
  demoTmp = join(work, 'tmp');
  await mkdir(demoTmp, { mode: 0o700 });
  const r = await runDemo(out, { TMPDIR: demoTmp });
  printed['demo stdout'] = r.stdout;
  printed['demo stderr'] = r.stderr;
  demo = r.demo;
  server = await serveDirectory(join(out, 'host'));
}, 300_000);

afterAll(async () => {
  await server?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

const sha256 = async (path: string): Promise<string> => createHash('sha256').update(await readFile(path)).digest('hex');

describe('the demo contract', () => {
  it('leaves the host tree, the pinned root, the terminal home and demo.json', async () => {
    expect(demo.project).toBe('hello');
    expect(demo.rootFingerprint).toBe(await sha256(join(out, 'trusted', 'root.json')));
    expect(await readFile(join(out, 'trusted', 'root.json'))).toEqual(await readFile(join(out, 'host', 'keys', 'root.json')));
    for (const f of ['release-signing.asc', 'minisign.pub']) expect((await stat(join(out, 'trusted', f))).isFile()).toBe(true);
    expect((await stat(join(out, 'terminal'))).isDirectory()).toBe(true);
    expect((await stat(join(out, 'terminal.pass'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(demo.source, '.git'))).isDirectory()).toBe(true);
    const names = demo.artifacts.map((a) => a.target.split('/').at(-1));
    expect(names).toEqual(expect.arrayContaining(['hello-1.0.0.tar.gz', 'hello_1.0.0_all.deb']));
    for (const a of demo.artifacts) expect((await stat(join(out, 'host', a.release))).isFile()).toBe(true);
    const metadata = await readdir(join(out, 'host', 'metadata'));
    expect(metadata).toEqual(expect.arrayContaining(['1.root.json', 'timestamp.json']));
  });

  it('publishes <file>.sshsig, <file>.sha512, keys/KEYS and keys/allowed_signers, which ssh-keygen and sha512sum accept', async () => {
    const keys = join(out, 'host', 'keys');
    expect(await readFile(join(keys, 'KEYS'), 'utf8')).toContain('-----BEGIN PGP PUBLIC KEY BLOCK-----');
    for (const a of demo.artifacts) {
      const file = join(out, 'host', a.release);
      const dir = file.slice(0, file.lastIndexOf('/'));
      const name = file.slice(dir.length + 1);
      const sums = spawnSync('sha512sum', ['-c', `${name}.sha512`], { cwd: dir, encoding: 'utf8' });
      expect(sums.status, sums.stderr).toBe(0);
      const ssh = spawnSync('ssh-keygen', ['-Y', 'verify', '-f', join(keys, 'allowed_signers'), '-I', demo.project, '-n', 'file', '-s', `${file}.sshsig`], { input: await readFile(file), encoding: 'utf8' });
      expect(ssh.status, ssh.stderr).toBe(0);
    }
  });
});

describe('downloading the demo release', () => {
  it('tuf-js, the independent client, downloads every artifact over HTTP with the pinned root', async () => {
    const { updater, dir } = await tufJsUpdater(server.url, join(out, 'trusted', 'root.json'));
    await updater.refresh();
    for (const a of demo.artifacts) {
      const info = await updater.getTargetInfo(a.target);
      expect(info, a.target).toBeDefined();
      const got = await updater.downloadTarget(info!, join(dir, 'dl'));
      expect(await sha256(got)).toBe(await sha256(join(out, 'host', a.release)));
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('airlock-verify downloads the same bytes from the directory and over HTTP', async () => {
    for (const from of [join(out, 'host'), server.url]) {
      const dest = await mkdtemp(join(work, 'dl-'));
      const r = await runCli('verify', ['download', ...demo.artifacts.map((a) => a.target), '--from', from, '--root', join(out, 'trusted', 'root.json'), '--out-dir', dest]);
      expect(r.status, r.stderr).toBe(0);
      for (const a of demo.artifacts) {
        expect(await sha256(join(dest, encodeURIComponent(a.target)))).toBe(await sha256(join(out, 'host', a.release)));
      }
    }
  });
});

describe('a tampered host is refused by both clients', () => {
  async function hostCopy(): Promise<{ dir: string; server: StaticServer }> {
    const dir = await mkdtemp(join(work, 'evil-host-'));
    await cp(join(out, 'host'), dir, { recursive: true });
    return { dir, server: await serveDirectory(dir) };
  }

  async function bothRefuse(dir: string, url: string, target: string, code: string, stateDir?: string): Promise<void> {
    const { updater, dir: cache } = await tufJsUpdater(url, join(out, 'trusted', 'root.json'));
    await expect((async () => {
      await updater.refresh();
      const info = await updater.getTargetInfo(target);
      if (!info) throw new Error('not found');
      await updater.downloadTarget(info, join(cache, 'dl'));
    })()).rejects.toThrow();
    const dest = await mkdtemp(join(work, 'dl-'));
    const args = ['download', target, '--from', dir, '--out-dir', dest, ...(stateDir ? ['--state', stateDir] : ['--root', join(out, 'trusted', 'root.json')])];
    const r = await runCli('verify', args);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain(code);
    expect(await readdir(dest)).toEqual([]);
  }

  it('one byte flipped in a target', async () => {
    const { dir, server: s } = await hostCopy();
    const a = demo.artifacts.find((x) => x.target.endsWith('.tar.gz'))!;
    const meta = JSON.parse(await readFile(join(dir, 'metadata', 'timestamp.json'), 'utf8'));
    expect(meta.signed._type).toBe('timestamp');
    const targetsDir = join(dir, 'targets', ...a.target.split('/').slice(0, -1));
    const file = (await readdir(targetsDir)).find((f) => f.endsWith(`.${a.target.split('/').at(-1)}`))!;
    const bytes = await readFile(join(targetsDir, file));
    bytes[bytes.length >> 1]! ^= 0x01;
    await writeFile(join(targetsDir, file), bytes);
    try {
      await bothRefuse(dir, s.url, a.target, 'E_HASH');
    } finally {
      await s.close();
    }
  });

  it('one byte flipped in targets.json', async () => {
    const { dir, server: s } = await hostCopy();
    const name = (await readdir(join(dir, 'metadata'))).filter((f) => /^\d+\.targets\.json$/.test(f)).sort().at(-1)!;
    const text = await readFile(join(dir, 'metadata', name), 'utf8');
    // Change a signed field without changing the length: the snapshot hash and the signature both break.
    await writeFile(join(dir, 'metadata', name), text.replace('"hello"', '"hellp"'));
    try {
      await bothRefuse(dir, s.url, demo.artifacts[0]!.target, 'E_');
    } finally {
      await s.close();
    }
  });
});

describe('an older timestamp.json served after a newer one was seen (rollback)', () => {
  it('is refused by tuf-js and airlock-verify, which keep their trusted state', async () => {
    // A second release, 1.0.1, published to a copy of the host: timestamp goes up by one.
    const terminal = join(work, 'terminal-rollback');
    const newer = join(work, 'host-newer');
    await cp(join(out, 'terminal'), terminal, { recursive: true });
    await cp(join(out, 'host'), newer, { recursive: true });
    const src = await nextVersionSource(join(work, 'source-rollback'), '1.0.1');
    const env = { AIRLOCK_HOME: terminal, AIRLOCK_PASSPHRASE_FILE: join(out, 'terminal.pass') };
    const r = await runCli('airlock', ['release', '--source', src.dir, '--branch', 'release/1.0.1', '--commit', src.commit, '--to', newer], env);
    expect(r.status, r.stderr).toBe(0);

    // Both clients see the newer repository first ...
    const state = await mkdtemp(join(work, 'state-'));
    expect((await runCli('verify', ['init', '--root', join(out, 'trusted', 'root.json'), '--fingerprint', demo.rootFingerprint, '--state', state])).status).toBe(0);
    expect((await runCli('verify', ['refresh', '--from', newer, '--state', state])).status).toBe(0);
    const newerServer = await serveDirectory(newer);
    const { updater, dir: cache } = await tufJsUpdater(newerServer.url, join(out, 'trusted', 'root.json'));
    await updater.refresh();
    await newerServer.close();

    // ... then a host (or mirror) serves the older timestamp.json.
    const trustedBefore = await readFile(join(state, 'timestamp.json'));
    const old = await runCli('verify', ['refresh', '--from', join(out, 'host'), '--state', state]);
    expect(old.status).toBe(1);
    expect(old.stderr).toContain('E_ROLLBACK');
    expect(await readFile(join(state, 'timestamp.json'))).toEqual(trustedBefore);
    const { updater: again } = await tufJsUpdater(server.url, join(out, 'trusted', 'root.json'), cache);
    await expect(again.refresh()).rejects.toThrow();
    // A whole release with the demo's production-cost keystore: a minute on a loaded machine.
  }, 180_000);
});

async function nextVersionSource(dir: string, version: string): Promise<{ dir: string; commit: string }> {
  await cp(demo.source, dir, { recursive: true });
  const git = (...a: string[]): string => gitIn(dir, a);
  git('checkout', '-q', '-b', `release/${version}`, `release/${demo.version}`);
  const recipe = await readFile(join(dir, 'airlock.recipe.json'), 'utf8');
  await writeFile(join(dir, 'airlock.recipe.json'), recipe.replaceAll(demo.version, version));
  git('commit', '-qam', `release ${version}`);
  return { dir, commit: git('rev-parse', 'HEAD') };
}

describe('mistakes at the terminal are refused and the host stays as it was', () => {
  let terminal: string;
  let host: string;
  let env: NodeJS.ProcessEnv;
  let commit: string;

  beforeAll(async () => {
    terminal = join(work, 'terminal-copy');
    host = join(work, 'host-copy');
    await cp(join(out, 'terminal'), terminal, { recursive: true });
    await cp(join(out, 'host'), host, { recursive: true });
    env = { AIRLOCK_HOME: terminal, AIRLOCK_PASSPHRASE_FILE: join(out, 'terminal.pass') };
    commit = gitIn(demo.source, ['rev-parse', 'release/1.0.0']);
  });

  async function refused(args: string[], code: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<void> {
    const before = await treeDigest(host);
    const r = await runCli('airlock', ['release', '--source', demo.source, '--to', host, ...args], { ...env, ...extraEnv });
    expect(r.status, r.stderr).not.toBe(0);
    expect(r.stderr).toContain(`error ${code}`);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace for a user error
    expect(await treeDigest(host)).toEqual(before);
  }

  it('wrong passphrase', async () => {
    const wrong = join(work, 'wrong.pass');
    await writeFile(join(work, 'wrong.pass'), 'not the passphrase\n', { mode: 0o600 });
    // A version not yet released: an already-released one is refused before any passphrase.
    const { dir: src, commit: next } = await nextVersionSource(join(work, 'wrong-pass-source'), '1.0.2');
    const before = await treeDigest(host);
    const r = await runCli('airlock', ['release', '--source', src, '--to', host, '--branch', 'release/1.0.2', '--commit', next], { ...env, AIRLOCK_PASSPHRASE_FILE: wrong });
    expect(r.status, r.stderr).not.toBe(0);
    expect(r.stderr).toContain('error E_KEY_PASSPHRASE');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(await treeDigest(host)).toEqual(before);
  });

  it('unknown branch', async () => {
    await refused(['--branch', 'release/9.9.9', '--commit', commit], 'E_PIN_BRANCH');
  });

  it('commit mismatch', async () => {
    await refused(['--branch', 'release/1.0.0', '--commit', 'f'.repeat(40)], 'E_PIN_COMMIT');
  });

  it('a version that is already released', async () => {
    await refused(['--branch', 'release/1.0.0', '--commit', commit], 'E_RELEASE_EXISTS');
  });

  it('a dirty release checkout', async () => {
    const src = join(work, 'dirty-source');
    await cp(demo.source, src, { recursive: true });
    await writeFile(join(src, 'README.md'), 'changed but not committed\n');
    const before = await treeDigest(host);
    const r = await runCli('airlock', ['release', '--source', src, '--to', host, '--branch', 'release/1.0.0', '--commit', commit], env);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('error E_PIN_DIRTY');
    expect(await treeDigest(host)).toEqual(before);
  });

  it('a target path on the host that holds other bytes', async () => {
    // A new version whose release path was planted on the host beforehand.
    const { dir: src, commit: next } = await nextVersionSource(join(work, 'next-source'), '1.0.1');
    const planted = join(host, 'releases', 'hello', '1.0.1');
    await mkdir(planted, { recursive: true });
    await writeFile(join(planted, 'hello-1.0.1.tar.gz'), 'planted by someone else');
    const before = await treeDigest(host);
    const r = await runCli('airlock', ['release', '--source', src, '--to', host, '--branch', 'release/1.0.1', '--commit', next], env);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain('error E_PUBLISH_IMMUTABLE');
    const after = await treeDigest(host);
    // Nothing under metadata/ moved: clients still see the old release.
    expect(Object.fromEntries(Object.entries(after).filter(([k]) => k.startsWith('metadata/')))).toEqual(
      Object.fromEntries(Object.entries(before).filter(([k]) => k.startsWith('metadata/'))),
    );
    expect(after['releases/hello/1.0.1/hello-1.0.1.tar.gz']).toBe(before['releases/hello/1.0.1/hello-1.0.1.tar.gz']);
  });
});

// docs/release-manager.md "Backup and restore", played as written (issue 16.6): back the
// terminal home up, release once more, lose the terminal, restore the backup, bring the
// stale copy up to date with `airlock sync`, and release again — the host stays one
// repository a client follows, and the apt index keeps every release.
describe('backup, wipe, restore, sync and release again', () => {
  it('restores a terminal from its backup and releases from it after `airlock sync`', async () => {
    const home = join(work, 'bk-terminal');
    const host = join(work, 'bk-host');
    const backup = join(work, 'bk-backup');
    await cp(join(out, 'terminal'), home, { recursive: true });
    await cp(join(out, 'host'), host, { recursive: true });
    const env = { AIRLOCK_HOME: home, AIRLOCK_PASSPHRASE_FILE: join(out, 'terminal.pass') };
    // The backup: what the guide lists (hosts.json when there is one; the demo publishes with --to).
    await mkdir(backup);
    for (const part of ['keystore', 'repository', 'airlock.json', 'build-logs']) await cp(join(home, part), join(backup, part), { recursive: true, preserveTimestamps: true });

    const v1 = await nextVersionSource(join(work, 'bk-src-1'), '1.0.1');
    const r1 = await runCli('airlock', ['release', '--source', v1.dir, '--branch', 'release/1.0.1', '--commit', v1.commit, '--to', host, '--json'], env);
    expect(r1.status, r1.stderr).toBe(0);

    // The terminal is lost; a new one is set up from the backup.
    await rm(home, { recursive: true, force: true });
    await mkdir(home, { mode: 0o700 });
    await cp(backup, home, { recursive: true, preserveTimestamps: true });
    expect((await runCli('airlock', ['audit', 'verify', '--json'], env)).status).toBe(0);

    // The copy is behind the host: bring it up to date, then release.
    const v2 = await nextVersionSource(join(work, 'bk-src-2'), '1.0.2');
    const dry = await runCli('airlock', ['sync', '--from', host, '--dry-run', '--json'], env);
    expect(dry.status, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ upToDate: false, local: 2, host: 3 });
    const synced = await runCli('airlock', ['sync', '--from', host, '--json'], env);
    expect(synced.status, synced.stderr).toBe(0);
    expect(JSON.parse(synced.stdout).files).toContain('apt/pool/main/h/hello/hello_1.0.1_all.deb');

    const r2 = await runCli('airlock', ['release', '--source', v2.dir, '--branch', 'release/1.0.2', '--commit', v2.commit, '--to', host, '--json'], env);
    expect(r2.status, r2.stderr).toBe(0);
    // A client from the pinned root follows the host through all of it.
    const get = await runCli('verify', ['download', `${demo.project}/1.0.1/${demo.project}-1.0.1.tar.gz`, `${demo.project}/1.0.2/${demo.project}-1.0.2.tar.gz`, '--from', host, '--root', join(out, 'trusted', 'root.json'), '--out-dir', join(work, 'bk-dl')]);
    expect(get.status, get.stderr).toBe(0);
    const packages = await readFile(join(host, 'apt', 'dists', 'stable', 'main', 'binary-all', 'Packages'), 'utf8');
    expect(packages.match(/^Version: .+$/gm)).toEqual(['Version: 1.0.0', 'Version: 1.0.1', 'Version: 1.0.2']);
  }, 400_000);
});

describe('secrets hygiene (issue 4)', () => {
  it('no private key bytes or passphrase in the terminal home, host tree, temp files or anything printed', async () => {
    const { findings, keys } = await demoSecretFindings(out, printed, [demoTmp]);
    expect(keys).toBeGreaterThanOrEqual(7);
    expect(findings).toEqual([]);
  });
});
