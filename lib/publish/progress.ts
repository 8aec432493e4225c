// Progress of a publish across all hosts, from its events: bytes done of bytes planned,
// rate over a sliding window, time left. The CLI draws it on a TTY; this module only
// counts, so it is testable without one.
import { formatSize } from '../core/byte-size.js';
import type { PublishEvent } from './events.js';

const WINDOW_MS = 5000;

export interface ProgressSnapshot {
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
  /** Bytes per second over the last few seconds; 0 until there is a measurement. */
  rate: number;
  /** Seconds left at that rate, undefined while unknown. */
  etaSeconds: number | undefined;
}

export class TransferProgress {
  private bytesTotal = 0;
  private filesTotal = 0;
  private filesDone = 0;
  /** Bytes of the files done, summed as they finish: a publish of millions of files holds no list of them. */
  private doneBytes = 0;
  /** Bytes sent so far of each file on its way (a few per host). */
  private readonly inFlight = new Map<string, number>();
  private samples: { at: number; bytes: number }[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  /** Entries held per file: only the files on their way, however many have finished (tests pin the bound). */
  get filesHeld(): number {
    return this.inFlight.size;
  }

  private done(): number {
    let n = this.doneBytes;
    for (const b of this.inFlight.values()) n += b;
    return n;
  }

  onEvent(e: PublishEvent): void {
    const key = (path: string) => `${e.host}\0${path}`;
    switch (e.type) {
      case 'plan':
        this.bytesTotal += e.bytes;
        this.filesTotal += e.upload;
        break;
      case 'file-progress':
        this.inFlight.set(key(e.path), e.bytes);
        break;
      case 'file-done':
        this.inFlight.delete(key(e.path));
        this.doneBytes += e.length;
        this.filesDone++;
        break;
      case 'host-failed':
        for (const k of [...this.inFlight.keys()]) if (k.startsWith(`${e.host}\0`)) this.inFlight.delete(k);
        break;
      default:
        return;
    }
    const at = this.now();
    this.samples.push({ at, bytes: this.done() });
    while (this.samples.length > 2 && this.samples[0]!.at < at - WINDOW_MS) this.samples.shift();
  }

  snapshot(): ProgressSnapshot {
    const bytesDone = this.done();
    const first = this.samples[0];
    const last = this.samples.at(-1);
    const span = first && last ? (last.at - first.at) / 1000 : 0;
    const rate = span > 0 ? (last!.bytes - first!.bytes) / span : 0;
    const left = Math.max(0, this.bytesTotal - bytesDone);
    return {
      bytesDone,
      bytesTotal: this.bytesTotal,
      filesDone: this.filesDone,
      filesTotal: this.filesTotal,
      rate,
      etaSeconds: rate > 0 ? left / rate : left === 0 ? 0 : undefined,
    };
  }
}

function formatSeconds(s: number): string {
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}:${String(sec).padStart(2, '0')}`;
}

/** One line: `12.0 MiB / 40.0 MiB (30%)  3/9 files  4.1 MiB/s  ETA 0:07`. */
export function formatProgress(p: ProgressSnapshot): string {
  const pct = p.bytesTotal > 0 ? Math.floor((100 * p.bytesDone) / p.bytesTotal) : 100;
  const eta = p.etaSeconds === undefined ? '--:--' : formatSeconds(p.etaSeconds);
  return `${formatSize(p.bytesDone)} / ${formatSize(p.bytesTotal)} (${pct}%)  ${p.filesDone}/${p.filesTotal} files  ${formatSize(p.rate)}/s  ETA ${eta}`;
}
