// lib/core/path-beneath.ts: nothing below the root is followed, at any component, in
// both walks (held descriptors through /proc/self/fd, and the lstat fallback).
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WALK, openDirectoryBeneath, openFileBeneath, type BeneathWalk } from '../../lib/core/path-beneath.js';

let work: string;
let root: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'airlock-beneath-'));
  root = join(work, 'root');
  // The real tree, and elsewhere a directory with plausible files a link could lead to.
  await mkdir(join(root, 'targets', 'p', '1.0'), { recursive: true });
  await writeFile(join(root, 'targets', 'p', '1.0', 'f'), 'inside');
  await mkdir(join(work, 'elsewhere', '1.0'), { recursive: true });
  await writeFile(join(work, 'elsewhere', '1.0', 'f'), 'outside');
  await symlink(join(work, 'elsewhere'), join(root, 'targets', 'q'));
  await symlink(join(work, 'elsewhere', '1.0', 'f'), join(root, 'targets', 'p', '1.0', 'linked'));
  await writeFile(join(root, 'targets', 'file'), 'a file where a directory is named');
  execFileSync('mkfifo', [join(root, 'targets', 'p', '1.0', 'fifo')]);
  await mkdir(join(root, 'metadata'));
  // The root itself may be a symlink: it is the caller's word.
  await symlink(root, join(work, 'root-link'));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

async function text(r: Awaited<ReturnType<typeof openFileBeneath>>): Promise<string> {
  if ('refused' in r) return `refused ${r.refused} at ${r.at}`;
  try {
    return await r.fh.readFile('utf8');
  } finally {
    await r.fh.close();
  }
}

it('walks by held descriptors on Linux', () => {
  expect(DEFAULT_WALK).toBe(process.platform === 'linux' ? 'proc-fd' : 'lstat');
});

for (const walk of ['proc-fd', 'lstat'] as BeneathWalk[]) {
  describe(`openFileBeneath (${walk})`, () => {
    const at = (...s: string[]) => s;
    it('opens a regular file beneath the root, and beneath a root that is itself a symlink', async () => {
      expect(await text(await openFileBeneath(root, at('targets', 'p', '1.0', 'f'), walk))).toBe('inside');
      expect(await text(await openFileBeneath(join(work, 'root-link'), at('targets', 'p', '1.0', 'f'), walk))).toBe('inside');
    });
    it('refuses a file under a directory that is a symlink to a real directory elsewhere', async () => {
      expect(await text(await openFileBeneath(root, at('targets', 'q', '1.0', 'f'), walk))).toBe('refused linked-directory at targets/q');
    });
    it('refuses a final symlink, a FIFO (without blocking) and a directory', async () => {
      expect(await text(await openFileBeneath(root, at('targets', 'p', '1.0', 'linked'), walk))).toBe('refused symlink at targets/p/1.0/linked');
      expect(await text(await openFileBeneath(root, at('targets', 'p', '1.0', 'fifo'), walk))).toBe('refused not-regular at targets/p/1.0/fifo');
      expect(await text(await openFileBeneath(root, at('targets', 'p'), walk))).toBe('refused not-regular at targets/p');
    });
    it('says what is absent, and a file where a directory must be', async () => {
      expect(await text(await openFileBeneath(root, at('targets', 'p', '2.0', 'f'), walk))).toBe('refused absent at targets/p/2.0');
      expect(await text(await openFileBeneath(root, at('metadata', 'timestamp.json'), walk))).toBe('refused absent at metadata/timestamp.json');
      expect(await text(await openFileBeneath(join(work, 'none'), at('metadata', 'x'), walk))).toBe('refused absent at ');
      expect(await text(await openFileBeneath(root, at('targets', 'file', 'x'), walk))).toBe('refused not-directory at targets/file');
    });
  });
}

describe('a directory held open (proc-fd)', () => {
  it('keeps naming the directory it opened when its path is swapped for a symlink: the swap is not followed', async () => {
    const held = await openDirectoryBeneath(root, ['targets', 'p', '1.0'], { walk: 'proc-fd' });
    if ('refused' in held) throw new Error(held.refused);
    try {
      // The race a check-then-open loses: after the check, `targets/p` becomes a link elsewhere.
      await rename(join(root, 'targets', 'p'), join(work, 'moved-p'));
      await symlink(join(work, 'elsewhere'), join(root, 'targets', 'p'));
      expect(await readFile(held.name('f'), 'utf8')).toBe('inside');
      expect(await readFile(join(root, 'targets', 'p', '1.0', 'f'), 'utf8')).toBe('outside');
    } finally {
      await held.close();
      await rm(join(root, 'targets', 'p'));
      await rename(join(work, 'moved-p'), join(root, 'targets', 'p'));
    }
  });
});

for (const walk of ['proc-fd', 'lstat'] as BeneathWalk[]) {
  describe(`openDirectoryBeneath with make (${walk})`, () => {
    it('makes the missing directories with the mode asked for, whatever the umask, and names entries in the last', async () => {
      const held = await openDirectoryBeneath(root, ['made', walk, 'deep'], { walk, make: 0o751 });
      if ('refused' in held) throw new Error(held.refused);
      try {
        await writeFile(held.name('f'), 'made');
      } finally {
        await held.close();
      }
      expect((await stat(join(root, 'made', walk))).mode & 0o777).toBe(0o751);
      expect(await readFile(join(root, 'made', walk, 'deep', 'f'), 'utf8')).toBe('made');
    });
    it('makes nothing through a directory that is a symlink', async () => {
      const before = await readdir(join(work, 'elsewhere'));
      expect(await openDirectoryBeneath(root, ['targets', 'q', 'new'], { walk, make: 0o755 })).toEqual({ refused: 'linked-directory', at: 'targets/q' });
      expect(await readdir(join(work, 'elsewhere'))).toEqual(before);
    });
  });
}

describe('segments that are not one plain name', () => {
  // `..` climbs above the root and a `/` inside a segment is resolved by the kernel,
  // following links: both read a file outside the root when passed through.
  it.each<BeneathWalk>(['proc-fd', 'lstat'])('are refused before any open (%s walk)', async (walk) => {
    for (const segments of [['..', 'elsewhere', '1.0', 'f'], ['targets', 'q/1.0', 'f'], ['targets', '', 'f'], ['.', 'targets', 'file'], ['targets', 'p\0', 'f']]) {
      await expect(openFileBeneath(root, segments, walk)).rejects.toThrow(TypeError);
      await expect(openDirectoryBeneath(root, segments.slice(0, -1), { walk })).rejects.toThrow(TypeError);
    }
    await expect(openFileBeneath(root, [], walk)).rejects.toThrow(TypeError);
  });
});
