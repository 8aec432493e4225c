// The hash bins' summary: each bin's version, expiry and target count, so `airlock
// status` reads the snapshot and one small file instead of parsing every bin (issue 19:
// 1,024 bins and 50 MB of metadata at 100k targets, 8,192 bins and ~500 MB at 1M). It
// lives in the copy as `.airlock-bins` (a dot file: never published, never in the
// copy's manifest, lib/core/copy-manifest.ts).
//
// Format (JSON, written whole: temporary name, then rename):
//   {"format":"airlock-bins 1",
//    "bins":{"<role>":{"version":V,"length":L,"sha256":H,"expires":E,"targets":T}, …}}
// An entry stands for the bytes with that length and SHA-256. It is used only while the
// snapshot lists its bin at that version, length and SHA-256 — the bytes every client
// fetches and checks (TUF §5.6.2) — so it can be stale, never wrong. Any other bin is
// read (and checked against the snapshot) and the file rewritten. A missing or malformed
// file is an empty summary: it is a cache of the signed metadata, never a source of trust.
// A bin taken from the summary is still looked at (lstat: a regular file of the length the
// snapshot lists), so a bin deleted or cut short is E_REPOSITORY_DAMAGED here as in
// signedState; a bin garbled at the same length is found only by reading it (doctor).
// The transaction records the bins it signs once they are in the copy
// (recordBinSummaries), so status after an import or a release reads no bin when the file
// was there before. Status rewrites it too: concurrent writers cost speed, never correctness.
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { metadataFileName, type Envelope, type MetaFile, type SnapshotSigned, type TargetsSigned } from '../core/tuf-metadata.js';
import { fromSystemError } from '../core/errors.js';
import { binNamesOf } from './hash-bins.js';
import { damaged, LocalRepository, type CurrentMetadata } from './local-repository.js';

export const BIN_SUMMARY_FILE = '.airlock-bins';
const FORMAT = 'airlock-bins 1';

export interface BinSummary {
  version: number;
  length: number;
  sha256: string;
  expires: string;
  targets: number;
}

/** Bins read at once when the summary misses them (1,024 at once after an import cost a thread-pool queue, one at a time mostly waiting). */
const READ_AHEAD = 16;
/** Bins looked at (lstat) at once: 8,192 one at a time mostly wait on the thread pool. */
const LSTAT_AHEAD = 64;

function isSummary(v: unknown): v is BinSummary {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return (
    Number.isSafeInteger(e.version) &&
    Number.isSafeInteger(e.length) &&
    typeof e.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(e.sha256) &&
    typeof e.expires === 'string' &&
    !Number.isNaN(Date.parse(e.expires)) &&
    Number.isSafeInteger(e.targets)
  );
}

async function readSummaries(path: string): Promise<Map<string, BinSummary>> {
  const out = new Map<string, BinSummary>();
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return out; // missing or malformed: every bin is read again
  }
  if (typeof raw !== 'object' || raw === null || (raw as { format?: unknown }).format !== FORMAT) return out;
  const bins = (raw as { bins?: unknown }).bins;
  if (typeof bins !== 'object' || bins === null) return out;
  for (const [role, e] of Object.entries(bins)) if (isSummary(e)) out.set(role, { version: e.version, length: e.length, sha256: e.sha256, expires: e.expires, targets: e.targets });
  return out;
}

function listedAs(snapshot: SnapshotSigned, role: string, e: BinSummary): boolean {
  const meta = snapshot.meta[metadataFileName(role)];
  return meta !== undefined && meta.version === e.version && meta.length === e.length && meta.hashes?.sha256 === e.sha256;
}

/**
 * The summary of each bin in `roles`, as the snapshot lists it: from `.airlock-bins` where
 * it holds the listed bytes, else read from the bin (so after a release, only the bins it
 * re-signed). Rewrites the file when it read any bin and the copy is writable.
 */
export async function binSummaries(repoDir: string, snapshot: SnapshotSigned, roles: readonly string[]): Promise<Map<string, BinSummary>> {
  const path = join(repoDir, BIN_SUMMARY_FILE);
  const known = await readSummaries(path);
  const out = new Map<string, BinSummary>();
  const missing: string[] = [];
  for (const role of roles) {
    const e = known.get(role);
    if (e && listedAs(snapshot, role, e)) out.set(role, e);
    else missing.push(role);
  }
  await checkPresent(repoDir, snapshot, [...out.keys()]);
  if (missing.length === 0) {
    // Same roles in order, and nothing left over: the file needs no rewrite.
    return known.size === roles.length ? new Map(roles.map((r) => [r, out.get(r)!])) : rewrite(path, roles, out);
  }
  const repo = new LocalRepository(repoDir);
  for (let i = 0; i < missing.length; i += READ_AHEAD) {
    const read = await Promise.all(missing.slice(i, i + READ_AHEAD).map((role) => repo.readListedBin(snapshot, role)));
    missing.slice(i, i + READ_AHEAD).forEach((role, j) => {
      const { env, length, sha256 } = read[j]!;
      out.set(role, { version: env.signed.version, length, sha256, expires: env.signed.expires, targets: Object.keys(env.signed.targets).length });
    });
  }
  return rewrite(path, roles, out);
}

/**
 * Each bin the summary stands for is in the copy: a regular file (not a symlink) of the
 * length the snapshot lists — what signedState would refuse when it is gone or cut short.
 * One lstat a bin, no read: a bin garbled at the same length passes (doctor reads it).
 */
async function checkPresent(repoDir: string, snapshot: SnapshotSigned, roles: readonly string[]): Promise<void> {
  const metadataDir = join(repoDir, 'metadata');
  const check = async (role: string): Promise<void> => {
    const meta = snapshot.meta[metadataFileName(role)]!;
    const path = join(metadataDir, metadataFileName(role, meta.version));
    const s = await lstat(path).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw damaged(path, 'is missing');
      throw fromSystemError(err, `reading ${path}`);
    });
    if (!s.isFile()) throw damaged(path, 'is not a regular file');
    if (s.size !== meta.length) throw damaged(path, `is not the file ${metadataFileName('snapshot', snapshot.version)} lists (its length differs)`);
  };
  for (let i = 0; i < roles.length; i += LSTAT_AHEAD) await Promise.all(roles.slice(i, i + LSTAT_AHEAD).map(check));
}

async function rewrite(path: string, roles: readonly string[], summaries: Map<string, BinSummary>): Promise<Map<string, BinSummary>> {
  const ordered = new Map(roles.map((r) => [r, summaries.get(r)!]));
  try {
    await writeFileAtomic(path, `${JSON.stringify({ format: FORMAT, bins: Object.fromEntries(ordered) })}\n`, { durable: false });
  } catch {
    // A read-only copy (a backup mounted to look at): status still answers, from the bins.
  }
  return ordered;
}

/** A bin as a transaction signs it: from its envelope and the snapshot's entry for its bytes. */
export function summaryOf(env: Envelope<TargetsSigned>, meta: MetaFile): BinSummary {
  return { version: env.signed.version, length: meta.length!, sha256: meta.hashes!.sha256!, expires: env.signed.expires, targets: Object.keys(env.signed.targets).length };
}

/**
 * Adds the bins a commit moved into the copy to the summary (called after the move: an
 * entry for bytes not yet in the copy would only be unused, but never claim them early).
 * A failure to write is left for status to repair: the commit has happened.
 */
export async function recordBinSummaries(repoDir: string, signed: ReadonlyMap<string, BinSummary>): Promise<void> {
  if (signed.size === 0) return;
  const path = join(repoDir, BIN_SUMMARY_FILE);
  const all = await readSummaries(path);
  for (const [role, e] of signed) all.set(role, e);
  await rewrite(path, [...all.keys()], all);
}

/** Each bin's expiry as the snapshot lists it, by the summary: what refresh plans from (TUF: every bin carries its own). */
export async function binExpiries(repoDir: string, current: Pick<CurrentMetadata, 'snapshot' | 'targets'>): Promise<Map<string, { signed: { expires: string } }>> {
  const summaries = await binSummaries(repoDir, current.snapshot.signed, binNamesOf(current.targets.signed));
  return new Map([...summaries].map(([role, e]) => [role, { signed: { expires: e.expires } }]));
}
