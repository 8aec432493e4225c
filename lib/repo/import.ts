// `airlock import DIR`: an archive of earlier releases (import-archive.ts) signed into
// the terminal's repository copy through the one editing transaction, many releases per
// commit. Each batch stages its releases' files (copied, then hashed from the copy the
// terminal holds, so what is signed is what is kept), adds their targets — each touched
// hash bin is signed once per batch, snapshot and timestamp once per batch — and commits.
// The walk streams (one directory listing at a time) and a batch holds at most
// `batchTargets` targets, so memory does not grow with the archive; the journal
// (import-journal.ts) makes a re-run continue after the last committed batch.
//
// Compatibility outputs (docs/import.md "What an import writes"): TUF targets and the
// human-readable `releases/` copies always; per-file .asc/.minisig/.sshsig/.sha512 and
// SHA256SUMS only with `compat: 'signatures'`, since they cost four files and three
// signatures per target (an OpenPGP signature alone costs more than all the rest of a
// target's import) and sign history with today's date.
import { createHash } from 'node:crypto';
import { constants, copyFileSync, linkSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hashFile } from '../core/digest.js';
import { AirlockError, fromSystemError } from '../core/errors.js';
import type { TargetFileInfo } from '../core/tuf-metadata.js';
import { compareReleases, walkArchive, type ArchivedRelease } from './import-archive.js';
import { readImportJournal, resumePoint, writeImportJournal, type ImportJournal, type ReleaseRef } from './import-journal.js';
import { LocalRepository } from './local-repository.js';
import { IMPORT_COMPAT_WRITERS, releaseCustom, releaseExists, type CompatContext, type ReleaseSigners } from './release.js';
import { bitLengthFor } from './hash-bins.js';
import { DEFAULT_HASH_BINS, ESTIMATED_TARGET_BYTES, RepositoryTransaction, type TransactionOptions } from './transaction.js';

export type ImportCompat = 'tuf' | 'signatures';
export const IMPORT_COMPAT: readonly ImportCompat[] = ['tuf', 'signatures'];
export const DEFAULT_BATCH_TARGETS = 25_000;

export interface ImportOptions extends TransactionOptions {
  /** A batch closes once it holds at least this many targets (a release is never split). */
  batchTargets: number;
  compat: ImportCompat;
  /** Origin/Label and OpenPGP user id for the compat writers (compat 'signatures'). */
  name: string;
  userId?: string;
  /**
   * Targets the archive holds (the plan's count): a repository that crosses into hash bins
   * during the import gets bins sized for all of them at once, instead of re-binning —
   * reading every target so far — at each doubling.
   */
  expectedTargets?: number;
  /** The import journal (import-journal.ts). */
  journal: { path: string; source: string };
  /** After each committed batch (progress; a test interrupts here). */
  onBatch?: (e: ImportBatchEvent) => void | Promise<void>;
}

export interface ImportBatchEvent {
  batch: number;
  releases: number;
  targets: number;
  /** Targets imported so far by this archive's import, resumed runs included. */
  totalTargets: number;
  last: ReleaseRef;
}

export interface ImportResult {
  /** Releases and targets this run imported. */
  releases: number;
  targets: number;
  batches: number;
  /** Where this run started (after this release), when it resumed. */
  resumedAfter?: ReleaseRef;
  metadataVersions?: { targets: number; snapshot: number; timestamp: number };
}

export interface ArchiveSurvey {
  source: string;
  /** Releases and targets still to import. */
  releases: number;
  targets: number;
  projects: number;
  first?: ReleaseRef;
  last?: ReleaseRef;
  /** Resuming: after this release, with this many batches and targets already in. */
  resumedAfter?: ReleaseRef;
  importedTargets: number;
  importedBatches: number;
  /** Releases of an interrupted batch whose commit did not reach the metadata: imported again. */
  redoThrough?: ReleaseRef;
}

const PARALLEL_RELEASES = 8;
/** Files up to this size are hashed from one read; larger ones stream. */
const WHOLE_READ_BYTES = 4 << 20;

async function releaseDirExists(repoDir: string, r: ReleaseRef): Promise<boolean> {
  return stat(join(repoDir, 'releases', r.project, r.version)).then(
    () => true,
    () => false,
  );
}

/**
 * The plan's reading of the archive, before any key or write: every release still to
 * import is walked and checked (layout, record, names) and refused if the copy already
 * holds it (E_RELEASE_EXISTS) — except the releases of an interrupted batch, which are
 * imported again. Streams: only counts are kept.
 */
export async function surveyArchive(repoDir: string, archive: string, journal: { path: string; source: string }): Promise<ArchiveSurvey> {
  const repo = new LocalRepository(repoDir);
  const resume = await resumePoint(repo, await readImportJournal(journal.path, journal.source));
  const survey: ArchiveSurvey = { source: journal.source, releases: 0, targets: 0, projects: 0, importedTargets: resume.targets, importedBatches: resume.batches, ...(resume.after ? { resumedAfter: resume.after } : {}), ...(resume.redoThrough ? { redoThrough: resume.redoThrough } : {}) };
  let project: string | undefined;
  for await (const rel of walkArchive(archive, resume.after)) {
    const redo = resume.redoThrough !== undefined && compareReleases(rel, resume.redoThrough) <= 0;
    if (!redo && (await releaseDirExists(repoDir, rel))) throw releaseExists(rel.project, rel.version);
    if (rel.project !== project) survey.projects++;
    project = rel.project;
    survey.first ??= { project: rel.project, version: rel.version };
    survey.last = { project: rel.project, version: rel.version };
    survey.releases++;
    survey.targets += rel.artifacts.length;
  }
  return survey;
}

async function digestsOf(path: string): Promise<{ length: number; sha256: string; sha512: string }> {
  if (statSync(path).size > WHOLE_READ_BYTES) {
    const { length, digests } = await hashFile(path);
    return { length, sha256: digests.sha256, sha512: digests.sha512 };
  }
  const bytes = readFileSync(path);
  return { length: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), sha512: createHash('sha512').update(bytes).digest('hex') };
}

/**
 * One release's files into the batch's staging tree: the release copy, its
 * consistent-snapshot link, its targets. Small files go through synchronous calls: an
 * import does nothing else meanwhile, and a round trip through libuv's thread pool per
 * call costs more than the call itself (a million files make ten million calls).
 */
async function stageRelease(staging: string, rel: ArchivedRelease): Promise<Record<string, TargetFileInfo>> {
  const { project, version } = rel;
  const releaseDir = join(staging, 'releases', project, version);
  const targetsDir = join(staging, 'targets', project, version);
  // Every target of a release shares one record object: memory per target stays small.
  const custom = { airlock: releaseCustom({ project, version, commit: rel.record.commit, branch: rel.record.branch, sourceDateEpoch: rel.record.sourceDateEpoch }) };
  const additions: Record<string, TargetFileInfo> = {};
  let name = '';
  try {
    mkdirSync(releaseDir, { recursive: true });
    mkdirSync(targetsDir, { recursive: true });
    for (name of rel.artifacts) {
      const local = join(releaseDir, name);
      // copy_file_range in the kernel: constant memory on large files.
      copyFileSync(join(rel.dir, name), local, constants.COPYFILE_EXCL);
      const d = await digestsOf(local);
      // TUF consistent snapshots: targets/<dir>/<sha256>.<name>, the same bytes as the release copy.
      linkSync(local, join(targetsDir, `${d.sha256}.${name}`));
      additions[`${project}/${version}/${name}`] = { length: d.length, hashes: { sha256: d.sha256, sha512: d.sha512 }, custom };
    }
  } catch (err) {
    throw fromSystemError(err, `importing ${join(rel.dir, name)}`);
  }
  return additions;
}

interface Batch {
  tx: RepositoryTransaction;
  additions: Record<string, TargetFileInfo>;
  releases: ArchivedRelease[];
  targets: number;
}

/**
 * Imports every release of `archive` not imported yet, in batches; returns what this run
 * did. Refuses (before its first write) what surveyArchive refuses; a release the copy
 * gained since is refused by the transaction before its batch is signed.
 */
export async function importArchive(repoDir: string, stagingRoot: string, archive: string, signers: ReleaseSigners, options: ImportOptions): Promise<ImportResult> {
  if (!Number.isSafeInteger(options.batchTargets) || options.batchTargets < 1) throw new AirlockError('E_USAGE', 'the batch size must be a whole number of targets, at least 1');
  if (options.compat === 'signatures' && (!signers.pgp || !signers.minisign)) {
    throw new AirlockError('E_KEY_NOT_FOUND', 'importing with --compat signatures needs a pgp and a minisign key; run `airlock key generate pgp` and `airlock key generate minisign`, or import with --compat tuf');
  }
  const repo = new LocalRepository(repoDir);
  const journalPath = options.journal.path;
  const prior = await readImportJournal(journalPath, options.journal.source);
  const resume = await resumePoint(repo, prior);
  const journal: ImportJournal = { formatVersion: 1, source: options.journal.source, batches: resume.batches, targets: resume.targets, ...(resume.after ? { done: resume.after } : {}) };
  const txOptions: TransactionOptions = { now: options.now, expiryDays: options.expiryDays, ...(options.hashBins ? { hashBins: options.hashBins } : {}) };
  const current = await repo.current();
  if (options.expectedTargets && !current.targets.signed.delegations) {
    const hashBins: NonNullable<TransactionOptions['hashBins']> = options.hashBins ?? DEFAULT_HASH_BINS;
    const total = Object.keys(current.targets.signed.targets).length + options.expectedTargets;
    txOptions.hashBins = { ...hashBins, layout: { ...hashBins.layout, bitLength: bitLengthFor(total * ESTIMATED_TARGET_BYTES, hashBins.layout.bitLength, hashBins.maxBinBytes) } };
  }
  const result: ImportResult = { releases: 0, targets: 0, batches: 0, ...(resume.after ? { resumedAfter: resume.after } : {}) };

  let batch: Batch | undefined;
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;

  const commit = async (b: Batch): Promise<void> => {
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
    const last = b.releases.at(-1)!;
    b.tx.addTargets(b.additions);
    if (options.compat === 'signatures') await writeCompat(b, repoDir, signers, options);
    journal.pending = { project: last.project, version: last.version, lastTarget: `${last.project}/${last.version}/${last.artifacts[0]}`, targets: journal.targets + b.targets };
    await writeImportJournal(journalPath, journal);
    const committed = await b.tx.commit({ targets: [signers.targets], snapshot: [signers.snapshot], timestamp: [signers.timestamp] });
    journal.done = { project: last.project, version: last.version };
    journal.targets += b.targets;
    journal.batches++;
    delete journal.pending;
    await writeImportJournal(journalPath, journal);
    result.releases += b.releases.length;
    result.targets += b.targets;
    result.batches++;
    const v = committed.next;
    result.metadataVersions = { targets: v.targets.signed.version, snapshot: v.snapshot.signed.version, timestamp: v.timestamp.signed.version };
    await options.onBatch?.({ batch: journal.batches, releases: b.releases.length, targets: b.targets, totalTargets: journal.targets, last: journal.done });
  };

  try {
    for await (const rel of walkArchive(archive, resume.after)) {
      const redo = resume.redoThrough !== undefined && compareReleases(rel, resume.redoThrough) <= 0;
      if (!redo && (await releaseDirExists(repoDir, rel))) throw releaseExists(rel.project, rel.version);
      batch ??= { tx: await RepositoryTransaction.open(repoDir, stagingRoot, txOptions), additions: {}, releases: [], targets: 0 };
      const b = batch;
      b.releases.push(rel);
      b.targets += rel.artifacts.length;
      const p: Promise<void> = stageRelease(b.tx.stagingDir, rel).then(
        (adds) => void Object.assign(b.additions, adds),
        (err: unknown) => void (failure ??= err),
      );
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      if (inFlight.size >= PARALLEL_RELEASES) await Promise.race(inFlight);
      if (failure !== undefined) throw failure;
      if (b.targets >= options.batchTargets) {
        batch = undefined;
        await commit(b);
      }
    }
    if (batch) {
      const b = batch;
      batch = undefined;
      await commit(b);
    }
  } finally {
    await Promise.allSettled(inFlight);
    await batch?.tx.close();
  }
  return result;
}

/** compat 'signatures': what `airlock release` writes per release, and the published keys once per batch. */
async function writeCompat(b: Batch, repoDir: string, signers: ReleaseSigners, options: ImportOptions): Promise<void> {
  const staging = b.tx.stagingDir;
  const releaseOptions = { now: options.now, expiryDays: options.expiryDays, name: options.name, ...(options.userId ? { userId: options.userId } : {}) };
  for (const rel of b.releases) {
    const names = [...rel.artifacts];
    const releaseDir = `releases/${rel.project}/${rel.version}`;
    const ctx: CompatContext = {
      staging,
      repoDir,
      releaseDir,
      input: { project: rel.project, version: rel.version, commit: rel.record.commit, branch: rel.record.branch, sourceDateEpoch: rel.record.sourceDateEpoch, artifacts: names.map((name) => ({ name, path: join(staging, releaseDir, name) })), provenance: new Uint8Array() },
      names,
      targets: names.map((name) => {
        const info = b.additions[`${rel.project}/${rel.version}/${name}`]!;
        return { target: `${rel.project}/${rel.version}/${name}`, release: `${releaseDir}/${name}`, length: info.length, sha256: info.hashes.sha256! };
      }),
      signers,
      options: releaseOptions,
    };
    // Later releases of the batch extend the key files this batch staged (allowed_signers per
    // project): the writers read a staged keys/ file before the copy's.
    for (const writer of IMPORT_COMPAT_WRITERS) await writer.write(ctx);
  }
}
