// Several digests of one byte stream, computed in one pass. TUF targets list sha256 and
// sha512, and a release adds BLAKE2b-512 (minisign): SHA-512 and BLAKE2b cost about 1.5×
// and 1.2× SHA-256 (which has CPU instructions of its own), so on one thread checking
// them made a verified download 2–3× the time of `openssl dgst -sha256`. For large
// inputs the first algorithm runs on the calling thread and each other one on a worker
// thread of its own, so the hashes overlap with each other and with the I/O (on two
// cores three threads still beat two: the longest hash, not their sum, sets the pace).
// The workers read the bytes from one ring of shared memory (a SharedArrayBuffer): each
// chunk is copied once, into memory that is already mapped, whatever the number of
// workers — a fresh copy per chunk and per worker cost a page fault per 4 KiB and
// doubled the copying. A slot is reused once every worker has hashed it, and `update`
// waits while every slot is taken: memory stays constant however large the input is.
import { createHash, type Hash } from 'node:crypto';

/** Below this many bytes a worker costs more than it saves. */
export const PARALLEL_DIGEST_MIN_BYTES = 32 * 1024 * 1024;
/** The ring: slots of 1 MiB (one message per MiB; small chunks are gathered into a slot). */
const SLOT_BYTES = 1 << 20;
/** 8 MiB shared by every worker: enough queued that a worker never waits for the reader. */
const SLOTS = 8;

// An ES module the worker loads from a data: URL: no file beside the one-file verifier
// bundle to ship or find, and only node: built-ins.
const WORKER_SOURCE = `
import { parentPort, workerData } from 'node:worker_threads';
import { createHash } from 'node:crypto';
const { algorithms, ring, slotBytes } = workerData;
const memory = new Uint8Array(ring);
const hashes = algorithms.map((a) => createHash(a));
parentPort.on('message', (m) => {
  if (m === null) {
    parentPort.postMessage({ digests: hashes.map((h) => h.digest('hex')) });
    return;
  }
  const [slot, length] = m;
  const bytes = memory.subarray(slot * slotBytes, slot * slotBytes + length);
  for (const h of hashes) h.update(bytes);
  parentPort.postMessage(slot);
});
`;

interface WorkerLike {
  postMessage(value: unknown): void;
  on(event: 'message', listener: (value: unknown) => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
  terminate(): Promise<number>;
}

/** One worker thread. */
interface DigestWorker {
  worker: WorkerLike;
  result?: (digests: string[]) => void;
}

/**
 * Digests of one stream under several node:crypto algorithm names. Feed it with
 * `await set.update(chunk)` (the await only waits when the workers are behind), then
 * `await set.digests()`; `close()` on every path (it ends the workers).
 */
export class DigestSet {
  readonly #algorithms: readonly string[];
  readonly #inline: Hash[];
  readonly #workers: DigestWorker[];
  /** The shared ring (empty without workers) and, per slot, how many workers have yet to hash it. */
  readonly #ring: Uint8Array;
  readonly #pending: number[] = new Array<number>(SLOTS).fill(0);
  /** The slot being filled, and how many bytes it holds. */
  #slot = 0;
  #fill = 0;
  #failure: Error | undefined;
  #waiting: (() => void) | undefined;

  private constructor(algorithms: readonly string[], workers: DigestWorker[], ring: Uint8Array) {
    this.#algorithms = algorithms;
    this.#workers = workers;
    this.#ring = ring;
    this.#inline = algorithms.slice(0, algorithms.length - workers.length).map((a) => createHash(a));
    for (const w of workers) {
      w.worker.on('message', (m) => {
        if (typeof m === 'number') {
          this.#pending[m]! -= 1;
          if (this.#pending[m] === 0 && m === this.#slot) this.#wake();
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
   * algorithm runs on the calling thread (see `state`) unless `offThread`: then, for a
   * large input, every algorithm runs on a worker, for a caller whose own thread has
   * other work on the same bytes (a verified download writes them) — and `state` is
   * unavailable.
   */
  static async open(algorithms: readonly string[], expectedBytes: number, { offThread = false }: { offThread?: boolean } = {}): Promise<DigestSet> {
    for (const a of algorithms) createHash(a); // an unknown name fails here, not in a worker
    const onWorkers = offThread ? algorithms.length : algorithms.length - 1;
    if (onWorkers === 0 || expectedBytes < PARALLEL_DIGEST_MIN_BYTES) return new DigestSet(algorithms, [], new Uint8Array(0));
    // Loaded only here: most runs hash small files and never pay for worker_threads.
    const { Worker } = await import('node:worker_threads');
    const url = new URL(`data:text/javascript,${encodeURIComponent(WORKER_SOURCE)}`);
    const ring = new SharedArrayBuffer(SLOTS * SLOT_BYTES);
    const workers = algorithms.slice(algorithms.length - onWorkers).map((a) => ({ worker: new Worker(url, { workerData: { algorithms: [a], ring, slotBytes: SLOT_BYTES } }) as WorkerLike }));
    return new DigestSet(algorithms, workers, new Uint8Array(ring));
  }

  #wake(): void {
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.();
  }

  #check(): void {
    if (this.#failure) throw this.#failure;
  }

  /**
   * Hashes `chunk`. When the workers are behind, the promise settles once the last of
   * its bytes is in the ring: keep the chunk's buffer unchanged until then.
   */
  update(chunk: Uint8Array): Promise<void> | undefined {
    this.#check();
    for (const h of this.#inline) h.update(chunk);
    if (this.#workers.length === 0) return undefined;
    const copied = this.#copy(chunk, 0);
    return copied === chunk.byteLength ? undefined : this.#copyLater(chunk, copied);
  }

  /** Copies `chunk` from `offset` into the ring while slots are free; returns how far it got. */
  #copy(chunk: Uint8Array, offset: number): number {
    while (offset < chunk.byteLength && this.#pending[this.#slot] === 0) {
      const n = Math.min(SLOT_BYTES - this.#fill, chunk.byteLength - offset);
      this.#ring.set(chunk.subarray(offset, offset + n), this.#slot * SLOT_BYTES + this.#fill);
      this.#fill += n;
      offset += n;
      if (this.#fill === SLOT_BYTES) this.#dispatch();
    }
    return offset;
  }

  async #copyLater(chunk: Uint8Array, offset: number): Promise<void> {
    while (offset < chunk.byteLength) {
      // The slot to fill next is the oldest handed out: the others stay queued meanwhile.
      while (this.#pending[this.#slot]! > 0) {
        await new Promise<void>((resolve) => {
          this.#waiting = resolve;
        });
        this.#check();
      }
      offset = this.#copy(chunk, offset);
    }
  }

  /** Hands the slot being filled to every worker and moves on to the next. */
  #dispatch(): void {
    if (this.#fill === 0) return;
    this.#pending[this.#slot] = this.#workers.length;
    for (const w of this.#workers) w.worker.postMessage([this.#slot, this.#fill]);
    this.#slot = (this.#slot + 1) % SLOTS;
    this.#fill = 0;
  }

  /**
   * A copy of the running state of `algorithm`, which must be the first one, on this
   * thread (a set opened without `offThread`): it can be extended and finished without touching the
   * set — an OpenPGP signature hashes its own trailer after the document (RFC 4880 §5.2.4).
   */
  state(algorithm: string): Hash {
    if (algorithm !== this.#algorithms[0] || this.#inline.length === 0) throw new TypeError(`only the first algorithm (${this.#algorithms[0]}), and not off this thread, has a state here`);
    return this.#inline[0]!.copy();
  }

  /** The hex digest of each algorithm, by the name it was opened with. Callable once; `state` stays usable. */
  async digests(): Promise<Record<string, string>> {
    this.#check();
    const out: Record<string, string> = {};
    this.#inline.forEach((h, i) => (out[this.#algorithms[i]!] = h.copy().digest('hex')));
    const inline = this.#inline.length;
    this.#dispatch();
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
