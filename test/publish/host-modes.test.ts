// Published files must be readable by the web server whatever the terminal's umask
// (issue 16.2): a publish under umask 077 is served by a real nginx whose workers run as
// another user (nobody), a host file damaged to 0600 is repaired by `publish --full-check`,
// modes are configurable per host, and an SFTP server with its own umask 077 still gets
// 0644/0755 because airlock sets them explicitly.
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryTransport } from '../../lib/publish/directory-transport.js';
import { parseMode } from '../../lib/publish/host-modes.js';
import { applyPublishPlan, planPublish, publish } from '../../lib/publish/index.js';
import type { RemoteDigest } from '../../lib/publish/transport.js';
import { airlockBin, ensureBuilt, listTree } from '../support/e2e-cli.js';
import { expectCode } from '../support/error-codes.js';
import { memorySigner } from '../support/memory-signer.js';
import { startNginx, stopNginx, type NginxServer } from '../support/publish-nginx.js';
import { canRunSshd, startSshd, stopSshd, type SshdHost } from '../support/publish-sshd.js';
import { addRelease, createFixtureRepo } from '../support/publish-tuf-fixture.js';

const modeOf = async (p: string) => (await stat(p)).mode & 0o777;

/** `airlock ARGS` under `umask`, as a release manager with a strict shell profile runs it. */
function airlockUnderUmask(umask: string, args: string[], home: string) {
  const r = spawnSync('sh', ['-c', `umask ${umask} && exec "$@"`, 'sh', process.execPath, airlockBin, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, HOME: home, AIRLOCK_HOME: home },
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json: JSON.parse(r.stdout.trim().split('\n').at(-1) || '{}') as any };
}

async function get(url: string): Promise<number> {
  return (await fetch(url)).status;
}

// nginx drops to `nobody` only when started as root.
describe.skipIf(process.getuid?.() !== 0)('host file modes whatever the umask', () => {
  let work: string;
  let home: string;
  let host: string;
  let nginx: NginxServer | undefined;
  let released: string[];

  beforeAll(async () => {
    await ensureBuilt();
    work = await mkdtemp(join(tmpdir(), 'airlock-modes-'));
    // The test's own directory must be searchable by nobody; the host below it is airlock's to make.
    await chmod(work, 0o755);
    home = join(work, 'terminal');
    await mkdir(home, { mode: 0o700 });
    const repo = await createFixtureRepo(join(home, 'repository'));
    released = await addRelease(repo, 'demo', '1.0', { 'demo-1.0.tar.gz': Buffer.alloc(5000, 3) });
    host = join(work, 'www', 'host');
    nginx = await startNginx(join(work, 'www', 'host'), { user: 'nobody nogroup' });
  });

  afterAll(async () => {
    await stopNginx(nginx);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('publishes under umask 077 a tree that nginx running as nobody serves', async () => {
    const add = airlockUnderUmask('077', ['host', 'add', 'web', host, '--json'], home);
    expect(add.status, add.stderr).toBe(0);
    const r = airlockUnderUmask('077', ['publish', '--json'], home);
    expect(r.status, r.stderr).toBe(0);
    expect(await modeOf(join(work, 'www'))).toBe(0o755);
    expect(await modeOf(host)).toBe(0o755);
    for (const f of await listTree(host)) expect([f, await modeOf(join(host, f))]).toEqual([f, 0o644]);
    expect(await modeOf(join(host, 'releases', 'demo', '1.0'))).toBe(0o755);
    expect(await get(`${nginx!.url}/metadata/timestamp.json`)).toBe(200);
    expect(await get(`${nginx!.url}/releases/${released[0]}`)).toBe(200);
    expect(await get(`${nginx!.url}/keys/root.json`)).toBe(200);
  });

  it('repairs a 0600 file and a 0700 directory on `publish --full-check`, and says so', async () => {
    const file = join(host, 'releases', released[0]!);
    await chmod(file, 0o600);
    await chmod(join(host, 'metadata'), 0o700);
    expect(await get(`${nginx!.url}/releases/${released[0]}`)).toBe(403);
    expect(await get(`${nginx!.url}/metadata/timestamp.json`)).toBe(403);

    const dry = airlockUnderUmask('077', ['publish', '--full-check', '--dry-run', '--json'], home);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.json.hosts[0].plan.modeRepairs).toEqual([
      { path: 'metadata', kind: 'dir', from: '0700', to: '0755' },
      { path: `releases/${released[0]}`, kind: 'file', from: '0600', to: '0644' },
    ]);
    expect(await modeOf(file)).toBe(0o600); // a dry run writes nothing

    const r = airlockUnderUmask('077', ['publish', '--full-check', '--json'], home);
    expect(r.status, r.stderr).toBe(0);
    expect(r.json.hosts[0]).toMatchObject({ ok: true, uploaded: 0, modesRepaired: 2 });
    expect(await modeOf(file)).toBe(0o644);
    expect(await get(`${nginx!.url}/releases/${released[0]}`)).toBe(200);
    expect(await get(`${nginx!.url}/metadata/timestamp.json`)).toBe(200);
  });

  it('uses the modes a host is registered with (a web server reading through its group)', async () => {
    const group = join(work, 'group-host');
    const add = airlockUnderUmask('022', ['host', 'add', 'grp', group, '--file-mode', '0640', '--dir-mode', '0750', '--json'], home);
    expect(add.status, add.stderr).toBe(0);
    expect(add.json.host).toMatchObject({ fileMode: '0640', dirMode: '0750' });
    const r = airlockUnderUmask('022', ['publish', '--json'], home);
    expect(r.status, r.stderr).toBe(0);
    expect(r.json.hosts.map((h: { host: string }) => h.host)).toEqual(['web', 'grp']);
    expect(await modeOf(join(group, 'metadata', 'timestamp.json'))).toBe(0o640);
    expect(await modeOf(join(group, 'metadata'))).toBe(0o750);
    const bad = airlockUnderUmask('022', ['host', 'add', 'open', join(work, 'x'), '--file-mode', '0666', '--json'], home);
    expect(bad.status).toBe(2);
    expect(bad.json.error.code).toBe('E_CONFIG');
  });
});

describe('mode checks', () => {
  it('refuses modes that give others write, set-id bits, or lock the publisher out', () => {
    expect(parseMode('0644', 'file', 'h')).toBe(0o644);
    expect(parseMode('750', 'dir', 'h')).toBe(0o750);
    for (const [m, kind] of [['0666', 'file'], ['0755', 'file'], ['4644', 'file'], ['0444', 'file'], ['0775', 'dir'], ['0644', 'dir'], ['rw-r--r--', 'file']] as const) {
      expectCode(() => parseMode(m, kind, 'h'), 'E_CONFIG');
    }
  });

  it('fails the read-back when the host gives an uploaded file another mode than was set', async () => {
    const work = await mkdtemp(join(tmpdir(), 'airlock-modes-readback-'));
    try {
      const repo = await createFixtureRepo(join(work, 'local'));
      await addRelease(repo, 'demo', '1.0', { 'a.txt': 'a' });
      // A host that narrows every mode behind the publisher's back (an ACL, a mount option).
      class NarrowingHost extends DirectoryTransport {
        override async digest(path: string): Promise<RemoteDigest | undefined> {
          const d = await super.digest(path);
          return d && { ...d, mode: 0o600 };
        }
      }
      const t = new NarrowingHost('narrow', join(work, 'host'));
      await mkdir(t.root);
      const plan = await planPublish(join(work, 'local'), t);
      await expectCode(() => applyPublishPlan(plan, t), 'E_PUBLISH_VERIFY');
      expect(await listTree(t.root)).toEqual([]); // nothing renamed into place
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!canRunSshd())('SFTP host modes', () => {
  let sshd: SshdHost | undefined;
  let work: string;
  const signer = memorySigner('publish');

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'airlock-modes-sftp-'));
    sshd = await startSshd({ publishKey: signer.publicKey, umask: '077' });
  });
  afterAll(async () => {
    await stopSshd(sshd);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('sets 0644/0755 explicitly on a server whose umask is 077, and repairs a 0600 file', async () => {
    const repo = await createFixtureRepo(join(work, 'local'));
    const [target] = await addRelease(repo, 'demo', '1.0', { 'a.tar.gz': Buffer.alloc(1000, 1) });
    const spec = { name: 'ssh', url: sshd!.url, hostKey: sshd!.hostKey };
    const [r] = await publish(join(work, 'local'), [spec], { publishSigner: signer });
    expect(r!.ok, JSON.stringify(r!.error)).toBe(true);
    const tree = sshd!.tree;
    for (const f of await listTree(tree)) expect([f, await modeOf(join(tree, f))]).toEqual([f, 0o644]);
    expect(await modeOf(join(tree, 'releases', 'demo', '1.0'))).toBe(0o755);
    expect(await modeOf(join(tree, 'metadata'))).toBe(0o755);

    await chmod(join(tree, 'releases', target!), 0o600);
    const [again] = await publish(join(work, 'local'), [spec], { publishSigner: signer, fullCheck: true });
    expect(again).toMatchObject({ ok: true, uploaded: 0, modesRepaired: 1 });
    expect(await modeOf(join(tree, 'releases', target!))).toBe(0o644);
  });
});
