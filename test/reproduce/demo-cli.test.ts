// `airlock reproduce` on the demo's release, as CI runs it: the built CLI as a child
// process, no keystore, no passphrase, no AIRLOCK_HOME. The release reproduces from
// another directory, clone, TZ, locale, umask and user; a tampered provenance or
// metadata on the host is refused before any build directory exists.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { airlockBin, ensureBuilt, runCli, runDemo, runProgram, verifierBin, type CliResult, type DemoContract } from '../support/e2e-cli.js';
import { serveDirectory, type StaticServer } from '../support/static-http.js';

let work: string;
let out: string;
let demo: DemoContract;
let server: StaticServer;

beforeAll(async () => {
  await ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'airlock-reproduce-demo-'));
  out = join(work, 'demo-out');
  demo = (await runDemo(out)).demo;
  server = await serveDirectory(join(out, 'host'));
}, 300_000);

afterAll(async () => {
  await server?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** A program run from `cwd` with exactly `env` (nothing of ours leaks in), not blocking the test's HTTP host. */
const run = (argv: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<CliResult> => runProgram(argv, { env, cwd, timeoutMs: 240_000 });

const release = () => `${demo.project}/${demo.version}`;
const published = () => demo.artifacts.filter((a) => !a.target.endsWith('.intoto.jsonl'));

async function hostCopy(name: string): Promise<string> {
  const dir = join(work, name);
  await cp(join(out, 'host'), dir, { recursive: true });
  return dir;
}

describe('airlock reproduce on the demo release', () => {
  it('reproduces it from another directory, clone, TZ, locale, umask and user, over HTTP, with no keys', async () => {
    const elsewhere = await mkdtemp(join(tmpdir(), 'airlock-ci-'));
    try {
      const home = join(elsewhere, 'home');
      const tmp = join(elsewhere, 'tmp');
      await mkdir(home);
      await mkdir(tmp);
      // A CI checkout: its own clone of the project, the pinned root committed beside it.
      execFileSync('git', ['clone', '-q', '--mirror', demo.source, join(elsewhere, 'hello.git')], { env: { PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1' } });
      await copyFile(join(out, 'trusted', 'root.json'), join(elsewhere, 'root.json'));
      const env = {
        PATH: process.env.PATH,
        HOME: home,
        USER: 'ci-runner',
        LOGNAME: 'ci-runner',
        TZ: 'Pacific/Chatham',
        LANG: 'tr_TR.UTF-8',
        LC_ALL: 'tr_TR.UTF-8',
        TMPDIR: tmp,
      };
      const r = await run(['/bin/sh', '-c', 'umask 0077 && exec "$@"', 'sh', process.execPath, airlockBin, 'reproduce', release(), '--from', server.url, '--root', 'root.json', '--fingerprint', demo.rootFingerprint, '--source', `file://${join(elsewhere, 'hello.git')}`, '--json'], env, elsewhere);
      expect(r.status, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report).toMatchObject({ ok: true, reproducible: true, project: demo.project, version: demo.version, unaccounted: [], outputDir: null });
      expect(report.artifacts.map((a: { target: string; status: string }) => [a.target, a.status])).toEqual(published().map((a) => [a.target, 'identical']));
      expect(report.artifacts.map((a: { name: string }) => a.name)).toContain(`${demo.project}_${demo.version}_all.deb`);
      // No keystore or terminal home was looked for or made, and nothing was left behind.
      expect(await readdir(home)).toEqual([]);
      expect(await readdir(tmp)).toEqual([]);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('uses the root airlock-verify pinned when no --root is given, and says how to pin one when there is none', async () => {
    const state = join(work, 'verify-state');
    execFileSync(process.execPath, [verifierBin, 'init', '--root', join(out, 'trusted', 'root.json'), '--fingerprint', demo.rootFingerprint, '--state', state], { stdio: 'ignore' });
    const ok = await runCli('airlock', ['reproduce', release(), '--from', join(out, 'host'), '--source', demo.source, '--json'], { AIRLOCK_VERIFY_STATE: state });
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).reproducible).toBe(true);

    const empty = await mkdtemp(join(tmpdir(), 'airlock-nohome-'));
    try {
      const none = await runCli('airlock', ['reproduce', release(), '--from', join(out, 'host'), '--source', demo.source, '--json'], { HOME: empty });
      expect(none.status).toBe(2);
      expect(JSON.parse(none.stdout).error.code).toBe('E_NOT_INITIALISED');
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('refuses a root whose fingerprint is not the pinned one', async () => {
    const r = await runCli('airlock', ['reproduce', release(), '--from', join(out, 'host'), '--root', join(out, 'trusted', 'root.json'), '--fingerprint', '00'.repeat(32), '--source', demo.source, '--json']);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout).error.code).toBe('E_FINGERPRINT');
  });
});

describe('the shell job of docs/ci.md, run as written', () => {
  it('reproduces every published release of the project and skips a release branch not yet published', async () => {
    const doc = await readFile(new URL('../../docs/ci.md', import.meta.url), 'utf8');
    const script = /<!-- doc-test: reproduce-releases -->\n```sh\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(script).toBeTruthy();
    const ci = await mkdtemp(join(work, 'shell-job-'));
    const source = join(ci, 'hello.git');
    const gitEnv = { PATH: process.env.PATH, HOME: ci, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
    execFileSync('git', ['clone', '-q', '--mirror', demo.source, source], { env: gitEnv });
    execFileSync('git', ['-C', source, 'branch', 'release/9.9.9', `release/${demo.version}`], { env: gitEnv });
    await writeFile(join(ci, 'reproduce-releases.sh'), script!);
    const r = await run(
      ['/bin/sh', 'reproduce-releases.sh'],
      {
        PATH: process.env.PATH,
        HOME: ci,
        AIRLOCK: `${process.execPath} ${airlockBin}`,
        HOST: server.url,
        PROJECT: demo.project,
        SOURCE: source,
        ROOT: join(out, 'trusted', 'root.json'),
        ROOT_FINGERPRINT: demo.rootFingerprint,
        STATE: join(ci, 'state'),
      },
      ci,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${demo.project} 9.9.9: not published (yet), skipped`);
    expect(r.stdout).toMatch(/reproducible: all 2 artifact\(s\) are identical/);
    const report = JSON.parse(await readFile(join(ci, 'reproduce-out', `${demo.project}-${demo.version}`, 'report.json'), 'utf8'));
    expect(report.reproducible).toBe(true);
    // The trusted state was kept for the next run.
    expect(existsSync(join(ci, 'state', 'timestamp.json'))).toBe(true);
  });
});

describe('a tampered host is refused before any build starts', () => {
  async function refusedBeforeBuild(host: string): Promise<string> {
    const workDir = join(work, `never-built-${Math.random().toString(16).slice(2)}`);
    const r = await runCli('airlock', ['reproduce', release(), '--from', host, '--root', join(out, 'trusted', 'root.json'), '--source', demo.source, '--work-dir', workDir, '--json']);
    expect(r.status, r.stderr).toBe(1);
    // The build directory's parent is made only when a build starts.
    expect(existsSync(workDir)).toBe(false);
    expect(r.stderr).not.toContain('==> step');
    return JSON.parse(r.stdout).error.code as string;
  }

  it('refuses a provenance envelope changed on the host', async () => {
    const host = await hostCopy('host-envelope');
    const dir = join(host, 'targets', demo.project, demo.version);
    const name = (await readdir(dir)).find((f) => f.endsWith('.intoto.jsonl'))!;
    const envelope = JSON.parse(await readFile(join(dir, name), 'utf8'));
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
    // Point the rebuild at another commit, keeping the old signature.
    statement.predicate.buildDefinition.externalParameters.commit = 'f'.repeat(40);
    envelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    await writeFile(join(dir, name), `${JSON.stringify(envelope)}\n`);
    expect(await refusedBeforeBuild(host)).toBe('E_HASH');
  });

  it('refuses targets metadata that lists other bytes for an artifact', async () => {
    const host = await hostCopy('host-targets');
    const meta = join(host, 'metadata');
    const file = (await readdir(meta)).filter((f) => /^\d+\.targets\.json$/.test(f)).sort((a, b) => parseInt(b) - parseInt(a))[0]!;
    const text = await readFile(join(meta, file), 'utf8');
    const tarball = published().find((a) => a.target.endsWith('.tar.gz'))!.target;
    const doc = JSON.parse(text);
    const old = doc.signed.targets[tarball].hashes.sha256 as string;
    await writeFile(join(meta, file), text.replace(old, old.replace(/^./, (c) => (c === '0' ? '1' : '0'))));
    expect(await refusedBeforeBuild(host)).toBe('E_HASH');
  });

  it('refuses a timestamp that was not signed by the timestamp key', async () => {
    const host = await hostCopy('host-timestamp');
    const path = join(host, 'metadata', 'timestamp.json');
    const doc = JSON.parse(await readFile(path, 'utf8'));
    doc.signed.expires = '2099-01-01T00:00:00Z';
    await writeFile(path, JSON.stringify(doc));
    expect(await refusedBeforeBuild(host)).toBe('E_SIG_THRESHOLD');
  });

  // Last: it rotates the demo's targets key and publishes to its host.
  it('reproduces a release made before `key rotate targets`, naming the retired signer (issue 16.4)', async () => {
    const env = { AIRLOCK_HOME: join(out, 'terminal') };
    const rot = await runProgram(['/bin/sh', '-c', 'exec "$@" 3<"$PASS"', 'sh', process.execPath, airlockBin, 'key', 'rotate', 'targets', '--to', join(out, 'host'), '--passphrase-fd', '3', '--json'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PASS: join(out, 'terminal.pass'), ...env },
      timeoutMs: 240_000,
    });
    expect(rot.status, rot.stderr).toBe(0);
    const retired = JSON.parse(rot.stdout.trim().split('\n').at(-1)!).oldKeyIds as string[];
    expect(retired).toHaveLength(1);

    // The CI job's pinned root (v1): the chain since names the retired key, whose signature verifies.
    const old = await runCli('airlock', ['reproduce', release(), '--from', server.url, '--root', join(out, 'trusted', 'root.json'), '--source', demo.source, '--json']);
    expect(old.status, old.stderr).toBe(0);
    expect(JSON.parse(old.stdout)).toMatchObject({ ok: true, reproducible: true, provenance: { signer: { key: 'retired', keyIds: retired, rootVersions: [1] } } });

    // A root pinned after the rotation has never seen the old key: still trusted through the targets metadata.
    const fresh = await runCli('airlock', ['reproduce', release(), '--from', server.url, '--root', join(out, 'host', 'keys', 'root.json'), '--source', demo.source, '--json']);
    expect(fresh.status, fresh.stderr).toBe(0);
    expect(JSON.parse(fresh.stdout)).toMatchObject({ ok: true, reproducible: true, provenance: { signer: { key: 'unlisted', keyIds: retired } } });
  });
});
