// Nothing is half-written: every file goes to a temporary name in the same directory
// and is renamed over its final name only when complete and flushed, so a reader (or a
// crash) sees the old file or the new one (python-tuf `_persist_metadata`).
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fromSystemError } from './errors.js';

export interface AtomicWriteOptions {
  /** File mode of the new file, 0o644 unless set; secret files pass 0o600. */
  mode?: number;
}

export function temporaryNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Creates the temporary file through `fill` (which must create it exclusively, write and
 * close it, and may throw to refuse what it wrote), flushes it to disk, then renames it
 * over `path`; on any failure the temporary file is removed. `durable: false` skips the
 * flush, for files whose every reader re-verifies them (a downloaded target): the
 * rename still makes them appear whole or not at all while the system runs.
 */
export async function viaTemporaryFile(path: string, fill: (tmp: string) => Promise<void>, options: { durable?: boolean } = {}): Promise<void> {
  const tmp = temporaryNameFor(path);
  try {
    await mkdir(dirname(path), { recursive: true });
    await fill(tmp);
    if (options.durable ?? true) {
      const fh = await open(tmp, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw fromSystemError(err, `writing ${path}`);
  }
}

export async function writeFileAtomic(path: string, data: Uint8Array | string, options: AtomicWriteOptions = {}): Promise<void> {
  await viaTemporaryFile(path, async (tmp) => {
    // 'wx': created exclusively, never through an existing file or symlink.
    const fh = await open(tmp, 'wx', options.mode ?? 0o644);
    try {
      await fh.writeFile(data);
    } finally {
      await fh.close();
    }
  });
}

/** Streams into a temporary file, then renames it; the stream is never buffered whole. */
export async function writeStreamAtomic(path: string, source: Readable, options: AtomicWriteOptions = {}): Promise<void> {
  await viaTemporaryFile(path, (tmp) => pipeline(source, createWriteStream(tmp, { flags: 'wx', mode: options.mode ?? 0o644 })));
}
