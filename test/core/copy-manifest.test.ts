// walkCopy: every file of a copy hashed, a hard-linked file read once while the walk
// remembers it — and the same digests once it remembers none (a bounded walk at 1M).
import { createHash } from 'node:crypto';
import { link, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { walkCopy, type ManifestEntry, type WalkGauge } from '../../lib/core/copy-manifest.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-walk-copy-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function put(path: string, bytes: string): Promise<void> {
  await mkdir(dirname(join(dir, path)), { recursive: true });
  await writeFile(join(dir, path), bytes);
}

async function walked(remember?: number, gauge?: WalkGauge): Promise<ManifestEntry[]> {
  const out: ManifestEntry[] = [];
  for await (const e of walkCopy(dir, { ...(remember === undefined ? {} : { remember }), ...(gauge ? { gauge } : {}) })) out.push(e);
  return out;
}

describe('walkCopy', () => {
  it('gives every name of a hard-linked file its digest, however few files it remembers', async () => {
    const names: string[] = [];
    for (let i = 0; i < 5; i++) {
      const release = `releases/p/1.${i}/file-${i}.bin`;
      await put(release, `bytes of file ${i}\n`);
      const sha = createHash('sha256').update(`bytes of file ${i}\n`).digest('hex');
      const target = `targets/p/1.${i}/${sha}.file-${i}.bin`;
      await mkdir(dirname(join(dir, target)), { recursive: true });
      await link(join(dir, release), join(dir, target));
      names.push(release, target);
    }
    // A third name the copy does not walk (a backup's): its inode stays at nlink 3.
    await link(join(dir, 'releases/p/1.0/file-0.bin'), join(dir, '.backup'));
    await put('metadata/timestamp.json', '{}');

    const full = await walked();
    expect(full.map((e) => e.path).sort()).toEqual([...names, 'metadata/timestamp.json'].sort());
    for (const e of full) {
      const bytes = await readFile(join(dir, e.path));
      expect([e.path, e.length, e.sha256]).toEqual([e.path, bytes.length, createHash('sha256').update(bytes).digest('hex')]);
    }
    expect(await walked(1)).toEqual(full);
    expect(await walked(0)).toEqual(full);
  });

  it('reads a hard-linked file once while it remembers it, and never holds more than it may', async () => {
    for (let i = 0; i < 5; i++) {
      const release = `releases/p/1.${i}/file-${i}.bin`;
      await put(release, `bytes of file ${i}\n`);
      await mkdir(join(dir, `targets/p/1.${i}`), { recursive: true });
      await link(join(dir, release), join(dir, `targets/p/1.${i}/${i}.file-${i}.bin`));
    }
    await put('metadata/timestamp.json', '{}');
    // releases/ is walked before targets/: all five pairs are open at once.
    const all: WalkGauge = { hashed: 0, mostRemembered: 0 };
    await walked(undefined, all);
    expect(all).toEqual({ hashed: 6, mostRemembered: 5 });
    // Remembering two: the other three are read again under their second name.
    const two: WalkGauge = { hashed: 0, mostRemembered: 0 };
    expect(await walked(2, two)).toEqual(await walked());
    expect(two).toEqual({ hashed: 9, mostRemembered: 2 });
  });
});
