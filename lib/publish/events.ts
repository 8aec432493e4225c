// What publishing reports while it runs (`airlock publish --json` prints one per line)
// and when it ends. Stable: machines read these.
import type { ErrorCode } from '../core/errors.js';
import type { PublishStage } from './layout.js';
import type { PublishPlan } from './plan.js';

export type PublishEvent =
  | { type: 'plan'; host: string; upload: number; skip: number; bytes: number; leftovers: number }
  | { type: 'file-start'; host: string; path: string; stage: PublishStage; length: number }
  | { type: 'file-progress'; host: string; path: string; bytes: number; length: number }
  | { type: 'file-done'; host: string; path: string; length: number; sha256: string }
  | { type: 'mode-repaired'; host: string; path: string; kind: 'file' | 'dir'; from: string; to: string }
  | { type: 'host-done'; host: string; uploaded: number; skipped: number; bytes: number; durationMs: number }
  | { type: 'host-failed'; host: string; code: ErrorCode; message: string };

export interface PublishReport {
  host: string;
  ok: boolean;
  dryRun: boolean;
  /** Files uploaded (0 on a dry run). */
  uploaded: number;
  /** Files already on the host with the same bytes. */
  skipped: number;
  /** Bytes uploaded (on a dry run: bytes that would be). */
  bytes: number;
  /** Files and directories whose modes were set so the web server can read them (host-modes.ts). */
  modesRepaired?: number;
  durationMs: number;
  /** On a dry run, the plan. */
  plan?: PublishPlan;
  error?: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}
