// Reads one file from a source under a byte cap and a minimum rate (TUF's endless-data
// and slow-retrieval attacks). The cap is checked on every chunk, before anything is
// parsed; a transfer that stalls (idle timeout) or trickles (below the minimum rate
// over a window) is cut with E_TIMEOUT. Targets go to a temporary file beside the
// output, hashed while they stream, and are renamed only once verified.
import { open } from 'node:fs/promises';
import { viaTemporaryFile } from '../core/atomic-file.js';
import { DigestSet } from '../core/digest-set.js';
import { AirlockError } from '../core/errors.js';
import { writeAllSync } from '../core/write-all.js';
import type { Limits } from './limits.js';
import type { Source } from './source.js';
import { checkDigests, digestNames, type ExpectedFile } from './target-check.js';

export interface BoundedRequest {
  source: Source;
  path: readonly string[];
  /** The path is already URL-quoted (FetchRequest.quoted). */
  quoted?: boolean;
  /** Most bytes accepted. */
  maxBytes: number;
  /** True when maxBytes is a length from trusted metadata (over it: E_LENGTH), false for a default cap (E_TOO_LARGE). */
  trustedLength: boolean;
  limits: Pick<Limits, 'idleTimeoutMs' | 'minBytesPerSecond' | 'rateWindowMs'>;
  /** Told the bytes received so far after each chunk (a progress line). */
  onBytes?: (received: number) => void;
  /** `onChunk` is done with each chunk when its promise settles: the source may reuse the memory (FetchRequest). */
  transientChunks?: boolean;
}

/** A target is written (and hashed) in pieces of this size. */
const WRITE_BYTES = 1 << 20;

const TIMER = Symbol('timer');
const MAX_TIMER_MS = 2 ** 31 - 1;

function sleep(ms: number): { promise: Promise<typeof TIMER>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<typeof TIMER>((res) => {
    // setTimeout takes at most 2^31-1 ms and turns anything longer into 1 ms (with a
    // warning): a long --idle-timeout would spin. Waking early is harmless, the loop re-arms.
    timer = setTimeout(() => res(TIMER), Math.min(Math.max(0, ms), MAX_TIMER_MS));
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

function where(req: BoundedRequest): string {
  return `${req.path.join('/')} from ${req.source.name}`;
}

/** Streams the file's chunks to `onChunk`, enforcing the cap, the idle timeout and the minimum rate. */
export async function pumpBounded(req: BoundedRequest, onChunk: (chunk: Uint8Array) => void | Promise<void>): Promise<number> {
  const controller = new AbortController();
  const it = req.source.fetch({ path: req.path, quoted: req.quoted, signal: controller.signal, maxBytes: req.maxBytes, transientChunks: req.transientChunks })[Symbol.asyncIterator]();
  const { idleTimeoutMs, minBytesPerSecond, rateWindowMs } = req.limits;
  let total = 0;
  let windowStart = Date.now();
  let windowBytes = 0;
  let lastByte = Date.now();
  const tooSlow = (): AirlockError =>
    new AirlockError('E_TIMEOUT', `${where(req)}: fewer than ${minBytesPerSecond} bytes/s for ${rateWindowMs} ms (slow retrieval); try another mirror`);
  /** At a window's end: refuse a trickle, else start a new window. */
  const closeWindowIfDue = (now: number): void => {
    if (rateWindowMs <= 0 || now - windowStart < rateWindowMs) return;
    if ((windowBytes * 1000) / (now - windowStart) < minBytesPerSecond) throw tooSlow();
    windowStart = now;
    windowBytes = 0;
  };
  try {
    for (;;) {
      const next = it.next();
      // Settled later or never: a rejection after we gave up must not go unhandled.
      next.catch(() => undefined);
      let result: IteratorResult<Uint8Array>;
      for (;;) {
        const now = Date.now();
        const idleLeft = lastByte + idleTimeoutMs - now;
        const windowLeft = rateWindowMs > 0 ? windowStart + rateWindowMs - now : Number.POSITIVE_INFINITY;
        const timer = sleep(Math.min(idleLeft, windowLeft));
        let r: IteratorResult<Uint8Array> | typeof TIMER;
        try {
          r = await Promise.race([next, timer.promise]);
        } finally {
          timer.cancel();
        }
        if (r !== TIMER) {
          result = r;
          break;
        }
        const at = Date.now();
        if (at - lastByte >= idleTimeoutMs) {
          throw new AirlockError('E_TIMEOUT', `${where(req)}: no data for ${idleTimeoutMs} ms; the host stalls, try again or another mirror`);
        }
        closeWindowIfDue(at);
      }
      if (result.done) return total;
      const chunk = result.value;
      total += chunk.length;
      if (total > req.maxBytes) {
        throw req.trustedLength
          ? new AirlockError('E_LENGTH', `${where(req)}: more than the ${req.maxBytes} bytes its signed metadata gives (endless data); do not use this host's data`)
          : new AirlockError('E_TOO_LARGE', `${where(req)}: more than ${req.maxBytes} bytes, the cap for this kind of file (endless data); try another mirror`);
      }
      windowBytes += chunk.length;
      lastByte = Date.now();
      closeWindowIfDue(lastByte);
      await onChunk(chunk);
      req.onBytes?.(total);
    }
  } finally {
    controller.abort();
    await it.return?.().catch(() => undefined);
  }
}

/** Reads a whole (small) file under the caps: metadata. */
export async function fetchBytes(req: BoundedRequest): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  await pumpBounded(req, (c) => {
    chunks.push(c);
  });
  return new Uint8Array(Buffer.concat(chunks));
}

/**
 * Downloads a target to `outPath`: streamed into a temporary file beside it, hashed on
 * the way, checked against the expected length and every listed hash, then renamed —
 * or, unless `replace`, linked (link(2) never replaces a name, so a file that appeared
 * at `outPath` while the bytes streamed is left alone: E_OUTPUT_EXISTS). On any failure
 * the temporary file is removed; nothing partial ever carries the output name.
 */
export async function fetchTargetToFile(req: BoundedRequest, expected: ExpectedFile, outPath: string, replace = false): Promise<void> {
  const algorithms = digestNames(expected);
  // Every digest on a worker for a large target: this thread reads and writes the bytes.
  const hashes = await DigestSet.open(
    algorithms.map((a) => a.node),
    expected.length ?? 0,
    { offThread: true },
  );
  try {
    await viaTemporaryFile(outPath, async (tmp) => {
      // A file handle, not a write stream: a failed write (a full disk) is a rejected
      // promise here, never an 'error' event nobody listens to.
      const out = await open(tmp, 'wx', 0o644);
      try {
        // Three things at once: the source reads the next MiB while this thread writes
        // this one and the hash workers hash it. Written here, not in the thread pool:
        // a verified 1 GiB download is the hash's time or the page cache's, whichever is
        // longer, not their sum, and not 4,096 hand-offs to the pool either (write-all.ts).
        // The bytes go to the hash workers (copied into their ring) before they are
        // written, and are not reused before both are done with them.
        const pass = async (bytes: Uint8Array): Promise<void> => {
          await hashes.update(bytes);
          writeAllSync(out.fd, bytes);
        };
        // An http body arrives in pieces of ~64 KiB: they are gathered into one reused
        // buffer, so a MiB costs one write and one hash call, not sixteen of each.
        const gathered = Buffer.allocUnsafe(WRITE_BYTES);
        let held = 0;
        const length = await pumpBounded({ ...req, transientChunks: true }, async (chunk) => {
          if (held === 0 && chunk.byteLength >= WRITE_BYTES / 2) return pass(chunk);
          for (let offset = 0; offset < chunk.byteLength; ) {
            const n = Math.min(WRITE_BYTES - held, chunk.byteLength - offset);
            gathered.set(chunk.subarray(offset, offset + n), held);
            held += n;
            offset += n;
            if (held === WRITE_BYTES) {
              await pass(gathered);
              held = 0;
            }
          }
        });
        if (held > 0) await pass(gathered.subarray(0, held));
        const digests = await hashes.digests();
        // Refused bytes never reach the output name: the check throws before the rename.
        checkDigests(expected, length, Object.fromEntries(algorithms.map((a) => [a.listed, digests[a.node]!])), where(req));
      } finally {
        await out.close();
      }
      // Not flushed to disk before the rename: waiting for the disk made a 1 GiB
      // download several times slower than `openssl dgst` + `cp`, and durability buys
      // no safety here — `download` skips a file only after re-verifying its length and
      // hashes, and `check` re-verifies, so a file damaged by a power loss is fetched again.
    }, { durable: false, replace, checkThenRename: true });
  } catch (err) {
    if (err instanceof AirlockError && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'EEXIST') throw outputExists(outPath, err);
    throw err;
  } finally {
    hashes.close();
  }
}

/** The output name holds a file that is not the target (it may have appeared mid-download): never replaced without being told to. */
export function outputExists(outPath: string, cause?: unknown): AirlockError {
  return new AirlockError('E_OUTPUT_EXISTS', `${outPath} exists and is not the target; move it away, choose another name, or replace it (--force)`, { cause, details: { path: outPath } });
}
