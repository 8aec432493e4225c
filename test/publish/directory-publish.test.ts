// Plan and apply against the directory transport: order, temporary names, read-back
// checks, immutability, resume after an interruption at every step, mirrors.
import { cp, mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyPublishPlan, planItems, planPublish, publish, type PublishEvent } from '../../lib/publish/index.js';
import { DirectoryTransport } from '../../lib/publish/directory-transport.js';
import { observeHostTimestamps } from '../../lib/terminal/observe-hosts.js';
import { scratchDirs } from '../support/scratch-dirs.js';
import { listTree } from '../support/e2e-cli.js';
import { expectCode } from '../support/error-codes.js';
import { reachableTargets } from '../support/publish-host-check.js';
import { addRelease, createFixtureRepo, rotateRootKey, type FixtureRepo } from '../support/publish-tuf-fixture.js';

const scratch = scratchDirs('airlock-publish-');
const fresh = scratch.fresh;

async function publishAll(local: string, host: string, opts: { failAfter?: number; events?: PublishEvent[] } = {}) {
  const t = await DirectoryTransport.open('test', host);
  const plan = (await planPublish(local, t));
  const events = opts.events ?? [];
  return applyPublishPlan(plan, t, { onEvent: (e) => events.push(e), ...(opts.failAfter === undefined ? {} : { failAfter: opts.failAfter }) });
}

/** A local tree with release 1.0 published to `host`, then release 2.0 (and a root rotation) added locally. */
async function twoReleases(): Promise<{ repo: FixtureRepo; local: string; host: string; old: string[]; next: string[] }> {
  const local = await fresh('local');
  const host = await fresh('host');
  const repo = await createFixtureRepo(local, { delegatedRole: 'releases' });
  const old = (await addRelease(repo, 'demo', '1.0', { 'demo-1.0.tar.gz': 'one', 'notes.txt': 'first' })).sort();
  await publishAll(local, host);
  await rotateRootKey(repo);
  const next = [...old, ...(await addRelease(repo, 'demo', '2.0', { 'demo-2.0.tar.gz': 'two', 'notes.txt': 'second' }))].sort();
  return { repo, local, host, old, next };
}

describe('publishing to a directory', () => {
  it('uploads the whole tree in order, timestamp last, with no temporary files left', async () => {
    const { local, host } = await twoReleases();
    const events: PublishEvent[] = [];
    const report = await publishAll(local, host, { events });
    expect(report.ok).toBe(true);
    const done = events.filter((e) => e.type === 'file-done').map((e) => (e as { path: string }).path);
    // timestamp.json is the last online metadata; only the new root and the bootstrap keys/ copies follow it.
    const idx = (p: string) => done.indexOf(p);
    expect(done.slice(idx('metadata/timestamp.json') + 1)).toEqual(['metadata/2.root.json', ...done.filter((p) => p.startsWith('keys/'))]);
    expect(idx('metadata/3.releases.json')).toBeGreaterThan(Math.max(...done.filter((p) => !p.startsWith('metadata/') && !p.startsWith('keys/')).map(idx)));
    expect(idx('metadata/3.targets.json')).toBeGreaterThan(idx('metadata/3.releases.json'));
    expect(idx('metadata/3.snapshot.json')).toBeGreaterThan(idx('metadata/3.targets.json'));
    expect(await listTree(host)).toEqual(await listTree(local));
    for (const f of await listTree(local)) expect(await readFile(join(host, f))).toEqual(await readFile(join(local, f)));
  });

  it('skips what the host already holds: a second run uploads nothing', async () => {
    const { local, host } = await twoReleases();
    await publishAll(local, host);
    const report = await publishAll(local, host);
    expect(report.uploaded).toBe(0);
    expect(report.skipped).toBe((await listTree(local)).length);
  });

  it('shows a client the previous release or the whole new one when cut after any file, and a re-run completes it', async () => {
    const { local, host, old, next } = await twoReleases();
    const before = join(await fresh('snapshot'), 'tree');
    await cp(host, before, { recursive: true });
    const t = await DirectoryTransport.open('test', host);
    const uploads = (await planPublish(local, t)).upload;
    expect(uploads).toBeGreaterThan(8);
    for (let cut = 0; cut <= uploads; cut++) {
      await rm(host, { recursive: true });
      await cp(before, host, { recursive: true });
      if (cut < uploads) await expectCode(publishAll(local, host, { failAfter: cut }), 'E_PUBLISH_INTERRUPTED');
      else await publishAll(local, host, { failAfter: cut }).catch(() => undefined);
      const seen = await reachableTargets(host);
      expect([old, next]).toContainEqual(seen);
      const resumed = await publishAll(local, host);
      expect(resumed.uploaded).toBe(uploads - Math.min(cut, uploads));
      expect(await reachableTargets(host)).toEqual(next);
      expect((await listTree(host)).filter((p) => p.includes('.airlock-'))).toEqual([]);
    }
  });

  it('removes the temporary files an interrupted upload left behind, and nothing else', async () => {
    const { local, host } = await twoReleases();
    await mkdir(join(host, 'targets/demo/2.0'), { recursive: true });
    await writeFile(join(host, 'targets/demo/2.0/.x.tar.gz.airlock-0123456789ab.part'), 'half');
    await writeFile(join(host, 'index.html'), 'not ours');
    await publishAll(local, host);
    const files = await listTree(host);
    expect(files).not.toContain('targets/demo/2.0/.x.tar.gz.airlock-0123456789ab.part');
    expect(files).toContain('index.html');
  });

  it.each([
    ['same length', 'tw0'],
    ['other length', 'twenty'],
  ])('refuses to replace a published target with other bytes (%s), before any metadata moves', async (_name, bytes) => {
    const { local, host } = await twoReleases();
    const targetName = (await readdir(join(local, 'targets/demo/2.0'))).find((f) => f.endsWith('demo-2.0.tar.gz'))!;
    await mkdir(join(host, 'targets/demo/2.0'), { recursive: true });
    await writeFile(join(host, 'targets/demo/2.0', targetName), bytes);
    const treeBefore = await listTree(host);
    const tsBefore = await readFile(join(host, 'metadata/timestamp.json'));
    await expectCode(publishAll(local, host), 'E_PUBLISH_IMMUTABLE');
    expect(await listTree(host)).toEqual(treeBefore);
    expect(await readFile(join(host, 'metadata/timestamp.json'))).toEqual(tsBefore);
  });

  it('refuses to replace a published release file or versioned metadata with other bytes', async () => {
    const { local, host } = await twoReleases();
    await writeFile(join(host, 'releases/demo/1.0/notes.txt'), 'FIRST');
    await expectCode(publishAll(local, host), 'E_PUBLISH_IMMUTABLE');
    await writeFile(join(host, 'releases/demo/1.0/notes.txt'), 'first');
    await writeFile(join(host, 'metadata/2.snapshot.json'), '{}');
    await expectCode(publishAll(local, host), 'E_PUBLISH_IMMUTABLE');
  });

  it('replaces mutable files (keys/, timestamp.json) that differ', async () => {
    const { local, host } = await twoReleases();
    await writeFile(join(host, 'keys/root.json'), 'stale');
    await publishAll(local, host);
    expect(await readFile(join(host, 'keys/root.json'))).toEqual(await readFile(join(local, 'keys/root.json')));
  });

  it('refuses to roll a host back to an older timestamp', async () => {
    const { repo, local, host } = await twoReleases();
    await publishAll(local, host);
    const older = await fresh('older');
    await cp(local, older, { recursive: true });
    await addRelease(repo, 'demo', '3.0', { 'demo-3.0.tar.gz': 'three' });
    await publishAll(local, host);
    // `older` is a stale copy of the repository: its timestamp is behind the host's.
    await writeFile(join(older, 'keys/extra.txt'), 'x');
    await expectCode(publishAll(older, host), 'E_PUBLISH_STALE');
    // The same version signed twice (e.g. by two terminals) is refused too.
    const ts = JSON.parse(await readFile(join(local, 'metadata/timestamp.json'), 'utf8'));
    ts.signatures = [];
    await writeFile(join(older, 'metadata/timestamp.json'), JSON.stringify(ts));
    await expectCode(publishAll(older, host), 'E_PUBLISH_STALE');
  });

  it('refuses an upload that reads back with other bytes, leaving nothing under the real name', async () => {
    const { local, host } = await twoReleases();
    const t = await DirectoryTransport.open('flaky', host);
    const plan = (await planPublish(local, t));
    // A host that damages what it stores (a bad disk, a tampering proxy).
    const flaky = Object.assign(Object.create(t) as DirectoryTransport, {
      put: async (localFile: string, path: string) => {
        await t.put(localFile, path);
        await writeFile(join(host, path), 'damaged');
      },
    });
    await expectCode(applyPublishPlan(plan, flaky), 'E_PUBLISH_VERIFY');
    const first = (await planItems(plan))[0]!;
    await expect(stat(join(host, first.path))).rejects.toThrow();
    expect((await listTree(host)).filter((p) => p.includes('.airlock-'))).toEqual([]);
  });

  it('refuses an immutable path that reads back with other bytes after an in-place write, and never deletes it', async () => {
    const { local, host } = await twoReleases();
    const t = await DirectoryTransport.open('in-place', host);
    const plan = (await planPublish(local, t));
    const victim = (await planItems(plan)).find((i) => i.immutable)!;
    // A store whose writes are atomic per file (as S3), where someone else's bytes land on the path right after ours.
    const racing = Object.assign(Object.create(t) as DirectoryTransport, {
      writeInPlace: async (localFile: string, path: string) => {
        await t.put(localFile, path);
        if (path === victim.path) await writeFile(join(host, path), 'theirs');
        return 'written' as const;
      },
    });
    const err = await expectCode(applyPublishPlan(plan, racing), 'E_PUBLISH_IMMUTABLE');
    expect(err.details?.conflicts).toEqual([{ path: victim.path }]);
    expect(await readFile(join(host, victim.path), 'utf8')).toBe('theirs');
  });

  it('publishes to mirrors in parallel; a failing host leaves the others complete', async () => {
    const { local, next } = await twoReleases();
    const a = await fresh('mirror-a');
    const b = await fresh('mirror-b');
    const broken = await fresh('mirror-broken');
    await mkdir(join(broken, 'targets/demo/1.0'), { recursive: true });
    const name = (await readdir(join(local, 'targets/demo/1.0'))).find((f) => f.endsWith('notes.txt'))!;
    await writeFile(join(broken, 'targets/demo/1.0', name), 'tampered');
    const events: PublishEvent[] = [];
    const reports = await publish(local, [
      { name: 'a', url: a },
      { name: 'broken', url: `file://${broken}` },
      { name: 'b', url: b },
    ], { concurrency: 2, onEvent: (e) => events.push(e) });
    expect(reports.map((r) => [r.host, r.ok, r.error?.code])).toEqual([
      ['a', true, undefined],
      ['broken', false, 'E_PUBLISH_IMMUTABLE'],
      ['b', true, undefined],
    ]);
    expect(await reachableTargets(a)).toEqual(next);
    expect(await reachableTargets(b)).toEqual(next);
    expect(await listTree(broken)).toEqual([`targets/demo/1.0/${name}`]);
    expect(events.some((e) => e.type === 'host-failed' && e.host === 'broken')).toBe(true);
  });

  it('remembers digests of immutable files, so old releases are not read back; --full-check reads them all', async () => {
    const { repo, local, host } = await twoReleases();
    const cacheDir = await fresh('cache');
    const h = [{ name: 'h', url: host }];
    expect((await publish(local, h, { digestCacheDir: cacheDir }))[0]!.ok).toBe(true);
    // Someone alters a published file on the host and keeps its length and mtime.
    const victim = join(host, 'releases/demo/1.0/notes.txt');
    const st = await stat(victim);
    await writeFile(victim, 'FIRST');
    await utimes(victim, st.atime, st.mtime);
    await addRelease(repo, 'demo', '3.0', { 'demo-3.0.tar.gz': 'three' });
    // The quick check (length + mtime) trusts the cached digest: the plan does not read it again.
    const quick = await publish(local, h, { digestCacheDir: cacheDir });
    expect(quick[0]!.ok).toBe(true);
    // A full check reads everything back and finds it.
    const full = await publish(local, h, { digestCacheDir: cacheDir, fullCheck: true });
    expect(full[0]!.error?.code).toBe('E_PUBLISH_IMMUTABLE');
    // A change that moves the mtime is found without a full check too.
    await writeFile(victim, 'first');
    await utimes(victim, st.atime, new Date(st.mtime.getTime() + 5000));
    expect((await publish(local, h, { digestCacheDir: cacheDir }))[0]!.ok).toBe(true);
    await writeFile(victim, 'FIRST');
    await utimes(victim, st.atime, new Date(st.mtime.getTime() + 10_000));
    expect((await publish(local, h, { digestCacheDir: cacheDir }))[0]!.error?.code).toBe('E_PUBLISH_IMMUTABLE');
  });

  it('plans without writing on a dry run', async () => {
    const { local, host } = await twoReleases();
    const before = await listTree(host);
    const [report] = await publish(local, [{ name: 'h', url: host }], { dryRun: true });
    expect(report!.dryRun).toBe(true);
    expect(report!.plan!.firstUploads.filter((i) => !i.path.startsWith('keys/')).map((i) => i.path).slice(-2)).toEqual(['metadata/timestamp.json', 'metadata/2.root.json']);
    expect(await listTree(host)).toEqual(before);
    // A small plan keeps the whole list of files, as before the plan streamed: uploads, then those already there.
    const { items, upload, skip } = report!.plan!;
    expect(items!.length).toBe(upload + skip);
    expect(items!.filter((i) => i.action === 'upload')).toEqual(report!.plan!.firstUploads);
    expect(items!.filter((i) => i.action === 'skip').length).toBe(skip);
  });

  it('creates no host directory on a dry run or a plan\'s read of the timestamp, and plans the whole tree for it', async () => {
    const { local } = await twoReleases();
    const parent = await fresh('not-yet');
    const host = join(parent, 'www', 'repo');
    const [report] = await publish(local, [{ name: 'h', url: host }], { dryRun: true });
    expect(report!.ok, JSON.stringify(report!.error)).toBe(true);
    expect(report!.plan!.skip).toBe(0);
    expect(report!.plan!.upload).toBeGreaterThan(0);
    expect(await observeHostTimestamps([{ name: 'h', url: host }], undefined)).toEqual([{ host: 'h', timestamp: undefined }]);
    expect(await readdir(parent)).toEqual([]);
    // A real publish creates it.
    expect((await publish(local, [{ name: 'h', url: host }]))[0]!.ok).toBe(true);
    expect(await readdir(parent)).toEqual(['www']);
  });
});

describe('a directory host with planted symlinks', () => {
  it('is refused (E_HOST_UNSAFE) instead of writing through a symlinked directory into the terminal', async () => {
    const local = await fresh('local');
    const repo = await createFixtureRepo(local);
    await addRelease(repo, 'demo', '1.0', { 'demo-1.0.tar.gz': 'one' });
    const host = await fresh('host');
    // Stands for the terminal's own files: a host writable by others points into them.
    const terminal = await fresh('terminal-files');
    await writeFile(join(terminal, 'timestamp.json'), 'the terminal file');
    const { symlink } = await import('node:fs/promises');
    await symlink(terminal, join(host, 'metadata'));
    const reports = await publish(local, [{ name: 'planted', url: host }]);
    expect(reports[0]!.ok).toBe(false);
    expect(reports[0]!.error?.code).toBe('E_HOST_UNSAFE');
    expect(await readdir(terminal)).toEqual(['timestamp.json']);
    expect(await readFile(join(terminal, 'timestamp.json'), 'utf8')).toBe('the terminal file');
  });

  it('never reads a symlinked or non-regular file as host data', async () => {
    const host = await fresh('host');
    await mkdir(join(host, 'metadata'));
    const { symlink } = await import('node:fs/promises');
    await symlink('/etc/hostname', join(host, 'metadata', 'timestamp.json'));
    const t = await DirectoryTransport.open('planted', host);
    await expectCode(t.readSmall('metadata/timestamp.json', 1024), 'E_HOST_UNSAFE');
    await expectCode(t.digest('metadata/timestamp.json'), 'E_HOST_UNSAFE');
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', [join(host, 'metadata', '1.root.json')]);
    await expectCode(t.digest('metadata/1.root.json'), 'E_HOST_UNSAFE');
  });
});
