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

export async function writeFileAtomic(path: string, data: Uint8Array | string, options: AtomicWriteOptions = {}): Promise<void> {
  const tmp = temporaryNameFor(path);
  try {
    await mkdir(dirname(path), { recursive: true });
    // 'wx': created exclusively, never through an existing file or symlink.
    const fh = await open(tmp, 'wx', options.mode ?? 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw fromSystemError(err, `writing ${path}`);
  }
}

/** Streams into a temporary file, then renames it; the stream is never buffered whole. */
export async function writeStreamAtomic(path: string, source: Readable, options: AtomicWriteOptions = {}): Promise<void> {
  const tmp = temporaryNameFor(path);
  try {
    await mkdir(dirname(path), { recursive: true });
    await pipeline(source, createWriteStream(tmp, { flags: 'wx', mode: options.mode ?? 0o644 }));
    const fh = await open(tmp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw fromSystemError(err, `writing ${path}`);
  }
}
