// The download progress line of airlock-verify: bytes, rate and time left, redrawn in
// place on stderr at most five times a second — only when stderr is a terminal, the
// target is large enough to wait for, and no --json was asked for, so pipes, logs and
// scripts never see it. (The bundle cannot share cli/progress.ts: that imports
// lib/publish.)

import { formatSize } from '../lib/core/byte-size.js';

/** Targets smaller than this finish before a progress line would help. */
export const PROGRESS_MIN_BYTES = 4 * 1024 * 1024;

export interface DownloadProgress {
  update: (received: number) => void;
  finish: () => void;
}

function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** `demo-1.0.0.tar.gz  12.0 MiB / 100.0 MiB (12%)  5.1 MiB/s  ETA 0:17` */
export function formatDownload(name: string, received: number, total: number, seconds: number): string {
  const pct = total > 0 ? Math.floor((100 * received) / total) : 100;
  const rate = seconds > 0 ? received / seconds : 0;
  const eta = rate > 0 ? `ETA ${formatDuration((total - received) / rate)}` : 'ETA --:--';
  return `${name}  ${formatSize(received)} / ${formatSize(total)} (${pct}%)  ${formatSize(Math.round(rate))}/s  ${eta}`;
}

export function downloadProgress(name: string, total: number, opts: { json: boolean }, stream: NodeJS.WriteStream = process.stderr): DownloadProgress {
  if (opts.json || !stream.isTTY || total < PROGRESS_MIN_BYTES) return { update: () => undefined, finish: () => undefined };
  const started = Date.now();
  let last = 0;
  let drawn = false;
  return {
    update: (received) => {
      const now = Date.now();
      if (now - last < 200 && received < total) return;
      last = now;
      // The name comes from signed metadata but is still the host's text: no control characters.
      const line = formatDownload(name.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, '?'), received, total, (now - started) / 1000);
      // One screen line, or it would scroll instead of being redrawn (a terminal of unknown width: as is).
      const width = stream.columns || 0;
      stream.write(`\r\x1b[K${width > 20 ? line.slice(0, width - 1) : line}`);
      drawn = true;
    },
    finish: () => {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}
