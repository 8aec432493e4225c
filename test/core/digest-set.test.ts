import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DigestSet, PARALLEL_DIGEST_MIN_BYTES } from '../../lib/core/digest-set.js';

function reference(data: Uint8Array, algorithms: string[]): Record<string, string> {
  return Object.fromEntries(algorithms.map((a) => [a, createHash(a).update(data).digest('hex')]));
}

async function digestInChunks(data: Uint8Array, algorithms: string[], expectedBytes: number, chunk: number, offThread = false): Promise<Record<string, string>> {
  const set = await DigestSet.open(algorithms, expectedBytes, { offThread });
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

  it('computes every algorithm on workers when asked to keep this thread free (a download writes on it), one algorithm alone too', async () => {
    const data = randomBytes(PARALLEL_DIGEST_MIN_BYTES + 1_234_567);
    expect(await digestInChunks(data, ['sha256'], data.length, 1 << 20, true)).toEqual(reference(data, ['sha256']));
    expect(await digestInChunks(data, ['sha256', 'sha512'], data.length, 65_537, true)).toEqual(reference(data, ['sha256', 'sha512']));
  });

  it('keeps no state on this thread when every algorithm is on a worker, and one when the input is small', async () => {
    const large = await DigestSet.open(['sha256'], PARALLEL_DIGEST_MIN_BYTES, { offThread: true });
    const small = await DigestSet.open(['sha256'], PARALLEL_DIGEST_MIN_BYTES - 1, { offThread: true });
    try {
      expect(() => large.state('sha256')).toThrow(TypeError);
      await small.update(Buffer.from('abc'));
      expect(small.state('sha256').digest('hex')).toBe(createHash('sha256').update('abc').digest('hex'));
    } finally {
      large.close();
      small.close();
    }
  });

  it('gives the digests of an empty input', async () => {
    expect(await digestInChunks(new Uint8Array(0), ['sha256', 'sha512'], PARALLEL_DIGEST_MIN_BYTES, 1)).toEqual(reference(new Uint8Array(0), ['sha256', 'sha512']));
  });

  it('refuses an algorithm node:crypto does not know before any worker starts', async () => {
    await expect(DigestSet.open(['sha256', 'no-such-hash'], PARALLEL_DIGEST_MIN_BYTES)).rejects.toThrow();
  });
});

describe('DigestSet with workers: the shared ring', () => {
  const algorithms = ['sha256', 'sha512', 'blake2b512'];

  it('gathers small and odd-sized chunks into slots', async () => {
    const data = randomBytes(PARALLEL_DIGEST_MIN_BYTES + 777_777);
    const set = await DigestSet.open(algorithms, data.length);
    try {
      const sizes = [1, 65_536, 3, 1_048_576, 131_071, 2_000_000];
      for (let i = 0, k = 0; i < data.length; k++) {
        const n = sizes[k % sizes.length]!;
        await set.update(data.subarray(i, i + n));
        i += n;
      }
      expect(await set.digests()).toEqual(reference(data, algorithms));
    } finally {
      set.close();
    }
  });

  it('takes a chunk larger than the whole ring, and a buffer the caller refills as soon as update settles', async () => {
    const whole = randomBytes(PARALLEL_DIGEST_MIN_BYTES + 9_000_001);
    expect(await digestInChunks(whole, algorithms, whole.length, whole.length)).toEqual(reference(whole, algorithms));
    // One buffer reused for every chunk: a set that copied after update settled would hash later bytes.
    const parts: Buffer[] = [];
    const buf = Buffer.alloc(3 * (1 << 20) + 5);
    const set = await DigestSet.open(algorithms, PARALLEL_DIGEST_MIN_BYTES);
    try {
      for (let i = 0; i < 14; i++) {
        randomBytes(buf.length).copy(buf);
        parts.push(Buffer.from(buf));
        await set.update(buf);
      }
      expect(await set.digests()).toEqual(reference(Buffer.concat(parts), algorithms));
    } finally {
      set.close();
    }
  });
});
