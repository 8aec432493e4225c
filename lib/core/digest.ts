// Streaming digests: files of any size are hashed in constant memory, in one pass for
// several algorithms at once (a release's SHA-256, and the SHA-512 of `<file>.sha512` and
// of older TUF targets).
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { DigestSet } from './digest-set.js';
import { fromSystemError } from './errors.js';
import { readChunks } from './file-chunks.js';

export type HashAlgorithm = 'sha256' | 'sha512';
export type Digests = Record<HashAlgorithm, string>;

export interface HashProgress {
  (bytesDone: number): void;
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha512Hex(data: Uint8Array | string): string {
  return createHash('sha512').update(data).digest('hex');
}

/**
 * Hashes a stream with each algorithm in one pass; returns hex digests and the length.
 * Each chunk is done with before the next is asked for: a source may reuse its memory
 * (file-chunks.ts).
 */
export async function hashStream(
  stream: AsyncIterable<Uint8Array>,
  algorithms: readonly HashAlgorithm[] = ['sha256', 'sha512'],
  onProgress?: HashProgress,
  /** The stream's length if known: a large one hashes on two threads (digest-set.ts). */
  expectedBytes = 0,
): Promise<{ length: number; digests: Partial<Digests> }> {
  const hashes = await DigestSet.open(algorithms, expectedBytes);
  try {
    let length = 0;
    for await (const chunk of stream) {
      await hashes.update(chunk);
      length += chunk.byteLength;
      onProgress?.(length);
    }
    return { length, digests: (await hashes.digests()) as Partial<Digests> };
  } finally {
    hashes.close();
  }
}

/**
 * Hashes an open file from its current position to its end with each algorithm in one
 * pass, reading through two reused buffers (file-chunks.ts). `expectedBytes` as in
 * hashStream.
 */
export function hashOpenFile(
  fh: FileHandle,
  algorithms: readonly HashAlgorithm[],
  expectedBytes = 0,
  onProgress?: HashProgress,
): Promise<{ length: number; digests: Partial<Digests> }> {
  return hashStream(readChunks(fh), algorithms, onProgress, expectedBytes);
}

/** Hashes a file with sha256 and sha512 in constant memory. */
export async function hashFile(path: string, onProgress?: HashProgress): Promise<{ length: number; digests: Digests }> {
  try {
    const fh = await open(path, 'r');
    try {
      const { length, digests } = await hashOpenFile(fh, ['sha256', 'sha512'], (await fh.stat()).size, onProgress);
      return { length, digests: digests as Digests };
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw fromSystemError(err, `hashing ${path}`);
  }
}
