// Several digests of one byte stream, computed in one pass. TUF targets list sha256 and
// sha512, and a release adds BLAKE2b-512 (minisign): SHA-512 and BLAKE2b cost about 1.5×
// and 1.2× SHA-256 (which has CPU instructions of its own), so on one thread checking
// them made a verified download 2–3× the time of `openssl dgst -sha256`. For large
// inputs the first algorithm runs on the calling thread and each other one on a worker
// thread of its own, so the hashes overlap with each other and with the I/O (on two
// cores three threads still beat two: the longest hash, not their sum, sets the pace).
// Each worker is fed copies of the chunks and acknowledges each, and `update` waits
// while more than a bounded number of bytes are unacknowledged: memory stays constant
// however large the input is.
import { createHash, type Hash } from 'node:crypto';

/** Below this many bytes a worker costs more than it saves. */
export const PARALLEL_DIGEST_MIN_BYTES = 32 * 1024 * 1024;
/** Most bytes handed to one worker and not yet hashed there (each worker holds up to this much: peak RSS). */
const MAX_IN_FLIGHT = 8 * 1024 * 1024;

// An ES module the worker loads from a data: URL: no file beside the one-file verifier
// bundle to ship or find, and only node: built-ins.
const WORKER_SOURCE = `
import { parentPort, workerData } from 'node:worker_threads';
import { createHash } from 'node:crypto';
const hashes = workerData.map((a) => createHash(a));
parentPort.on('message', (chunk) => {
  if (chunk === null) {
    parentPort.postMessage({ digests: hashes.map((h) => h.digest('hex')) });
    return;
  }
  for (const h of hashes) h.update(chunk);
  parentPort.postMessage(chunk.byteLength);
});
`;

interface WorkerLike {
  postMessage(value: unknown, transfer?: readonly ArrayBuffer[]): void;
  on(event: 'message', listener: (value: unknown) => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
  terminate(): Promise<number>;
}

/** One worker thread and the bytes it has not acknowledged yet. */
interface DigestWorker {
  worker: WorkerLike;
  algorithms: readonly string[];
  inFlight: number;
  result?: (digests: string[]) => void;
}

/**
 * Digests of one stream under several node:crypto algorithm names. Feed it with
 * `await set.update(chunk)` (the await only waits when a worker is behind), then
 * `await set.digests()`; `close()` on every path (it ends the workers).
 */
export class DigestSet {
  readonly #algorithms: readonly string[];
  readonly #inline: Hash[];
  readonly #workers: DigestWorker[];
  #failure: Error | undefined;
  #waiting: (() => void) | undefined;

  private constructor(algorithms: readonly string[], workers: DigestWorker[]) {
    this.#algorithms = algorithms;
    this.#workers = workers;
    this.#inline = algorithms.slice(0, algorithms.length - workers.length).map((a) => createHash(a));
    for (const w of workers) {
      w.worker.on('message', (m) => {
        if (typeof m === 'number') {
          w.inFlight -= m;
          if (w.inFlight <= MAX_IN_FLIGHT / 2) this.#wake();
        } else {
          w.result?.((m as { digests: string[] }).digests);
        }
      });
      w.worker.on('error', (err) => {
        this.#failure = err;
        this.#wake();
        w.result?.([]);
      });
    }
  }

  /**
   * A digest set for `algorithms` (node:crypto names; unknown ones throw as createHash
   * does). `expectedBytes` decides whether workers are worth starting; the first
   * algorithm always runs on the calling thread (see `state`).
   */
  static async open(algorithms: readonly string[], expectedBytes: number): Promise<DigestSet> {
    for (const a of algorithms) createHash(a); // an unknown name fails here, not in a worker
    if (algorithms.length < 2 || expectedBytes < PARALLEL_DIGEST_MIN_BYTES) return new DigestSet(algorithms, []);
    // Loaded only here: most runs hash small files and never pay for worker_threads.
    const { Worker } = await import('node:worker_threads');
    const url = new URL(`data:text/javascript,${encodeURIComponent(WORKER_SOURCE)}`);
    const workers = algorithms.slice(1).map((a) => ({ worker: new Worker(url, { workerData: [a] }) as WorkerLike, algorithms: [a], inFlight: 0 }));
    return new DigestSet(algorithms, workers);
  }

  #wake(): void {
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.();
  }

  #check(): void {
    if (this.#failure) throw this.#failure;
  }

  update(chunk: Uint8Array): Promise<void> | undefined {
    this.#check();
    for (const h of this.#inline) h.update(chunk);
    if (this.#workers.length === 0 || chunk.byteLength === 0) return undefined;
    for (const w of this.#workers) {
      // A copy of just these bytes (a Buffer may view a larger pool), moved, not cloned;
      // allocUnsafeSlow: a buffer of its own, not zero-filled first (set is a memcpy).
      const copy = Buffer.allocUnsafeSlow(chunk.byteLength);
      copy.set(chunk);
      w.inFlight += copy.byteLength;
      w.worker.postMessage(copy, [copy.buffer]);
    }
    if (this.#workers.every((w) => w.inFlight <= MAX_IN_FLIGHT)) return undefined;
    return this.#behind();
  }

  /** Waits until no worker holds more than the bound (each acknowledgement re-checks). */
  async #behind(): Promise<void> {
    while (this.#workers.some((w) => w.inFlight > MAX_IN_FLIGHT)) {
      await new Promise<void>((resolve) => {
        this.#waiting = resolve;
      });
      this.#check();
    }
  }

  /**
   * A copy of the running state of `algorithm`, which must be the first one (the only
   * one always on this thread): it can be extended and finished without touching the
   * set — an OpenPGP signature hashes its own trailer after the document (RFC 4880 §5.2.4).
   */
  state(algorithm: string): Hash {
    if (algorithm !== this.#algorithms[0]) throw new TypeError(`only the first algorithm (${this.#algorithms[0]}) has a state on this thread`);
    return this.#inline[0]!.copy();
  }

  /** The hex digest of each algorithm, by the name it was opened with. Callable once; `state` stays usable. */
  async digests(): Promise<Record<string, string>> {
    this.#check();
    const out: Record<string, string> = {};
    this.#inline.forEach((h, i) => (out[this.#algorithms[i]!] = h.copy().digest('hex')));
    const inline = this.#inline.length;
    const rest = await Promise.all(
      this.#workers.map(
        (w) =>
          new Promise<string[]>((resolve) => {
            w.result = resolve;
            w.worker.postMessage(null);
          }),
      ),
    );
    this.#check();
    rest.flat().forEach((d, i) => (out[this.#algorithms[inline + i]!] = d));
    return out;
  }

  close(): void {
    for (const w of this.#workers) void w.worker.terminate();
  }
}
