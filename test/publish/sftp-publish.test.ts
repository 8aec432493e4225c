// Publishing to a real OpenSSH sshd (configured with the lines `airlock host add`
// prints), the tree it receives served by a real nginx and read by tuf-js and airlock-verify.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ssh2, { type AgentAuthMethod } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { keysFromKnownHosts, fingerprintOf } from '../../lib/publish/host-key.js';
import { applyPublishPlan, openTransport, planItems, planPublish, publish, type HostSpec } from '../../lib/publish/index.js';
import { SignerAgent, openSshPublicKey } from '../../lib/publish/signer-agent.js';
import { ensureBuilt, listTree, runCli } from '../support/e2e-cli.js';
import { expectCode } from '../support/error-codes.js';
import { memorySigner } from '../support/memory-signer.js';
import { startNginx, stopNginx, type NginxServer } from '../support/publish-nginx.js';
import { reachableTargets } from '../support/publish-host-check.js';
import { canRunSshd, startSshd, stopSshd, type SshdHost } from '../support/publish-sshd.js';
import { tufJsClient } from '../support/tufjs-client.js';
import { addRelease, createFixtureRepo, rotateRootKey, type FixtureRepo } from '../support/publish-tuf-fixture.js';

const run = promisify(execFile);
// Compared as digests: deep equality on large Buffers is very slow in vitest.
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const signer = memorySigner('publish');
let sshd: SshdHost | undefined;
let nginx: NginxServer | undefined;
let work: string;

async function emptyTree(): Promise<void> {
  await rm(sshd!.tree, { recursive: true, force: true });
  await mkdir(sshd!.tree, { mode: 0o755 });
}

const host = (over: Partial<HostSpec> = {}): HostSpec => ({ name: 'ssh', url: sshd!.url, hostKey: sshd!.hostKey, ...over });

describe.skipIf(!canRunSshd())('publishing over SFTP to OpenSSH sshd', () => {
  let repo: FixtureRepo;
  let local: string;
  let old: string[];
  let next: string[];
  let oldTree: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'airlock-sftp-'));
    sshd = await startSshd({ publishKey: signer.publicKey });
    nginx = await startNginx(sshd.tree);
    local = join(work, 'local');
    repo = await createFixtureRepo(local, { delegatedRole: 'releases' });
    old = (await addRelease(repo, 'demo', '1.0', { 'demo-1.0.tar.gz': Buffer.alloc(300_000, 1), 'notes.txt': 'first' })).sort();
    const [r] = await publish(local, [host()], { publishSigner: signer });
    expect(r!.ok, JSON.stringify(r!.error)).toBe(true);
    oldTree = join(work, 'old-tree');
    await cp(sshd.tree, oldTree, { recursive: true });
    await rotateRootKey(repo);
    next = [...old, ...(await addRelease(repo, 'demo', '2.0', { 'demo-2.0.tar.gz': Buffer.alloc(200_000, 2) }))].sort();
  });

  afterAll(async () => {
    await stopNginx(nginx);
    await stopSshd(sshd);
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function resetToOld(): Promise<void> {
    await rm(sshd!.tree, { recursive: true, force: true });
    await cp(oldTree, sshd!.tree, { recursive: true });
  }

  it('publishes a release that tuf-js and airlock-verify then download and verify over HTTP from nginx', async () => {
    await resetToOld();
    const [report] = await publish(local, [host()], { publishSigner: signer });
    expect(report!.ok, JSON.stringify(report!.error)).toBe(true);
    expect(await listTree(sshd!.tree)).toEqual(await listTree(local));
    const client = tufJsClient(repo.rootV1, nginx!.url);
    try {
      const view = await client.view(next);
      expect(view.found).toEqual(next);
      for (const t of next) expect(sha256(view.bytes.get(t)!)).toBe(sha256(repo.targets.get(t)!));
    } finally {
      await client.remove();
    }
    // airlock-verify, as a downloader runs it (the built bundle), over the same nginx.
    await ensureBuilt();
    const rootFile = join(work, 'pinned-root.json');
    await writeFile(rootFile, repo.rootV1);
    const outDir = await mkdtemp(join(work, 'verify-dl-'));
    const r = await runCli('verify', ['download', ...next, '--from', nginx!.url, '--root', rootFile, '--out-dir', outDir]);
    expect(r.status, r.stderr).toBe(0);
    for (const t of next) expect(sha256(await readFile(join(outDir, encodeURIComponent(t))))).toBe(sha256(repo.targets.get(t)!));
    const [again] = await publish(local, [host()], { publishSigner: signer });
    expect(again!.uploaded).toBe(0);
    // The publish key signed one SSH session per connection, through the Signer.
    expect(signer.requests.every((r) => r.purpose === 'ssh' && r.subject.kind === 'ssh-session')).toBe(true);
  });

  it('is seen by tuf-js as the previous release or the whole new one when cut after any file; a re-run completes it', async () => {
    await resetToOld();
    // A client that already holds the previous release, and (below) new ones trusting only root v1.
    const stateful = tufJsClient(repo.rootV1, nginx!.url);
    expect((await stateful.view(next)).found).toEqual(old);
    // One connection throughout (the tree is reset on disk between cuts); a re-run is a
    // new plan and apply, exactly what the same command run again does after connecting.
    const t = await openTransport(host(), { publishSigner: signer });
    try {
      const uploads = (await planPublish(local, t)).upload;
      expect(uploads).toBeGreaterThan(8);
      for (let cut = 0; cut < uploads; cut++) {
        await resetToOld();
        await expectCode(applyPublishPlan((await planPublish(local, t)), t, { failAfter: cut }), 'E_PUBLISH_INTERRUPTED');
        const views = await Promise.all(
          [stateful.copy(), tufJsClient(repo.rootV1, nginx!.url)].map(async (made) => {
            const client = await made;
            try {
              return await client.view(next);
            } finally {
              await client.remove();
            }
          }),
        );
        for (const view of views) {
          expect([old, next], `cut after ${cut} files`).toContainEqual(view.found);
          for (const f of view.found) expect(sha256(view.bytes.get(f)!)).toBe(sha256(repo.targets.get(f)!));
        }
        const resumed = await applyPublishPlan((await planPublish(local, t)), t);
        expect(resumed.uploaded).toBe(uploads - cut);
        expect(await reachableTargets(sshd!.tree)).toEqual(next);
      }
    } finally {
      await t.close();
      await stateful.remove();
    }
  });

  it('refuses a host that shows another host key than the pinned one (E_HOST_KEY), writing nothing', async () => {
    await emptyTree();
    const other = join(work, 'other-key');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const wrongLine = (await readFile(`${other}.pub`, 'utf8')).trim();
    const wrongFingerprint = fingerprintOf(Buffer.from(wrongLine.split(' ')[1]!, 'base64'));
    for (const hostKey of [wrongLine, wrongFingerprint]) {
      await expectCode(openTransport(host({ hostKey }), { publishSigner: signer }), 'E_HOST_KEY');
      const [r] = await publish(local, [host({ hostKey })], { publishSigner: signer });
      expect(r!.error?.code).toBe('E_HOST_KEY');
    }
    await expectCode(openTransport(host({ hostKey: undefined }), { publishSigner: signer }), 'E_HOST_KEY');
    expect(await listTree(sshd!.tree)).toEqual([]);
  });

  it('accepts the host key pinned by fingerprint or from a known_hosts file made by ssh-keyscan', async () => {
    const fp = fingerprintOf(Buffer.from(sshd!.hostKey.split(' ')[1]!, 'base64'));
    const t1 = await openTransport(host({ hostKey: fp }), { publishSigner: signer });
    await t1.close();
    const { stdout } = await run('ssh-keyscan', ['-p', String(sshd!.port), '-t', 'ed25519', '127.0.0.1']);
    const kh = join(work, 'known_hosts');
    await writeFile(kh, stdout);
    const [pin] = await keysFromKnownHosts(kh, '127.0.0.1', sshd!.port);
    expect(pin).toBe(sshd!.hostKey);
    const t2 = await openTransport(host({ hostKey: pin }), { publishSigner: signer });
    await t2.close();
  });

  it("turns Nagle's algorithm off on its connection (TCP_NODELAY)", async () => {
    // Without it, where ssh2's native binding does not load (another Node, as in
    // scripts/test-node-lts.sh) every SFTP request waited ~40 ms for the host's delayed
    // ACK; the Node 24 run of the cut test above is the timing side of this check.
    const spy = vi.spyOn(Socket.prototype, 'setNoDelay');
    try {
      const t = await openTransport(host(), { publishSigner: signer });
      await t.close();
      const calls = spy.mock.contexts.map((sock, i) => ({ port: (sock as Socket).remotePort, noDelay: spy.mock.calls[i]![0] }));
      expect(calls).toContainEqual({ port: sshd!.port, noDelay: true });
    } finally {
      spy.mockRestore();
    }
  });

  it('refuses a publish key the host does not know (E_HOST_AUTH), and a key of another role (E_KEY_ROLE)', async () => {
    await expectCode(openTransport(host(), { publishSigner: memorySigner('publish') }), 'E_HOST_AUTH');
    await expectCode(openTransport(host(), { publishSigner: memorySigner('targets') }), 'E_KEY_ROLE');
  });

  it('gives the publish key SFTP inside the chroot and nothing else', async () => {
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve).once('error', reject);
      client.connect({
        host: '127.0.0.1',
        port: sshd!.port,
        username: sshd!.user,
        hostVerifier: (k: Buffer) => `ssh-ed25519 ${k.toString('base64')}` === sshd!.hostKey,
        authHandler: [{ type: 'agent', username: sshd!.user, agent: new SignerAgent(signer, 'test') } satisfies AgentAuthMethod] as AgentAuthMethod[],
      });
    });
    try {
      // A command runs internal-sftp instead: no shell output ever comes back.
      const out = await new Promise<string>((resolve, reject) => {
        client.exec('echo shell-reached; id', (err, ch) => {
          if (err) return resolve(`refused: ${err.message}`);
          let s = '';
          ch.on('data', (d: Buffer) => (s += d.toString('latin1')));
          ch.stderr.on('data', (d: Buffer) => (s += d.toString('latin1')));
          ch.on('close', () => resolve(s));
          ch.end();
          setTimeout(() => ch.close(), 1500);
        });
        client.once('error', reject);
      });
      expect(out).not.toContain('shell-reached');
      expect(out).not.toContain('uid=');
      // Port forwarding is refused.
      await expect(new Promise((resolve, reject) => client.forwardOut('127.0.0.1', 1, '127.0.0.1', sshd!.port, (err, ch) => (err ? reject(err) : resolve(ch))))).rejects.toThrow();
      // The file system seen is the chroot: only the release tree.
      const sftp = await new Promise<ssh2.SFTPWrapper>((resolve, reject) => client.sftp((err, s) => (err ? reject(err) : resolve(s))));
      const names = await new Promise<string[]>((resolve, reject) => sftp.readdir('/', (err, l) => (err ? reject(err) : resolve(l.map((e) => e.filename)))));
      expect(names.filter((n) => n !== '.' && n !== '..')).toEqual(['www']);
    } finally {
      client.end();
    }
  });

  it('never replaces an immutable file over SFTP: OpenSSH rename refuses an existing target', async () => {
    await resetToOld();
    const t = await openTransport(host(), { publishSigner: signer });
    try {
      const victim = 'releases/demo/1.0/notes.txt';
      const before = await readFile(join(sshd!.tree, victim));
      const src = join(work, 'other-bytes');
      await writeFile(src, 'other bytes');
      await t.put(src, 'releases/demo/1.0/.notes.txt.airlock-aaaaaaaaaaaa.part');
      expect(await t.rename('releases/demo/1.0/.notes.txt.airlock-aaaaaaaaaaaa.part', victim, { overwrite: false })).toBe('exists');
      expect(await readFile(join(sshd!.tree, victim))).toEqual(before);
      await t.remove('releases/demo/1.0/.notes.txt.airlock-aaaaaaaaaaaa.part');
      // And the plan refuses before anything moves.
      await writeFile(join(sshd!.tree, victim), 'FIRST');
      await expectCode(planPublish(local, t), 'E_PUBLISH_IMMUTABLE');
    } finally {
      await t.close();
    }
  });

  it('publishes to mirrors (SFTP and a directory); a host with a wrong key fails alone', async () => {
    await resetToOld();
    const dir = join(work, 'mirror-dir');
    const reports = await publish(
      local,
      [host({ name: 'ssh' }), { name: 'dir', url: `file://${dir}` }, host({ name: 'impostor', hostKey: `ssh-ed25519 ${Buffer.from(openSshPublicKey(memorySigner('publish').publicKey).split(' ')[1]!, 'base64').toString('base64')}` })],
      { publishSigner: signer, concurrency: 3 },
    );
    expect(reports.map((r) => [r.host, r.ok, r.error?.code])).toEqual([
      ['ssh', true, undefined],
      ['dir', true, undefined],
      ['impostor', false, 'E_HOST_KEY'],
    ]);
    expect(await listTree(sshd!.tree)).toEqual(await listTree(local));
    expect(await listTree(dir)).toEqual(await listTree(local));
  });

  it('plans from the digest cache over SFTP (listing and read-back agree on mtimes); --full-check reads everything', async () => {
    await resetToOld();
    const cacheDir = join(work, 'digest-cache');
    expect((await publish(local, [host()], { publishSigner: signer, digestCacheDir: cacheDir }))[0]!.ok).toBe(true);
    const victim = join(sshd!.tree, 'releases/demo/1.0/notes.txt');
    const st = await stat(victim);
    await writeFile(victim, 'FIRST');
    await utimes(victim, st.atime, st.mtime);
    const [quick] = await publish(local, [host()], { publishSigner: signer, digestCacheDir: cacheDir });
    expect(quick).toMatchObject({ ok: true, uploaded: 0 });
    const [full] = await publish(local, [host()], { publishSigner: signer, digestCacheDir: cacheDir, fullCheck: true });
    expect(full!.error?.code).toBe('E_PUBLISH_IMMUTABLE');
    await writeFile(victim, 'first');
  });

  it('repairs over SFTP the mode of a host directory holding published files, not of a directory holding none', async () => {
    await resetToOld();
    const [first] = await publish(local, [host()], { publishSigner: signer });
    expect(first!.ok, JSON.stringify(first!.error)).toBe(true);
    const release = (await listTree(sshd!.tree)).find((f) => f.startsWith('releases/'))!.split('/').slice(0, -1).join('/');
    await chmod(join(sshd!.tree, release), 0o700);
    // Deeper than the release directories, and left alone: nothing of the plan lies in it.
    await mkdir(join(sshd!.tree, 'stray', 'a', 'b'), { recursive: true, mode: 0o755 });
    await chmod(join(sshd!.tree, 'stray', 'a', 'b'), 0o700);
    const t = await openTransport(host(), { publishSigner: signer });
    try {
      const plan = await planPublish(local, t, { fullCheck: true });
      expect(plan.modeRepairs).toEqual([{ path: release, kind: 'dir', from: '0700', to: '0755' }]);
      await applyPublishPlan(plan, t);
    } finally {
      await t.close();
    }
    expect((await stat(join(sshd!.tree, release))).mode & 0o777).toBe(0o755);
    expect((await stat(join(sshd!.tree, 'stray', 'a', 'b'))).mode & 0o777).toBe(0o700);
  });

  it('checks every upload by reading it back over SFTP', async () => {
    await resetToOld();
    const t = await openTransport(host(), { publishSigner: signer });
    try {
      const plan = (await planPublish(local, t));
      const report = await applyPublishPlan(plan, t);
      expect(report.uploaded).toBe(plan.upload);
      for (const i of await planItems(plan)) expect(await t.digest(i.path)).toMatchObject({ length: i.length, sha256: i.sha256 });
    } finally {
      await t.close();
    }
  });
});
