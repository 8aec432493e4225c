// `airlock import DIR`: an archive of earlier releases (import-archive.ts) signed into
// the terminal's repository copy, in two phases (docs/import.md "How an import works").
// First, batch by batch, the releases' files are staged (copied, then hashed from the
// copy the terminal holds, so what is signed is what is kept) and moved into the copy
// (commitStaged: content only, durable), their targets written to the spill
// (import-spill.ts). Then one transaction signs them all from the spill, streamed in
// hash order: each hash bin once, targets (when the layout changes), snapshot and
// timestamp once — re-signing every bin at every batch made a million-target import
// quadratic, and left gigabytes of superseded bin versions. A target's file is in the
// copy before any metadata names it; the walk streams (one directory listing at a
// time), a batch holds at most `batchTargets` targets and the signing one bin's, so
// memory does not grow with the archive; the journal (import-journal.ts) makes a re-run
// continue where an interrupted one stopped.
//
// Compatibility outputs (docs/import.md "What an import writes"): TUF targets and the
// human-readable `releases/` copies always; per-file .asc/.minisig/.sshsig/.sha512 and
// SHA256SUMS only with `compat: 'signatures'`, since they cost four files and three
// signatures per target (an OpenPGP signature alone costs more than all the rest of a
// target's import) and sign history with today's date.
import { createHash } from 'node:crypto';
import { constants, copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { hashFile } from '../core/digest.js';
import { collectGarbage } from '../core/garbage.js';
import { AirlockError, fromSystemError } from '../core/errors.js';
import { listedHashes, type TargetFileInfo } from '../core/tuf-metadata.js';
import { compareReleases, walkArchive, type ArchivedRelease } from './import-archive.js';
import { readImportJournal, resumePoint, writeImportJournal, type ReleaseRef } from './import-journal.js';
import { readSpill, removeSpill, spillDirFor, writeSpill } from './import-spill.js';
import { commitStaged, LocalRepository, type KnownDigests } from './local-repository.js';
import { IMPORT_COMPAT_WRITERS, releaseCustom, releaseExists, type CompatContext, type ReleaseSigners } from './release.js';
import { makeStaging, RepositoryTransaction, type TransactionOptions } from './transaction.js';

export type ImportCompat = 'tuf' | 'signatures';
export const IMPORT_COMPAT: readonly ImportCompat[] = ['tuf', 'signatures'];
// 10,000: a batch's bookkeeping (its targets, the files commitStaged moves) is the import's
// memory, so a larger batch makes a large import use more than a 10,000-target one; with
// signing deferred to one commit, a batch costs only its flushes (two syncfs).
export const DEFAULT_BATCH_TARGETS = 10_000;
/**
 * Keys an import unlocks at once: one. Each software key's scrypt holds 128 MiB; two at once
 * were an import's peak memory at any size (~320 MiB), for a second saved on a run of minutes.
 */
export const IMPORT_PARALLEL_UNLOCKS = 1;

export interface ImportOptions extends TransactionOptions {
  /** A batch closes once it holds at least this many targets (a release is never split). */
  batchTargets: number;
  compat: ImportCompat;
  /** Origin/Label and OpenPGP user id for the compat writers (compat 'signatures'). */
  name: string;
  userId?: string;
  /** Spill files merged at once when signing (import-spill.ts MERGE_FAN_IN unless set). */
  mergeFanIn?: number;
  /** The import journal (import-journal.ts). */
  journal: { path: string; source: string };
  /** After each batch moved into the copy (progress; a test interrupts here). */
  onBatch?: (e: ImportBatchEvent) => void | Promise<void>;
  /** Before the signing commit (progress; a test interrupts here). */
  onSigning?: (e: { targets: number }) => void | Promise<void>;
}

export interface ImportBatchEvent {
  batch: number;
  releases: number;
  targets: number;
  /** Targets staged so far by this archive's import, resumed runs included. */
  totalTargets: number;
  last: ReleaseRef;
}

export interface ImportResult {
  /** Releases and targets this run staged, and the targets it signed (an interrupted run's staged ones too). */
  releases: number;
  targets: number;
  signedTargets: number;
  batches: number;
  /** Hash bins the signing commit signed (each once). */
  bins: number;
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
  /** Resuming: after this release, with this many batches and targets already in (signed or staged). */
  resumedAfter?: ReleaseRef;
  importedTargets: number;
  /** Targets an interrupted run staged and did not sign yet: this run signs them. */
  unsigned: number;
  importedBatches: number;
  /** Releases of an interrupted batch whose commit did not reach the metadata: imported again. */
  redoThrough?: ReleaseRef;
}

const PARALLEL_RELEASES = 8;
/** Files up to this size are hashed from one read; larger ones stream. */
const WHOLE_READ_BYTES = 4 << 20;

function releaseDirExists(repoDir: string, r: ReleaseRef): boolean {
  return existsSync(join(repoDir, 'releases', r.project, r.version));
}

/**
 * The plan's reading of the archive, before any key or write: every release still to
 * import is walked and checked (layout, record, names) and refused if the copy already
 * holds it (E_RELEASE_EXISTS) — except the releases of an interrupted batch, which are
 * imported again. Streams: only counts are kept.
 */
export async function surveyArchive(repoDir: string, archive: string, journal: { path: string; source: string }): Promise<ArchiveSurvey> {
  const repo = new LocalRepository(repoDir);
  const resume = await resumePoint(repo, await readImportJournal(journal.path, journal.source), journal.source);
  const j = resume.journal;
  const survey: ArchiveSurvey = {
    source: journal.source,
    releases: 0,
    targets: 0,
    projects: 0,
    importedTargets: j.targets + (j.staged?.targets ?? 0),
    unsigned: j.staged?.targets ?? 0,
    importedBatches: j.batches,
    ...(resume.after ? { resumedAfter: resume.after } : {}),
    ...(resume.redoThrough ? { redoThrough: resume.redoThrough } : {}),
  };
  let project: string | undefined;
  for await (const rel of walkArchive(archive, resume.after)) {
    const redo = resume.redoThrough !== undefined && compareReleases(rel, resume.redoThrough) <= 0;
    if (!redo && releaseDirExists(repoDir, rel)) throw releaseExists(rel.project, rel.version);
    if (rel.project !== project) survey.projects++;
    project = rel.project;
    survey.first ??= { project: rel.project, version: rel.version };
    survey.last = { project: rel.project, version: rel.version };
    survey.releases++;
    survey.targets += rel.artifacts.length;
  }
  return survey;
}

async function digestsOf(path: string): Promise<{ length: number; sha256: string }> {
  if (statSync(path).size > WHOLE_READ_BYTES) {
    const { length, digests } = await hashFile(path);
    return { length, sha256: digests.sha256 };
  }
  const bytes = readFileSync(path);
  return { length: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
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
      additions[`${project}/${version}/${name}`] = { length: d.length, hashes: listedHashes(d), custom };
    }
  } catch (err) {
    throw fromSystemError(err, `importing ${join(rel.dir, name)}`);
  }
  return additions;
}

interface Batch {
  staging: string;
  additions: Record<string, TargetFileInfo>;
  releases: ArchivedRelease[];
  targets: number;
}

/** The copies a batch staged have the length and SHA-256 just computed: commitStaged does not read them again. */
function knownDigests(additions: Record<string, TargetFileInfo>): KnownDigests {
  const known = new Map<string, { length: number; sha256: string }>();
  for (const [path, info] of Object.entries(additions)) {
    const d = { length: info.length, sha256: info.hashes.sha256! };
    const slash = path.lastIndexOf('/');
    known.set(`targets/${path.slice(0, slash + 1)}${d.sha256}.${path.slice(slash + 1)}`, d);
    known.set(`releases/${path}`, d);
  }
  return known;
}

/**
 * Imports every release of `archive` not imported yet, and signs every target staged
 * (by this run or an interrupted one); returns what this run did. Refuses (before its
 * first write) what surveyArchive refuses; a target the metadata gained since is refused
 * by the signing commit before anything of it moves.
 */
export async function importArchive(repoDir: string, stagingRoot: string, archive: string, signers: ReleaseSigners, options: ImportOptions): Promise<ImportResult> {
  if (!Number.isSafeInteger(options.batchTargets) || options.batchTargets < 1) throw new AirlockError('E_USAGE', 'the batch size must be a whole number of targets, at least 1');
  if (options.compat === 'signatures' && (!signers.pgp || !signers.minisign)) {
    throw new AirlockError('E_KEY_NOT_FOUND', 'importing with --compat signatures needs a pgp and a minisign key; run `airlock key generate pgp` and `airlock key generate minisign`, or import with --compat tuf');
  }
  const repo = new LocalRepository(repoDir);
  const journalPath = options.journal.path;
  const spillDir = spillDirFor(journalPath);
  const resume = await resumePoint(repo, await readImportJournal(journalPath, options.journal.source), options.journal.source);
  const journal = resume.journal;
  const txOptions: TransactionOptions = { now: options.now, expiryDays: options.expiryDays, ...(options.hashBins ? { hashBins: options.hashBins } : {}) };
  const result: ImportResult = { releases: 0, targets: 0, signedTargets: 0, batches: 0, bins: 0, ...(resume.after ? { resumedAfter: resume.after } : {}) };
  // Releases an interrupted batch may have left partly in the copy stay recorded until
  // a batch has staged past them: a second interruption must not lose that.
  if (resume.redoThrough) journal.pending = resume.redoThrough;
  if (resume.landed || !journal.staged) {
    // Nothing in the spill is waiting (a batch file an interruption left is written again).
    await writeImportJournal(journalPath, journal);
    await removeSpill(spillDir);
  }

  let batch: Batch | undefined;
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;

  const stage = async (b: Batch): Promise<void> => {
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
    const last = b.releases.at(-1)!;
    if (options.compat === 'signatures') await writeCompat(b, repoDir, signers, options);
    const spills = (journal.staged?.spills ?? 0) + 1;
    await writeSpill(spillDir, spills, b.additions);
    const through = { project: last.project, version: last.version };
    const redoLeft = resume.redoThrough !== undefined && compareReleases(resume.redoThrough, through) > 0;
    journal.pending = redoLeft ? resume.redoThrough! : through;
    await writeImportJournal(journalPath, journal);
    // Content only: the files are in the copy (durably) before any metadata names them.
    await commitStaged(b.staging, repoDir, { known: knownDigests(b.additions) });
    journal.staged = { through: { project: last.project, version: last.version }, spills, targets: (journal.staged?.targets ?? 0) + b.targets, lastTarget: `${last.project}/${last.version}/${last.artifacts[0]}` };
    journal.batches++;
    if (redoLeft) journal.pending = resume.redoThrough!;
    else delete journal.pending;
    await writeImportJournal(journalPath, journal);
    result.releases += b.releases.length;
    result.targets += b.targets;
    result.batches++;
    // A full garbage collection once a batch is in, while nothing of it is live (lib/core/garbage.ts).
    collectGarbage();
    await options.onBatch?.({ batch: journal.batches, releases: b.releases.length, targets: b.targets, totalTargets: journal.targets + journal.staged.targets, last: journal.staged.through });
  };

  try {
    for await (const rel of walkArchive(archive, resume.after)) {
      const redo = resume.redoThrough !== undefined && compareReleases(rel, resume.redoThrough) <= 0;
      if (!redo && releaseDirExists(repoDir, rel)) throw releaseExists(rel.project, rel.version);
      batch ??= { staging: await makeStaging(stagingRoot), additions: {}, releases: [], targets: 0 };
      const b = batch;
      b.releases.push(rel);
      b.targets += rel.artifacts.length;
      const p: Promise<void> = stageRelease(b.staging, rel).then(
        (adds) => void Object.assign(b.additions, adds),
        (err: unknown) => void (failure ??= err),
      );
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      if (inFlight.size >= PARALLEL_RELEASES) await Promise.race(inFlight);
      if (failure !== undefined) throw failure;
      if (b.targets >= options.batchTargets) {
        batch = undefined;
        await stage(b);
      }
    }
    if (batch) {
      const b = batch;
      batch = undefined;
      await stage(b);
    }
  } finally {
    await Promise.allSettled(inFlight);
    if (batch) await rm(batch.staging, { recursive: true, force: true });
  }

  const staged = journal.staged;
  if (!staged) return result;
  await options.onSigning?.({ targets: staged.targets });
  journal.signing = true;
  await writeImportJournal(journalPath, journal);
  const tx = await RepositoryTransaction.open(repoDir, stagingRoot, txOptions);
  tx.addStreamedTargets(readSpill(spillDir, staged.spills, staged.targets, options.mergeFanIn));
  const committed = await tx.commit({ targets: [signers.targets], snapshot: [signers.snapshot], timestamp: [signers.timestamp] });
  journal.done = staged.through;
  journal.targets += staged.targets;
  delete journal.staged;
  delete journal.signing;
  await writeImportJournal(journalPath, journal);
  await removeSpill(spillDir);
  result.signedTargets = staged.targets;
  result.bins = committed.bins.length;
  const v = committed.next;
  result.metadataVersions = { targets: v.targets.signed.version, snapshot: v.snapshot.signed.version, timestamp: v.timestamp.signed.version };
  return result;
}

/** compat 'signatures': what `airlock release` writes per release, and the published keys once per batch. */
async function writeCompat(b: Batch, repoDir: string, signers: ReleaseSigners, options: ImportOptions): Promise<void> {
  const staging = b.staging;
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
