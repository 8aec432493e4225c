import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DigestSet, PARALLEL_DIGEST_MIN_BYTES } from '../../lib/core/digest-set.js';

function reference(data: Uint8Array, algorithms: string[]): Record<string, string> {
  return Object.fromEntries(algorithms.map((a) => [a, createHash(a).update(data).digest('hex')]));
}

async function digestInChunks(data: Uint8Array, algorithms: string[], expectedBytes: number, chunk: number): Promise<Record<string, string>> {
  const set = await DigestSet.open(algorithms, expectedBytes);
  try {
    for (let i = 0; i < data.length; i += chunk) await set.update(data.subarray(i, i + chunk));
    return await set.digests();
  } finally {
    set.close();
  }
}

describe('DigestSet', () => {
  it('computes every algorithm on one thread for small inputs', async () => {
    const data = randomBytes(300_001);
    expect(await digestInChunks(data, ['sha256', 'sha512'], data.length, 65_536)).toEqual(reference(data, ['sha256', 'sha512']));
  });

  it('computes the same digests when the later algorithms run on a worker (uneven chunks, views into larger buffers)', async () => {
    const backing = randomBytes(PARALLEL_DIGEST_MIN_BYTES + 5_000_123);
    const data = backing.subarray(7, backing.length - 11);
    const algorithms = ['sha256', 'sha512', 'sha384'];
    expect(await digestInChunks(data, algorithms, data.length, 999_983)).toEqual(reference(data, algorithms));
  });

  it('gives the digests of an empty input', async () => {
    expect(await digestInChunks(new Uint8Array(0), ['sha256', 'sha512'], PARALLEL_DIGEST_MIN_BYTES, 1)).toEqual(reference(new Uint8Array(0), ['sha256', 'sha512']));
  });

  it('refuses an algorithm node:crypto does not know before any worker starts', async () => {
    await expect(DigestSet.open(['sha256', 'no-such-hash'], PARALLEL_DIGEST_MIN_BYTES)).rejects.toThrow();
  });
});
