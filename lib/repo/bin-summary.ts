// The hash bins' summary: each bin's version, expiry and target count, so `airlock
// status` reads the snapshot and one small file instead of parsing every bin (issue 19:
// 1,024 bins and 50 MB of metadata at 100k targets, 8,192 bins and ~500 MB at 1M). It
// lives in the copy as `.airlock-bins` (a dot file: never published, never in the
// copy's manifest, lib/core/copy-manifest.ts).
//
// Format (JSON, written whole: temporary name, then rename):
//   {"format":"airlock-bins 1",
//    "bins":{"<role>":{"version":V,"length":L,"sha256":H,"expires":E,"targets":T}, …},
//    "releases":{"bins":D,"names":["<project>/<version>", …]}}
// `releases` (optional) names every release — the first two segments of a target path —
// the bins list, for the bins whose entries the file holds: D is the SHA-256 of their
// "<role> <sha256>\n" lines, sorted; a file whose entries changed without it (an older
// airlock) has none that counts, and status reads every bin once to make it again. Kept
// across commits by adding the releases of the bins a commit signs: a bin's next version
// lists every target of the one before (nothing removes a target).
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
import { createHash } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { readRegularFile } from '../core/regular-file.js';
import { metadataFileName, type Envelope, type MetaFile, type SnapshotSigned, type TargetsSigned } from '../core/tuf-metadata.js';
import { fromSystemError } from '../core/errors.js';
import { binNamesOf } from './hash-bins.js';
import { damaged } from '../core/local-copy-file.js';
import { LocalRepository, type CurrentMetadata } from './local-repository.js';

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

interface SummaryFile {
  entries: Map<string, BinSummary>;
  /** The releases the bins of `entries` list, when the file's `releases` is for exactly those entries. */
  releases?: string[];
}

/** Far above the summary of 1M targets (~3.5 MB): a cap, so that no file there is read without end. */
const MAX_SUMMARY_BYTES = 256 * 1024 * 1024;

async function readSummaries(path: string): Promise<SummaryFile> {
  const out = new Map<string, BinSummary>();
  let raw: unknown;
  try {
    // Only as the regular file airlock writes: a symlink (to /dev/zero, say) or a FIFO
    // there is not followed or waited on, it only costs the summary.
    const read = await readRegularFile(path, MAX_SUMMARY_BYTES);
    if ('refused' in read) return { entries: out };
    raw = JSON.parse(Buffer.from(read.bytes).toString('utf8'));
  } catch {
    return { entries: out }; // missing or malformed: every bin is read again
  }
  if (typeof raw !== 'object' || raw === null || (raw as { format?: unknown }).format !== FORMAT) return { entries: out };
  const bins = (raw as { bins?: unknown }).bins;
  if (typeof bins !== 'object' || bins === null) return { entries: out };
  for (const [role, e] of Object.entries(bins)) if (isSummary(e)) out.set(role, { version: e.version, length: e.length, sha256: e.sha256, expires: e.expires, targets: e.targets });
  const r = (raw as { releases?: { bins?: unknown; names?: unknown } }).releases;
  const usable = typeof r === 'object' && r !== null && r.bins === entriesDigest(out) && Array.isArray(r.names) && r.names.every((n) => typeof n === 'string');
  return usable ? { entries: out, releases: r.names as string[] } : { entries: out };
}

/** What a file's `releases` is for: its bins' entries, by role and SHA-256. */
function entriesDigest(entries: ReadonlyMap<string, BinSummary>): string {
  const h = createHash('sha256');
  for (const role of [...entries.keys()].sort()) h.update(`${role} ${entries.get(role)!.sha256}\n`);
  return h.digest('hex');
}

/** Adds the releases (`project/version`: a target path's first two segments) `targets` lists. */
export function addReleasesOf(targets: Readonly<Record<string, unknown>>, into: Set<string>): void {
  for (const path of Object.keys(targets)) {
    const slash = path.indexOf('/');
    const end = slash < 0 ? -1 : path.indexOf('/', slash + 1);
    if (end > 0) into.add(path.slice(0, end));
  }
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
  return (await summarize(repoDir, snapshot, roles, false)).summaries;
}

/**
 * binSummaries, and every release (`project/version`) the bins list — from the file's
 * `releases` while it is for the entries the file holds, reading only the bins the
 * summary misses; else (an older airlock's file, none) from every bin, once.
 */
export async function binSummariesWithReleases(repoDir: string, snapshot: SnapshotSigned, roles: readonly string[]): Promise<{ summaries: Map<string, BinSummary>; releases: readonly string[] }> {
  const { summaries, releases } = await summarize(repoDir, snapshot, roles, true);
  return { summaries, releases: releases! };
}

/** Sorted as `Array.prototype.sort` sorts (UTF-16 code units): a reader walks it beside another sorted list. */
function sorted(names: Iterable<string>): string[] {
  const out = [...names];
  for (let i = 1; i < out.length; i++) if (out[i - 1]! >= out[i]!) return [...new Set(out)].sort();
  return out;
}

async function summarize(repoDir: string, snapshot: SnapshotSigned, roles: readonly string[], wantReleases: boolean): Promise<{ summaries: Map<string, BinSummary>; releases?: readonly string[] }> {
  const path = join(repoDir, BIN_SUMMARY_FILE);
  const file = await readSummaries(path);
  const known = file.entries;
  const out = new Map<string, BinSummary>();
  const missing: string[] = [];
  for (const role of roles) {
    const e = known.get(role);
    if (e && listedAs(snapshot, role, e)) out.set(role, e);
    else missing.push(role);
  }
  await checkPresent(repoDir, snapshot, [...out.keys()]);
  // Bins that leave the summary are no longer delegated (re-binned): their targets are in the bins that are.
  if (missing.length === 0 && (file.releases || !wantReleases)) {
    // No Set of 100,000 names at 1M targets: the file keeps them sorted (status walks them).
    const names = file.releases ? sorted(file.releases) : undefined;
    // Same roles in order, and nothing left over: the file needs no rewrite.
    const summaries = known.size === roles.length ? new Map(roles.map((r) => [r, out.get(r)!])) : await rewrite(path, roles, out, names);
    return { summaries, ...(names ? { releases: names } : {}) };
  }
  const repo = new LocalRepository(repoDir);
  const toRead = file.releases || !wantReleases ? missing : roles;
  const releases = file.releases ? new Set(file.releases) : wantReleases ? new Set<string>() : undefined;
  for (let i = 0; i < toRead.length; i += READ_AHEAD) {
    const read = await Promise.all(toRead.slice(i, i + READ_AHEAD).map((role) => repo.readListedBin(snapshot, role)));
    toRead.slice(i, i + READ_AHEAD).forEach((role, j) => {
      const { env, length, sha256 } = read[j]!;
      out.set(role, { version: env.signed.version, length, sha256, expires: env.signed.expires, targets: Object.keys(env.signed.targets).length });
      if (releases) addReleasesOf(env.signed.targets, releases);
    });
  }
  const names = releases ? sorted(releases) : undefined;
  return { summaries: await rewrite(path, roles, out, names), ...(names ? { releases: names } : {}) };
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

async function rewrite(path: string, roles: readonly string[], summaries: Map<string, BinSummary>, releases?: Iterable<string>): Promise<Map<string, BinSummary>> {
  const ordered = new Map(roles.map((r) => [r, summaries.get(r)!]));
  const file = { format: FORMAT, bins: Object.fromEntries(ordered), ...(releases ? { releases: { bins: entriesDigest(ordered), names: sorted(releases) } } : {}) };
  try {
    await writeFileAtomic(path, `${JSON.stringify(file)}\n`, { durable: false });
  } catch {
    // A read-only copy (a backup mounted to look at): status still answers, from the bins.
  }
  return ordered;
}

/** A bin as a transaction signs it: from its envelope and the snapshot's entry for its bytes; its releases go to `releases`. */
export function summaryOf(env: Envelope<TargetsSigned>, meta: MetaFile, releases?: Set<string>): BinSummary {
  if (releases) addReleasesOf(env.signed.targets, releases);
  return { version: env.signed.version, length: meta.length!, sha256: meta.hashes!.sha256!, expires: env.signed.expires, targets: Object.keys(env.signed.targets).length };
}

/**
 * Adds the bins a commit moved into the copy to the summary (called after the move: an
 * entry for bytes not yet in the copy would only be unused, but never claim them early).
 * Their releases (`signed.releases`, summaryOf) are added to the file's, which stays
 * exact while it was for the entries before, or when the commit signed every bin the
 * targets delegate to (`signed.roles`: crossing into bins, an import into bins, a
 * re-bin). A failure to write is left for status to repair: the commit has happened.
 */
export async function recordBinSummaries(repoDir: string, bins: ReadonlyMap<string, BinSummary>, signed?: { releases: ReadonlySet<string>; roles: readonly string[] }): Promise<void> {
  if (bins.size === 0) return;
  const path = join(repoDir, BIN_SUMMARY_FILE);
  const file = await readSummaries(path);
  const all = file.entries;
  for (const [role, e] of bins) all.set(role, e);
  let releases: Set<string> | undefined;
  if (signed && signed.roles.every((r) => bins.has(r))) {
    // Only the delegated bins' releases: entries left from an earlier layout add none.
    releases = new Set(signed.releases);
  } else if (signed && file.releases) {
    releases = new Set(file.releases);
    for (const r of signed.releases) releases.add(r);
  }
  await rewrite(path, [...all.keys()], all, releases);
}

/** Each bin's expiry as the snapshot lists it, by the summary: what refresh plans from (TUF: every bin carries its own). */
export async function binExpiries(repoDir: string, current: Pick<CurrentMetadata, 'snapshot' | 'targets'>): Promise<Map<string, { signed: { expires: string } }>> {
  const summaries = await binSummaries(repoDir, current.snapshot.signed, binNamesOf(current.targets.signed));
  return new Map([...summaries].map(([role, e]) => [role, { signed: { expires: e.expires } }]));
}
