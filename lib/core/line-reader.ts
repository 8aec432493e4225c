// The reader of newline-ended text files that are read whole from the start (spilled
// lists, sorted runs, an import's spill, a host's digest cache; the copy's manifest and
// the audit log, read from an offset, still use node:readline): a file's lines, `\n` only, in constant memory. It reads
// through one buffer of a fixed size, grown only to hold a line longer than it, and never
// reads ahead more than that buffer: a merge holds dozens of these open at once, where
// node:readline would read ahead a thousand lines per file.
import { open, type FileHandle } from 'node:fs/promises';

/** Bytes read at a time: a merge of 64 files holds 1 MiB of buffers. */
export const LINE_READ_BYTES = 16 << 10;

/** What a reader did, for tests that pin its memory: reads made, the largest buffer it held. */
export interface ReadGauge {
  reads: number;
  largestBuffer: number;
}

export interface LineReaderOptions {
  /** Bytes read at a time (default LINE_READ_BYTES). */
  readonly bufferBytes?: number;
  /**
   * A strict reader: every line ends with a newline, and a file cut short in its last line
   * is refused with the error this returns. Without it, that last line is read like the others.
   */
  readonly unterminated?: () => Error;
  /** The error to throw for a system error opening or reading the file (default: that error). */
  readonly systemError?: (err: unknown) => Error;
  readonly gauge?: ReadGauge;
}

/**
 * The lines of `file`, without their newlines. The file is opened on the first `next()` and
 * closed when the lines run out, on an error, and when the consumer stops early (`return()`).
 */
export async function* readLines(file: string, options: LineReaderOptions = {}): AsyncGenerator<string> {
  const size = options.bufferBytes ?? LINE_READ_BYTES;
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError('readLines: bufferBytes below 1');
  const { gauge, systemError = (err: unknown) => err as Error } = options;
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw systemError(err);
  }
  try {
    let buf = Buffer.allocUnsafe(size);
    if (gauge && buf.length > gauge.largestBuffer) gauge.largestBuffer = buf.length;
    let filled = 0;
    for (;;) {
      if (filled === buf.length) {
        // A line longer than the buffer: the only growth, doubling until the line fits (kept for the file's later lines).
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
        if (gauge && buf.length > gauge.largestBuffer) gauge.largestBuffer = buf.length;
      }
      let bytesRead: number;
      try {
        ({ bytesRead } = await fh.read(buf, filled, buf.length - filled, null));
      } catch (err) {
        throw systemError(err);
      }
      if (gauge) gauge.reads++;
      if (bytesRead === 0) {
        if (filled > 0) {
          if (options.unterminated) throw options.unterminated();
          yield buf.toString('utf8', 0, filled);
        }
        return;
      }
      filled += bytesRead;
      let start = 0;
      // A newline byte never occurs inside a multi-byte UTF-8 sequence: each line decodes whole.
      for (let nl = buf.indexOf(10, start); nl >= 0 && nl < filled; nl = buf.indexOf(10, start)) {
        yield buf.toString('utf8', start, nl);
        start = nl + 1;
      }
      buf.copy(buf, 0, start, filled);
      filled -= start;
    }
  } finally {
    await fh.close();
  }
}
