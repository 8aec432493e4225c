// The publishing commands as a user runs them (the built CLI, no stdin, passphrase on a
// file descriptor): host add/list/remove, publish --dry-run, publish over SFTP to a real
// sshd with the keystore's publish key, --json events, exit codes.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex } from '../../lib/core/hex.js';
import { authorizedKeysLine } from '../../lib/publish/host-side.js';
import { ensureBuilt, listTree, runAirlock as airlock } from '../support/e2e-cli.js';
import { canRunSshd, startSshd, stopSshd, type SshdHost } from '../support/publish-sshd.js';
import { addRelease, createFixtureRepo } from '../support/publish-tuf-fixture.js';

const run = promisify(execFile);
let home: string;
let pass: string;
let sshd: SshdHost | undefined;
let publishKey: Uint8Array;

const env = () => ({ AIRLOCK_HOME: home, HOME: home });
const jsonLines = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);

describe.skipIf(!canRunSshd())('airlock host and airlock publish', () => {
  beforeAll(async () => {
    await ensureBuilt();
    home = await mkdtemp(join(tmpdir(), 'airlock-cli-publish-'));
    pass = join(home, '..', `${home.split('/').pop()}.pass`);
    await writeFile(pass, 'correct horse battery staple\n', { mode: 0o600 });
    const gen = airlock(['key', 'generate', 'publish', '--passphrase-fd', '3', '--json'], { env: env(), fds: { 3: pass } });
    expect(gen.status, gen.stderr).toBe(0);
    publishKey = fromHex(gen.json.key.publicKey);
    sshd = await startSshd({ publishKey });
    const repo = await createFixtureRepo(join(home, 'repository'));
    await addRelease(repo, 'demo', '1.0', { 'demo-1.0.tar.gz': Buffer.alloc(100_000, 7) });
  });

  afterAll(async () => {
    await stopSshd(sshd);
    if (home) await rm(home, { recursive: true, force: true });
    if (pass) await rm(pass, { force: true });
  });

  it('adds a host with a pinned key and prints the host-side lines the test sshd runs with', async () => {
    const r = airlock(['host', 'add', 'web', sshd!.url, '--host-key', sshd!.hostKey, '--chroot', '/srv/x', '--json'], { env: env() });
    expect(r.status, r.stderr).toBe(0);
    expect(r.json.host).toEqual({ name: 'web', url: sshd!.url, hostKey: sshd!.hostKey });
    expect(r.json.hostSide).toContain(authorizedKeysLine(publishKey));
    expect(r.json.hostSide).toContain('ChrootDirectory /srv/x');
    expect(r.json.hostSide).toContain('ForceCommand internal-sftp');
    const text = airlock(['host', 'add', 'web', sshd!.url, '--host-key', sshd!.hostKey, '--replace'], { env: env() });
    expect(text.stdout).toContain('Match User root');
    // An SFTP host without a pinned key is refused: there is no trust on first use.
    expect(airlock(['host', 'add', 'nokey', sshd!.url, '--json'], { env: env() }).status).toBe(2);
    const list = airlock(['host', 'list', '--json'], { env: env() });
    expect(list.json.hosts.map((h: { name: string }) => h.name)).toEqual(['web']);
  });

  it('pins the key from a known_hosts file', async () => {
    const { stdout } = await run('ssh-keyscan', ['-p', String(sshd!.port), '127.0.0.1']);
    const kh = join(home, 'known_hosts');
    await writeFile(kh, stdout);
    const r = airlock(['host', 'add', 'web2', sshd!.url, '--known-hosts', kh, '--json'], { env: env() });
    expect(r.status, r.stderr).toBe(0);
    expect(r.json.host.hostKey).toBe(sshd!.hostKey);
    expect(airlock(['host', 'remove', 'web2', '--json'], { env: env() }).status).toBe(0);
  });

  it('prints the plan on --dry-run and writes nothing, then publishes over SFTP with the keystore publish key, printing JSON events', async () => {
    const dry = airlock(['publish', '--dry-run', '--json', '--passphrase-fd', '3'], { env: env(), fds: { 3: pass } });
    expect(dry.status, dry.stderr).toBe(0);
    const [plan] = dry.json.hosts;
    expect(plan.dryRun).toBe(true);
    // Publishing order: content, then metadata with timestamp.json after snapshot, N.root.json
    // after timestamp.json (a rotation's transition, docs/publishing.md), keys/ last.
    // Every upload is a plan-item event, streamed before the result, in publishing order; the result names the first ones.
    const order = dry.stdout.split('\n').filter((l) => l.startsWith('{"type":"plan-item"')).map((l) => (JSON.parse(l) as { path: string }).path);
    expect(plan.plan.firstUploads.map((i: { path: string }) => i.path)).toEqual(order);
    expect(plan.plan.upload).toBe(order.length);
    const at = (p: string): number => order.indexOf(p);
    expect(at('metadata/timestamp.json')).toBeGreaterThan(at('metadata/1.snapshot.json'));
    expect(at('metadata/1.root.json')).toBeGreaterThan(at('metadata/timestamp.json'));
    expect(order.findIndex((p) => p.startsWith('keys/'))).toBeGreaterThan(at('metadata/1.root.json'));
    expect(order.filter((p) => !p.startsWith('keys/')).slice(-2)).toEqual(['metadata/timestamp.json', 'metadata/1.root.json']);
    expect(await listTree(sshd!.tree)).toEqual([]);

    const r = airlock(['publish', '--json', '--passphrase-fd', '3'], { env: env(), fds: { 3: pass } });
    expect(r.status, r.stderr).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines[0]).toMatchObject({ type: 'plan', host: 'web' });
    const done = lines.filter((l) => l.type === 'file-done').map((l) => l.path) as string[];
    // Every planned file, once; an SFTP host takes a few files of one run at once, so within
    // a run (the targets versions, say) they may finish in any order, but never across runs.
    expect([...done].sort()).toEqual([...order].sort());
    const doneAt = (p: string): number => done.indexOf(p);
    const contentDone = Math.max(...done.filter((p) => p.startsWith('targets/') || p.startsWith('releases/')).map(doneAt));
    expect(Math.min(...done.filter((p) => p.startsWith('metadata/')).map(doneAt))).toBeGreaterThan(contentDone);
    expect(doneAt('metadata/1.snapshot.json')).toBeGreaterThan(Math.max(doneAt('metadata/1.targets.json'), doneAt('metadata/2.targets.json')));
    expect(doneAt('metadata/timestamp.json')).toBeGreaterThan(Math.max(doneAt('metadata/1.snapshot.json'), doneAt('metadata/2.snapshot.json')));
    expect(done.filter((p) => !p.startsWith('keys/')).slice(-2)).toEqual(['metadata/timestamp.json', 'metadata/1.root.json']);
    expect(lines.at(-1)).toMatchObject({ ok: true });
    expect(await listTree(sshd!.tree)).toEqual(await listTree(join(home, 'repository')));
    // The audit log records the SSH sessions the publish key signed.
    const audit = airlock(['audit', '--json'], { env: env() });
    expect(JSON.stringify(audit.json)).toContain('ssh-session');
  });

  it('exits 1 with E_HOST_KEY when the host shows another key, and 2 for an unknown host', async () => {
    const other = join(home, 'other');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    expect(airlock(['host', 'add', 'impostor', sshd!.url, '--host-key', `${other}.pub`], { env: env() }).status).toBe(0);
    const r = airlock(['publish', '--host', 'impostor', '--json', '--passphrase-fd', '3'], { env: env(), fds: { 3: pass } });
    expect(r.status).toBe(1);
    expect(r.json.hosts[0].error.code).toBe('E_HOST_KEY');
    const unknown = airlock(['publish', '--host', 'nowhere', '--json'], { env: env() });
    expect(unknown.status).toBe(2);
    expect(unknown.json.error.code).toBe('E_HOST_UNKNOWN');
    expect(airlock(['host', 'remove', 'impostor'], { env: env() }).status).toBe(0);
    expect(airlock(['host', 'remove', 'impostor', '--json'], { env: env() }).json.error.code).toBe('E_HOST_UNKNOWN');
  });

  it('publishes to a directory given on the command line, with no key needed; --dry-run prints the plan as text', async () => {
    const dir = join(home, 'dir-host');
    // --to, as in every command that publishes (--host is its old spelling, used above).
    const dry = airlock(['publish', '--to', dir, '--dry-run'], { env: env() });
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/\d+ to upload/);
    expect(dry.stdout).toContain('metadata/timestamp.json');
    const r = airlock(['publish', '--to', dir, '--json'], { env: env() });
    expect(r.status, r.stderr).toBe(0);
    expect(await listTree(dir)).toEqual(await listTree(join(home, 'repository')));
    expect(await readFile(join(dir, 'metadata/timestamp.json'))).toEqual(await readFile(join(home, 'repository/metadata/timestamp.json')));
  });
});
