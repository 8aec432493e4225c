// A directory host swaps a directory for a symlink while airlock works in it (the race a
// check of each directory then a write by full path loses). DirectoryTransport holds each
// directory open and names files through it (lib/core/path-beneath.ts), so the swap is
// made certain here — between two writes of one batch, and before a single write — and
// nothing is ever written, renamed or changed through the link.
import { mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryTransport } from '../../lib/publish/directory-transport.js';
import { expectCode } from '../support/error-codes.js';

let work: string;
let host: string;
let outside: string;
let source: string;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'airlock-dir-race-'));
  host = join(work, 'host');
  outside = join(work, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'theirs.txt'), 'not the publisher’s');
  source = join(work, 'source');
  await writeFile(source, 'bytes');
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Moves the host's `dir` aside and leaves a symlink to `outside` in its place. */
async function swap(dir: string): Promise<string> {
  const aside = join(work, 'aside');
  await rename(join(host, dir), aside);
  await symlink(outside, join(host, dir));
  return aside;
}

describe('a directory host that swaps a directory for a symlink mid-publish', () => {
  it('gets no write, rename or removal through it within a batch: they land in the directory that was checked', async () => {
    const t = await DirectoryTransport.open('race', host);
    try {
      await t.put(source, 'releases/demo/1.0/.a.tmp', undefined, { durable: false });
      const aside = await swap('releases/demo/1.0');
      await t.put(source, 'releases/demo/1.0/.b.tmp', undefined, { durable: false });
      expect(await t.rename('releases/demo/1.0/.b.tmp', 'releases/demo/1.0/b', { durable: false, overwrite: false })).toBe('renamed');
      expect(await readdir(outside)).toEqual(['theirs.txt']);
      expect((await readdir(aside)).sort()).toEqual(['.a.tmp', 'b']);
      expect(await readFile(join(aside, 'b'), 'utf8')).toBe('bytes');
      // The batch's flush lets go of the directory: the next write opens it afresh and refuses the link.
      await t.flush(['releases/demo/1.0/.a.tmp', 'releases/demo/1.0/b']);
      await expectCode(t.put(source, 'releases/demo/1.0/c', undefined, { durable: false }), 'E_HOST_UNSAFE');
      await expectCode(t.put(source, 'releases/demo/1.0/c'), 'E_HOST_UNSAFE');
      await expectCode(t.chmod('releases/demo/1.0/theirs.txt', 0o600), 'E_HOST_UNSAFE');
      await expectCode(t.remove('releases/demo/1.0/theirs.txt'), 'E_HOST_UNSAFE');
      await expectCode(t.readSmall('releases/demo/1.0/theirs.txt', 100), 'E_HOST_UNSAFE');
      expect(await readdir(outside)).toEqual(['theirs.txt']);
      expect(await readFile(join(outside, 'theirs.txt'), 'utf8')).toBe('not the publisher’s');
    } finally {
      await t.close();
    }
  });

  it('holds at most 512 directories open in a batch, none after its flush, and a batch over 600 directories lands whole', async () => {
    const t = await DirectoryTransport.open('race', host);
    try {
      const paths = Array.from({ length: 600 }, (_, i) => `releases/demo/${i}/f`);
      const open = async () => (await readdir('/proc/self/fd')).length;
      const before = await open();
      for (const p of paths) await t.put(source, p, undefined, { durable: false });
      // A descriptor per directory held, 512 at most (DIRECTORIES_HELD), not one per directory of the batch.
      expect(await open()).toBeLessThan(before + 540);
      await t.flush(paths);
      expect(await open()).toBeLessThan(before + 10);
      for (const p of paths) expect(await readFile(join(host, p), 'utf8')).toBe('bytes');
    } finally {
      await t.close();
    }
  });
});

describe('a directory host whose root is gone', () => {
  it('fails a put (E_IO) instead of returning as if the file were written', async () => {
    const t = await DirectoryTransport.open('gone', host);
    try {
      await t.put(source, 'first', undefined, { durable: false });
      await rm(host, { recursive: true });
      await expectCode(t.put(source, 'releases/demo/1.0/a', undefined, { durable: false }), 'E_IO');
    } finally {
      await t.close();
    }
  });
});
