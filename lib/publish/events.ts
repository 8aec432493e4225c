// What publishing reports while it runs (`airlock publish --json` prints one per line)
// and when it ends. Stable: machines read these.
import type { ErrorCode } from '../core/errors.js';
import type { HostModes } from './host-modes.js';
import type { PublishStage } from './layout.js';
import type { ModeRepair } from './mode-repair.js';
import type { PublishItem } from './plan.js';

export type PublishEvent =
  | { type: 'plan'; host: string; upload: number; skip: number; bytes: number; leftovers: number }
  /** A dry run's uploads, one event each in publishing order (a plan may hold millions: streamed, not in the report). */
  | { type: 'plan-item'; host: string; path: string; stage: PublishStage; immutable: boolean; length: number; sha256: string }
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
  /** On a dry run, the plan: its counts by stage and its first uploads (every upload is a plan-item event). */
  plan?: PlanReport;
  error?: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

/** A dry run's plan in the report: what the plan-item events list, summed up. */
export interface PlanReport {
  host: string;
  /** The terminal's local copy (an item's local file is localRoot + '/' + path). */
  localRoot: string;
  upload: number;
  skip: number;
  bytes: number;
  /** Uploads per stage, in publishing order. */
  stages: { stage: PublishStage; upload: number; bytes: number }[];
  /** The first uploads in publishing order (at most PLAN_REPORT_ITEMS). */
  firstUploads: PublishItem[];
  /** A small plan (at most PLAN_REPORT_ITEMS files, uploads and skipped), whole: the uploads in publishing order, then the files already there. */
  items?: PublishItem[];
  leftovers: string[];
  modes: HostModes;
  /** The first mode repairs in the order they are made (at most PLAN_REPORT_ITEMS). */
  modeRepairs: ModeRepair[];
  /** Every mode repair of the plan. */
  modeRepairCount: number;
}

/** Uploads a dry run's report names (the human listing); the rest are counted. */
export const PLAN_REPORT_ITEMS = 200;
