// The directories a write to a directory host needs (DirectoryTransport.makeParents): one
// that is a symlink or no directory is refused (E_HOST_UNSAFE) and nothing is written
// through it — whether it was on the host before the publish (safe() finds it) or
// appeared after the path was checked and before airlock's mkdir (mkdir's EEXIST: made
// meanwhile by someone else on a host others can write to). The second case is a race;
// it is made certain here by planting the directory's stand-in on the host just before
// airlock's own mkdir of that directory runs (the mkdir itself is the real one).
import { mkdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { applyPublishPlan, planPublish } from '../../lib/publish/index.js';
import { BATCH_AFTER_FILES } from '../../lib/publish/apply.js';
import { DirectoryTransport } from '../../lib/publish/directory-transport.js';
import { expectCode } from '../support/error-codes.js';
import { listTree } from '../support/e2e-cli.js';
import { reachableTargets } from '../support/publish-host-check.js';
import { addRelease, createFixtureRepo } from '../support/publish-tuf-fixture.js';
import { scratchDirs } from '../support/scratch-dirs.js';

/**
 * Absolute directory → what someone else puts there just before airlock's mkdir of it
 * (once). Synchronous, so no other write of the batch gets in between.
 */
const beforeMkdir = vi.hoisted(() => new Map<string, () => void>());

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const mkdir = (async (path: Parameters<typeof real.mkdir>[0], options?: Parameters<typeof real.mkdir>[1]) => {
    // airlock names a directory through the one holding it, held open: /proc/<pid>/fd/<fd>/<name>.
    const held = /^\/proc\/(?:self|\d+)\/fd\/(\d+)\/(.+)$/.exec(String(path));
    const dir = held === null ? String(path) : join(readlinkSync(`/proc/self/fd/${held[1]}`), held[2]!);
    const plant = beforeMkdir.get(dir);
    if (plant !== undefined) {
      beforeMkdir.delete(dir);
      plant();
    }
    return real.mkdir(path, options);
  }) as typeof real.mkdir;
  return { ...real, mkdir, default: { ...real, mkdir } };
});

const scratch = scratchDirs('airlock-publish-parents-');
const fresh = scratch.fresh;

/** What stands where the directory should be, and what it points at (which must stay as it was). */
type Planted = 'a regular file' | 'a symlink to a directory' | 'a symlink to a file';
const PLANTED: Planted[] = ['a regular file', 'a symlink to a directory', 'a symlink to a file'];

/** `kind` to put at `at` (synchronously, when told), and the check that nothing was written through it. */
async function planted(kind: Planted, at: string): Promise<{ put: () => void; unchanged: () => Promise<void> }> {
  const outside = await fresh('outside');
  const theirs = join(outside, 'theirs.txt');
  await writeFile(theirs, 'not the publisher’s');
  let put = false;
  return {
    put: () => {
      if (kind === 'a regular file') writeFileSync(at, 'a file where a directory goes');
      else symlinkSync(kind === 'a symlink to a directory' ? outside : theirs, at);
      put = true;
    },
    unchanged: async () => {
      expect(put).toBe(true);
      expect(await readdir(outside)).toEqual(['theirs.txt']);
      expect(await readFile(theirs, 'utf8')).toBe('not the publisher’s');
      if (kind === 'a regular file') expect(await readFile(at, 'utf8')).toBe('a file where a directory goes');
    },
  };
}

let local: string;
let published: string;
let old: string[];

beforeAll(async () => {
  // Release 1.0 on the host; release 2.0 local only, large enough to go up in batches (8 writes at a time).
  local = await fresh('local');
  published = await fresh('published');
  const repo = await createFixtureRepo(local, { delegatedRole: 'releases' });
  old = (await addRelease(repo, 'demo', '1.0', { 'demo-1.0.tar.gz': 'one' })).sort();
  await publishTo(published);
  const files = Object.fromEntries(Array.from({ length: BATCH_AFTER_FILES + 8 }, (_, i) => [`file-${i}.txt`, `two ${i}\n`]));
  await addRelease(repo, 'demo', '2.0', files);
});

async function publishTo(host: string) {
  const t = await DirectoryTransport.open('parents', host);
  return applyPublishPlan(await planPublish(local, t), t);
}

/** A copy of the host with 1.0 published. */
async function hostWithOldRelease(): Promise<string> {
  const host = join(await fresh('host'), 'tree');
  await cp(published, host, { recursive: true });
  return host;
}

describe('a directory a publish needs on a directory host', () => {
  for (const kind of PLANTED) {
    it(`is refused when it is ${kind} before the publish, and nothing is written through it`, async () => {
      const host = await hostWithOldRelease();
      const there = await planted(kind, join(host, 'releases', 'demo', '2.0'));
      there.put();
      await expectCode(publishTo(host), 'E_HOST_UNSAFE');
      await there.unchanged();
      expect(await reachableTargets(host)).toEqual(old);
    });

    it(`is refused when ${kind} is made there after the check and before airlock's mkdir (EEXIST), and nothing is written through it`, async () => {
      const host = await hostWithOldRelease();
      const dir = join(host, 'releases', 'demo', '2.0');
      const there = await planted(kind, dir);
      beforeMkdir.set(dir, there.put);
      await expectCode(publishTo(host), 'E_HOST_UNSAFE');
      await there.unchanged();
      expect(await reachableTargets(host)).toEqual(old);
      expect((await listTree(host)).filter((p) => p.includes('.airlock-'))).toEqual([]);
    });
  }

  it('is refused for a single write too: the put fails with E_HOST_UNSAFE, not an I/O error, and writes nothing', async () => {
    for (const kind of PLANTED) {
      const host = await fresh('single');
      const t = await DirectoryTransport.open('parents', host);
      const source = join(await fresh('source'), 'f');
      await writeFile(source, 'bytes');
      // The first directory the path lacks: the one the check stops at.
      const there = await planted(kind, join(host, 'releases'));
      beforeMkdir.set(join(host, 'releases'), there.put);
      await expectCode(t.put(source, 'releases/demo/1.0/f'), 'E_HOST_UNSAFE');
      await there.unchanged();
    }
  });

  it('still makes a directory another write of the same batch made first (EEXIST on a real directory)', async () => {
    const host = await hostWithOldRelease();
    const dir = join(host, 'releases', 'demo', '2.0');
    beforeMkdir.set(dir, () => mkdirSync(dir, { mode: 0o755 }));
    expect((await publishTo(host)).ok).toBe(true);
    expect(beforeMkdir.has(dir)).toBe(false);
    expect(await listTree(host)).toEqual(await listTree(local));
  });
});
