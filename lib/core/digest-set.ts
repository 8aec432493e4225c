// Several digests of one byte stream, computed in one pass. TUF targets list sha256 and
// sha512, and SHA-512 costs about twice SHA-256 (which has CPU instructions of its own):
// on one thread, checking both made a verified download 2–3× the time of
// `openssl dgst -sha256`. For large inputs the first algorithm runs on the calling
// thread and the others on one worker thread, so on two cores the hashes overlap with
// each other and with the I/O. The worker is fed copies of the chunks and acknowledges
// each, and `update` waits while more than a bounded number of bytes are unacknowledged:
// memory stays constant however large the input is.
import { createHash, type Hash } from 'node:crypto';

/** Below this many bytes a worker costs more than it saves. */
export const PARALLEL_DIGEST_MIN_BYTES = 32 * 1024 * 1024;
/** Most bytes handed to the worker and not yet hashed there. */
const MAX_IN_FLIGHT = 16 * 1024 * 1024;

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

/**
 * Digests of one stream under several node:crypto algorithm names. Feed it with
 * `await set.update(chunk)` (the await only waits when the worker is behind), then
 * `await set.digests()`; `close()` on every path (it ends the worker if one runs).
 */
export class DigestSet {
  readonly #algorithms: readonly string[];
  readonly #inline: Hash[];
  readonly #worker: WorkerLike | undefined;
  #inFlight = 0;
  #failure: Error | undefined;
  #waiting: (() => void) | undefined;
  #result: ((digests: string[]) => void) | undefined;

  private constructor(algorithms: readonly string[], worker: WorkerLike | undefined) {
    this.#algorithms = algorithms;
    this.#worker = worker;
    this.#inline = (worker ? algorithms.slice(0, 1) : algorithms).map((a) => createHash(a));
    worker?.on('message', (m) => {
      if (typeof m === 'number') {
        this.#inFlight -= m;
        if (this.#inFlight <= MAX_IN_FLIGHT / 2) this.#wake();
      } else {
        this.#result?.((m as { digests: string[] }).digests);
      }
    });
    worker?.on('error', (err) => {
      this.#failure = err;
      this.#wake();
      this.#result?.([]);
    });
  }

  /**
   * A digest set for `algorithms` (node:crypto names; unknown ones throw as createHash
   * does). `expectedBytes` decides whether a worker is worth starting.
   */
  static async open(algorithms: readonly string[], expectedBytes: number): Promise<DigestSet> {
    for (const a of algorithms) createHash(a); // an unknown name fails here, not in the worker
    if (algorithms.length < 2 || expectedBytes < PARALLEL_DIGEST_MIN_BYTES) return new DigestSet(algorithms, undefined);
    // Loaded only here: most runs hash small files and never pay for worker_threads.
    const { Worker } = await import('node:worker_threads');
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(WORKER_SOURCE)}`), { workerData: algorithms.slice(1) });
    return new DigestSet(algorithms, worker);
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
    if (!this.#worker || chunk.byteLength === 0) return undefined;
    // A copy of just these bytes (a Buffer may view a larger pool), moved, not cloned.
    const copy = new Uint8Array(chunk.byteLength);
    copy.set(chunk); // a memcpy; the Uint8Array(chunk) constructor copies element by element
    this.#inFlight += copy.byteLength;
    this.#worker.postMessage(copy, [copy.buffer]);
    if (this.#inFlight <= MAX_IN_FLIGHT) return undefined;
    return new Promise<void>((resolve) => {
      this.#waiting = resolve;
    }).then(() => this.#check());
  }

  /** The hex digest of each algorithm, by the name it was opened with. */
  async digests(): Promise<Record<string, string>> {
    this.#check();
    const out: Record<string, string> = {};
    this.#inline.forEach((h, i) => (out[this.#algorithms[i]!] = h.digest('hex')));
    if (this.#worker) {
      const rest = await new Promise<string[]>((resolve) => {
        this.#result = resolve;
        this.#worker!.postMessage(null);
      });
      this.#check();
      rest.forEach((d, i) => (out[this.#algorithms[i + 1]!] = d));
    }
    return out;
  }

  close(): void {
    void this.#worker?.terminate();
  }
}
