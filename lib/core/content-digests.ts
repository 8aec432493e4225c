// Everything a release signs about one file's bytes, from ONE read of them: SHA-256 and
// SHA-512 (TUF target hashes, SHA256SUMS, `<file>.sha512`, the digest an SSHSIG covers),
// BLAKE2b-512 (minisign's prehash) and the SHA-256 state after the bytes (an OpenPGP
// signature hashes its own trailer after the document, RFC 4880 §5.2.4, so it needs the
// state, not the digest). The build computes them while it copies an artifact out of the
// output directory; from then on no signer reads the file again (a 1 GiB artifact was
// read four times on the way to its signatures).
import type { Hash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { DigestSet } from './digest-set.js';
import { AirlockError, fromSystemError } from './errors.js';
import { readChunks } from './file-chunks.js';
import { openRegularFile } from './regular-file.js';
import { writeAll } from './write-all.js';

/** SHA-256 first: the one whose state stays on this thread (digest-set.ts). */
const ALGORITHMS = ['sha256', 'sha512', 'blake2b512'] as const;
/** Read size; two buffers of it are reused for the whole file (no garbage per MiB). */
export const READ_CHUNK = 1 << 20;

export interface ContentDigests {
  length: number;
  /** Lower-case hex. */
  sha256: string;
  sha512: string;
  blake2b512: string;
  /** A fresh SHA-256 that has seen exactly the content bytes, to extend and finish. */
  sha256State(): Hash;
}

/** Hashes one stream of bytes for every release format; `update` each chunk in order, then `finish`. */
export class ContentHasher {
  readonly #set: DigestSet;
  #length = 0;

  private constructor(set: DigestSet) {
    this.#set = set;
  }

  /** `expectedBytes` decides whether the hashes run on worker threads (large files). */
  static async open(expectedBytes: number): Promise<ContentHasher> {
    return new ContentHasher(await DigestSet.open(ALGORITHMS, expectedBytes));
  }

  /** The chunk's bytes must stay unchanged until the returned promise settles (hash workers may still read them); with no promise, they are consumed. */
  update(chunk: Uint8Array): Promise<void> | undefined {
    this.#length += chunk.byteLength;
    return this.#set.update(chunk);
  }

  get length(): number {
    return this.#length;
  }

  async finish(): Promise<ContentDigests> {
    const d = await this.#set.digests();
    const set = this.#set;
    return { length: this.#length, sha256: d.sha256!, sha512: d.sha512!, blake2b512: d.blake2b512!, sha256State: () => set.state('sha256') };
  }

  /** Ends the worker threads; the finished digests and `sha256State` stay usable. */
  close(): void {
    this.#set.close();
  }
}

/** The digests of bytes in memory (small files: the provenance). */
export async function contentDigestsOf(bytes: Uint8Array): Promise<ContentDigests> {
  const hasher = await ContentHasher.open(bytes.byteLength);
  try {
    await hasher.update(bytes);
    return await hasher.finish();
  } finally {
    hasher.close();
  }
}

/**
 * Reads `source` to its end once, hashing each chunk; `each` gets the chunk too (a copy
 * writes it) while the worker threads hash theirs, so the two overlap.
 */
async function onePass(source: FileHandle, size: number, each?: (chunk: Buffer) => Promise<void>, onProgress?: (bytes: number) => void): Promise<ContentDigests> {
  const hasher = await ContentHasher.open(size);
  try {
    // Two buffers, reused (file-chunks.ts): the next read runs on the thread pool while
    // this thread hashes (and `each` writes) the chunk just read.
    for await (const chunk of readChunks(source, READ_CHUNK)) {
      // Both settle before the loop asks for the next chunk, which reuses a buffer.
      const done = await Promise.allSettled([(async () => hasher.update(chunk))(), each?.(chunk)]);
      for (const r of done) if (r.status === 'rejected') throw r.reason;
      onProgress?.(hasher.length);
    }
    return await hasher.finish();
  } finally {
    hasher.close();
  }
}

/**
 * Reads a regular file once (never through a symlink) and returns its digests;
 * `onProgress` gets the bytes read so far.
 */
export async function readContentDigests(path: string, onProgress?: (bytes: number) => void): Promise<ContentDigests> {
  let opened;
  try {
    opened = await openRegularFile(path);
  } catch (err) {
    throw fromSystemError(err, `reading ${path}`);
  }
  if ('refused' in opened) throw new AirlockError('E_IO', `${path} is ${opened.refused === 'absent' ? 'missing' : 'not a regular file'}; it must be the file the release signs`, { details: { path } });
  try {
    return await onePass(opened.fh, opened.st.size, undefined, onProgress);
  } catch (err) {
    throw fromSystemError(err, `reading ${path}`);
  } finally {
    await opened.fh.close();
  }
}

/**
 * Copies an open file into a new file `dest` (never replacing one, never through a
 * symlink) and hashes the bytes as they pass: one read for the copy and every digest.
 * `sync` flushes the copy before returning. The caller closes `source`.
 */
export async function copyWithContentDigests(source: FileHandle, size: number, dest: string, opts: { mode?: number; sync?: boolean; onProgress?: (bytes: number) => void } = {}): Promise<ContentDigests> {
  const out = await open(dest, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, opts.mode ?? 0o644);
  try {
    const digests = await onePass(
      source,
      size,
      (chunk) => writeAll(out, chunk),
      opts.onProgress,
    );
    if (opts.sync) await out.sync();
    return digests;
  } finally {
    await out.close();
  }
}
