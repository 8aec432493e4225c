// Reading a file someone else may have planted: only a regular file, never through a
// symlink (O_NOFOLLOW), never blocking on a FIFO (O_NONBLOCK, then fstat refuses it),
// and never more than a named cap, checked before and while reading — a /dev/zero, a
// FIFO or a huge file cannot hang the command or exhaust memory. Callers turn a
// refusal into their own error code and message (a host, a key file, a root proposal).
import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

export type FileRefusal = 'absent' | 'symlink' | 'not-regular' | 'too-large';

export interface ReadOptions {
  /** Follow a symlink as the last component: only for a path the user typed themselves. */
  followSymlink?: boolean;
}

/**
 * Opens a regular file for reading. Returns the open handle and its fstat (the caller
 * closes it), or why it was refused. Other failures (EACCES, EIO …) are thrown as is.
 */
export async function openRegularFile(path: string, options: ReadOptions = {}): Promise<{ fh: FileHandle; st: Stats } | { refused: Exclude<FileRefusal, 'too-large'> }> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | (options.followSymlink ? 0 : constants.O_NOFOLLOW));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { refused: 'absent' };
    if (code === 'ELOOP') return { refused: 'symlink' };
    // O_NONBLOCK on a FIFO without a writer still opens; on a socket it is ENXIO.
    if (code === 'ENXIO') return { refused: 'not-regular' };
    throw err;
  }
  let st: Stats;
  try {
    st = await fh.stat();
  } catch (err) {
    await fh.close();
    throw err;
  }
  if (!st.isFile()) {
    await fh.close();
    return { refused: 'not-regular' };
  }
  return { fh, st };
}

/** Reads a whole regular file of at most `maxBytes`, or says why not (see openRegularFile). */
export async function readRegularFile(path: string, maxBytes: number, options: ReadOptions = {}): Promise<{ bytes: Uint8Array; st: Stats } | { refused: FileRefusal }> {
  const opened = await openRegularFile(path, options);
  if ('refused' in opened) return opened;
  return readOpenedFile(opened, maxBytes);
}

/** Reads the whole of an opened regular file (openRegularFile, lib/core/path-beneath.ts) of at most `maxBytes`, and closes it. */
export async function readOpenedFile({ fh, st }: { fh: FileHandle; st: Stats }, maxBytes: number): Promise<{ bytes: Uint8Array; st: Stats } | { refused: 'too-large' }> {
  try {
    if (st.size > maxBytes) return { refused: 'too-large' };
    // The file may grow after fstat: the buffer grows up to one byte past the cap.
    let buf = Buffer.alloc(Math.min(maxBytes, st.size) + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (n > maxBytes) return { refused: 'too-large' };
        const bigger = Buffer.alloc(Math.min(maxBytes + 1, buf.length * 2));
        buf.copy(bigger, 0, 0, n);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (n > maxBytes) return { refused: 'too-large' };
    return { bytes: new Uint8Array(buf.buffer, buf.byteOffset, n), st };
  } finally {
    await fh.close();
  }
}
