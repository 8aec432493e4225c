// A progress line on stderr for long local work (hashing, signing multi-GB artifacts),
// drawn only on a TTY and at most five times a second, so logs and pipes stay clean.
import { formatSize } from '../lib/core/byte-size.js';

export interface ProgressLine {
  update(label: string, done: number, total: number): void;
  finish(): void;
}

/** `hashing demo.tar.gz  512.0 MiB / 1.0 GiB (50%)  310.2 MiB/s` */
export function formatWork(label: string, done: number, total: number, seconds: number): string {
  const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
  const rate = seconds > 0 ? done / seconds : 0;
  return `${label}  ${formatSize(done)} / ${formatSize(total)} (${pct}%)  ${formatSize(Math.round(rate))}/s`;
}

export function progressLine(stream: NodeJS.WriteStream = process.stderr): ProgressLine {
  let current = '';
  let started = 0;
  let last = 0;
  let drawn = false;
  return {
    update(label, done, total) {
      if (!stream.isTTY) return;
      const now = Date.now();
      if (label !== current) {
        current = label;
        started = now;
      } else if (now - last < 200 && done < total) {
        return;
      }
      last = now;
      stream.write(`\r\x1b[K${formatWork(label, done, total, (now - started) / 1000)}`);
      drawn = true;
    },
    finish() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}
