// The batched path of a large publish to a directory host: files written without a flush
// each, one flush per batch for their bytes and one for their renames. Checked here: it
// lands everything with the host's modes, flushes per batch (counted, not timed), never
// shows or flushes metadata before what it refers to, resumes after a cut or a fault
// mid-batch, and refuses an immutable conflict without replacing it.
import { cp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromSystemError } from '../../lib/core/errors.js';
import { applyPublishPlan, planPublish, type PublishEvent } from '../../lib/publish/index.js';
import { BATCH_AFTER_FILES } from '../../lib/publish/apply.js';
import { DirectoryTransport } from '../../lib/publish/directory-transport.js';
import { classifyPath, STAGE_ORDER } from '../../lib/publish/layout.js';
import { scratchDirs } from '../support/scratch-dirs.js';
import { listTree } from '../support/e2e-cli.js';
import { expectCode } from '../support/error-codes.js';
import { reachableTargets } from '../support/publish-host-check.js';
import { addRelease, createFixtureRepo } from '../support/publish-tuf-fixture.js';

const scratch = scratchDirs('airlock-publish-batch-');
const fresh = scratch.fresh;

const MODES = { file: 0o640, dir: 0o750 };

/** A release of `count` files: more than one batch's threshold of targets/ and releases/ files. */
function files(count: number, tag: string): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`file-${i}.txt`, `${tag} ${i}\n`]));
}

/** A host with release 1.0 published, and release 2.0 (more files than a batch's threshold) added locally. */
async function largeRelease(): Promise<{ local: string; host: string; old: string[]; next: string[] }> {
  const local = await fresh('local');
  const host = await fresh('host');
  const repo = await createFixtureRepo(local, { delegatedRole: 'releases' });
  const old = (await addRelease(repo, 'demo', '1.0', { 'demo-1.0.tar.gz': 'one' })).sort();
  await publishTo(local, host);
  const next = [...old, ...(await addRelease(repo, 'demo', '2.0', files(BATCH_AFTER_FILES + 8, 'two')))].sort();
  return { local, host, old, next };
}

async function publishTo(local: string, host: string, opts: { failAfter?: number; batchAfter?: number; events?: PublishEvent[]; wrap?: (t: DirectoryTransport) => DirectoryTransport } = {}) {
  const t = await DirectoryTransport.open('batch', host, MODES);
  const transport = opts.wrap ? opts.wrap(t) : t;
  const plan = (await planPublish(local, transport, { modes: MODES }));
  const report = await applyPublishPlan(plan, transport, {
    ...(opts.events ? { onEvent: (e: PublishEvent) => opts.events!.push(e) } : {}),
    ...(opts.failAfter === undefined ? {} : { failAfter: opts.failAfter }),
    ...(opts.batchAfter === undefined ? {} : { batchAfter: opts.batchAfter }),
  });
  return { report, transport: t, plan };
}

/** The transport with `hooks` run before its own put / rename / flush. */
function observed(t: DirectoryTransport, hooks: { put?: (path: string) => Promise<void>; rename?: (to: string) => Promise<void>; flush?: (paths: readonly string[]) => Promise<void> }): DirectoryTransport {
  return Object.assign(Object.create(t) as DirectoryTransport, {
    put: async (...args: Parameters<DirectoryTransport['put']>) => {
      await hooks.put?.(args[1]);
      return t.put(...args);
    },
    rename: async (...args: Parameters<DirectoryTransport['rename']>) => {
      await hooks.rename?.(args[1]);
      return t.rename(...args);
    },
    flush: async (paths: readonly string[]) => {
      await hooks.flush?.(paths);
      return t.flush(paths);
    },
  });
}

describe('a large publish to a directory host goes up in batches', () => {
  it('lands every file with the host modes, flushing twice per batch instead of per file', async () => {
    const { local, host, next } = await largeRelease();
    const { report, transport } = await publishTo(local, host);
    expect(report.uploaded).toBeGreaterThan(2 * BATCH_AFTER_FILES);
    // Two batches (targets/ and releases/ files of 2.0), each flushed for its bytes and its renames.
    expect(transport.flushes).toBe(4);
    expect(await reachableTargets(host)).toEqual(next);
    expect(await listTree(host)).toEqual(await listTree(local));
    for (const f of await listTree(local)) {
      expect(await readFile(join(host, f))).toEqual(await readFile(join(local, f)));
      expect((await stat(join(host, f))).mode & 0o777).toBe(MODES.file);
    }
    expect((await stat(join(host, 'targets/demo/2.0'))).mode & 0o777).toBe(MODES.dir);
  });

  it('never shows nor flushes a metadata file before what it refers to', async () => {
    const { local, host, old, next } = await largeRelease();
    const flushed: number[] = [];
    const wrap = (t: DirectoryTransport) =>
      observed(t, {
        // What a client sees at every rename and every flush is one whole release.
        rename: async () => expect([old, next]).toContainEqual(await reachableTargets(host)),
        flush: async (paths) => {
          expect([old, next]).toContainEqual(await reachableTargets(host));
          const placed = paths.filter((p) => !p.includes('.airlock-')).map((p) => STAGE_ORDER.indexOf(classifyPath(p).stage));
          // One flush never spans two stages: what refers to a file is flushed after it.
          expect(new Set(placed).size).toBeLessThanOrEqual(1);
          flushed.push(...placed);
        },
      });
    // Every run is a batch: the metadata stages too.
    await publishTo(local, host, { wrap, batchAfter: 0 });
    expect(flushed).toEqual([...flushed].sort((a, b) => a - b));
    expect(new Set(flushed).size).toBeGreaterThan(3);
    expect(await reachableTargets(host)).toEqual(next);
  });

  it('shows the previous release or the whole new one when cut after any file of a batch, and a re-run completes it', async () => {
    const { local, host, old, next } = await largeRelease();
    const before = join(await fresh('before'), 'tree');
    await cp(host, before, { recursive: true });
    const t = await DirectoryTransport.open('batch', host, MODES);
    const uploads = (await planPublish(local, t, { modes: MODES })).upload;
    for (const cut of [1, BATCH_AFTER_FILES, BATCH_AFTER_FILES + 9, uploads - 2, uploads - 1]) {
      await rm(host, { recursive: true });
      await cp(before, host, { recursive: true });
      await expectCode(publishTo(local, host, { failAfter: cut, batchAfter: 1 }), 'E_PUBLISH_INTERRUPTED');
      expect([old, next]).toContainEqual(await reachableTargets(host));
      // The batch's files not yet in place are removed, not left as temporary files.
      expect((await listTree(host)).filter((p) => p.includes('.airlock-'))).toEqual([]);
      const resumed = await publishTo(local, host);
      expect(resumed.report.uploaded).toBe(uploads - cut);
      expect(await reachableTargets(host)).toEqual(next);
    }
    // Ten publishes, each flushing the file system (syncfs): slow when other writers share the disk.
  }, 180_000);

  it('removes a batch’s temporary files when a write fails mid-batch, and a re-run finishes', async () => {
    const { local, host, old, next } = await largeRelease();
    let puts = 0;
    const wrap = (t: DirectoryTransport) =>
      observed(t, {
        put: async () => {
          if (++puts === 5) throw fromSystemError(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }), 'writing');
        },
      });
    await expectCode(publishTo(local, host, { wrap }), 'E_IO');
    expect(await reachableTargets(host)).toEqual(old);
    expect((await listTree(host)).filter((p) => p.includes('.airlock-'))).toEqual([]);
    expect((await publishTo(local, host)).report.ok).toBe(true);
    expect(await reachableTargets(host)).toEqual(next);
  });

  it('refuses an immutable path someone else filled during a batch, leaves their file, and moves no metadata', async () => {
    const { local, host, old } = await largeRelease();
    const victim = 'targets/demo/2.0';
    let planted: string | undefined;
    const wrap = (t: DirectoryTransport) =>
      observed(t, {
        // Between our write and our rename: someone else's bytes under a path of this batch.
        flush: async (paths) => {
          const tmp = planted === undefined ? paths.find((p) => p.startsWith(victim)) : undefined;
          if (tmp === undefined) return;
          planted = tmp.replace(/\/\.([^/]+)\.airlock-[0-9a-f]{12}\.part$/, '/$1');
          await writeFile(join(host, planted), 'theirs');
        },
      });
    const err = await expectCode(publishTo(local, host, { wrap }), 'E_PUBLISH_IMMUTABLE');
    expect(err.details?.conflicts).toEqual([{ path: planted }]);
    expect(await readFile(join(host, planted!), 'utf8')).toBe('theirs');
    expect(await reachableTargets(host)).toEqual(old);
    expect((await listTree(host)).filter((p) => p.includes('.airlock-'))).toEqual([]);
  });

  it('checks the host’s directories again after every batch: one swapped for a symlink meanwhile is refused', async () => {
    const { local, host, old } = await largeRelease();
    const outside = await fresh('outside');
    let swapped = false;
    const wrap = (t: DirectoryTransport) =>
      observed(t, {
        flush: async () => {
          if (swapped) return;
          swapped = true;
          // metadata/ was checked before this batch (timestamp.json was read); now it leads elsewhere.
          await cp(join(host, 'metadata'), outside, { recursive: true });
          await rm(join(host, 'metadata'), { recursive: true });
          await symlink(outside, join(host, 'metadata'));
        },
      });
    await expectCode(publishTo(local, host, { wrap }), 'E_HOST_UNSAFE');
    expect((await readdir(outside)).sort()).toEqual((await readdir(join(host, 'metadata'))).sort());
    await rm(join(host, 'metadata'));
    await cp(outside, join(host, 'metadata'), { recursive: true });
    expect(await reachableTargets(host)).toEqual(old);
  });
});
