import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashFile, hashStream, sha256Hex } from '../../lib/core/digest.js';
import { AirlockError } from '../../lib/core/errors.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-digest-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('streaming digests', () => {
  it('hashes a multi-chunk file with sha256 and sha512 in one pass, reporting progress', async () => {
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 0x5a);
    const path = join(dir, 'big');
    await writeFile(path, data);
    const seen: number[] = [];
    const r = await hashFile(path, (n) => seen.push(n));
    expect(r.length).toBe(data.length);
    expect(r.digests.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    expect(r.digests.sha512).toBe(createHash('sha512').update(data).digest('hex'));
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.at(-1)).toBe(data.length);
  });

  it('matches the known SHA-256 of "abc"', async () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const r = await hashStream(Readable.from([Buffer.from('a'), Buffer.from('bc')]), ['sha256']);
    expect(r.digests.sha256).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('turns a missing file into E_IO, not a raw system error', async () => {
    await expect(hashFile(join(dir, 'missing'))).rejects.toSatisfy((e) => e instanceof AirlockError && e.code === 'E_IO');
  });
});
