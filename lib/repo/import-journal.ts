// Where an import stands, so a re-run continues where an interrupted one stopped
// (docs/import.md "Resuming"): `$AIRLOCK_HOME/imports/<id>.json`, one per archive
// directory, written (temporary name + rename) at each step. Releases are imported in
// byte order of (project, version), in two phases: batches of releases have their files
// moved into the copy (`pending` while one is moved, then counted in `staged`) and their
// targets kept in the spill (import-spill.ts); then one commit signs every staged target
// (`signing` while it runs) and `done` becomes the last release signed. A crash during a
// batch leaves `pending`: that batch is staged again (same bytes). A crash during the
// signing commit leaves `signing`: whether it reached the copy is read from the signed
// metadata (does it list the last staged target?), never guessed.
import { createHash } from 'node:crypto';
import { mkdir, readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { AirlockError, fromSystemError } from '../core/errors.js';
import { metadataFileName } from '../core/tuf-metadata.js';
import { binFor, layoutOf } from './hash-bins.js';
import type { LocalRepository } from './local-repository.js';

const FORMAT_VERSION = 2;

export interface ReleaseRef {
  project: string;
  version: string;
}

export interface StagedReleases {
  /** The last release whose files are in the copy. */
  through: ReleaseRef;
  /** Spill files 1..spills hold their targets. */
  spills: number;
  targets: number;
  /** A target of the last batch: listed in the metadata once the signing commit is in. */
  lastTarget: string;
}

export interface ImportJournal {
  formatVersion: 2;
  /** The archive directory, resolved. */
  source: string;
  /** The last release whose targets are signed into the copy's metadata. */
  done?: ReleaseRef;
  /** Releases in the copy whose targets wait in the spill for the signing commit. */
  staged?: StagedReleases;
  /** The batch being moved into the copy, through this release: staged again after a crash. */
  pending?: ReleaseRef;
  /** The signing commit started. */
  signing?: true;
  /** Batches staged and targets signed, by every run. */
  batches: number;
  targets: number;
}

/** Format 1 (one commit per batch, signed): read so an import interrupted by an older airlock resumes. */
interface ImportJournalV1 {
  formatVersion: 1;
  source: string;
  done?: ReleaseRef;
  pending?: ReleaseRef & { lastTarget: string; targets: number };
  batches: number;
  targets: number;
}

/** The journal's path for an archive directory (resolved, so `./a` and `/x/a` are one import). */
export async function importJournalPath(importsDir: string, archive: string): Promise<{ path: string; source: string }> {
  const source = await realpath(archive).catch((err: unknown) => {
    throw fromSystemError(err, `reading the archive ${archive}`);
  });
  const id = createHash('sha256').update(source).digest('hex').slice(0, 16);
  return { path: join(importsDir, `${id}.json`), source };
}

function isRef(v: unknown): v is ReleaseRef {
  const r = v as ReleaseRef;
  return typeof r === 'object' && r !== null && typeof r.project === 'string' && typeof r.version === 'string';
}

export async function readImportJournal(path: string, source: string): Promise<ImportJournal | ImportJournalV1 | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fromSystemError(err, `reading ${path}`);
  }
  let j: ImportJournal | ImportJournalV1;
  try {
    j = JSON.parse(bytes.toString('utf8')) as ImportJournal | ImportJournalV1;
  } catch (err) {
    throw new AirlockError('E_IMPORT_JOURNAL', `the import journal ${path} is not JSON; remove it only if nothing of this archive was imported yet`, { cause: err, details: { path } });
  }
  const count = (n: unknown): boolean => Number.isSafeInteger(n) && (n as number) >= 0;
  const common = typeof j === 'object' && j !== null && j.source === source && (j.done === undefined || isRef(j.done)) && count(j.batches) && count(j.targets);
  const ok =
    common &&
    (j.formatVersion === 1
      ? j.pending === undefined || (isRef(j.pending) && typeof j.pending.lastTarget === 'string' && count(j.pending.targets))
      : j.formatVersion === FORMAT_VERSION &&
        (j.pending === undefined || isRef(j.pending)) &&
        (j.signing === undefined || j.signing === true) &&
        (j.staged === undefined || (isRef(j.staged.through) && count(j.staged.spills) && count(j.staged.targets) && typeof j.staged.lastTarget === 'string')));
  if (!ok) throw new AirlockError('E_IMPORT_JOURNAL', `the import journal ${path} is not one this airlock wrote for ${source}; remove it only if nothing of this archive was imported yet`, { details: { path } });
  return j;
}

export async function writeImportJournal(path: string, journal: ImportJournal): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
  // Private like everything airlock keeps under its home: it names the archive and the releases moved.
  await writeFileAtomic(path, `${JSON.stringify(journal, null, 2)}\n`, { mode: 0o600 });
}

/** Whether the copy's signed metadata lists `target` (targets.json, or the bin its path falls in). */
export async function signedTargetExists(repo: LocalRepository, target: string): Promise<boolean> {
  const cur = await repo.current();
  const layout = layoutOf(cur.targets.signed.delegations);
  if (!layout) return cur.targets.signed.targets[target] !== undefined;
  const bin = binFor(layout, target);
  if (!cur.snapshot.signed.meta[metadataFileName(bin)]) return false;
  return (await repo.readDelegated(cur.snapshot.signed, bin))?.signed.targets[target] !== undefined;
}

export interface ResumePoint {
  /** The journal settled: a signing commit that reached the copy counted in `done`; `pending` and `signing` dropped. */
  journal: ImportJournal;
  /** The walk continues after this release (the last staged, else the last signed). */
  after?: ReleaseRef;
  /** An interrupted batch's releases, staged again (they may be partly in the copy: same bytes). */
  redoThrough?: ReleaseRef;
  /** The interrupted signing commit had reached the copy: the spill is no longer needed. */
  landed: boolean;
}

/** Where the import resumes (read-only: the caller writes the settled journal). */
export async function resumePoint(repo: LocalRepository, prior: ImportJournal | ImportJournalV1 | undefined, source: string): Promise<ResumePoint> {
  if (!prior) return { journal: { formatVersion: FORMAT_VERSION, source, batches: 0, targets: 0 }, landed: false };
  if (prior.formatVersion === 1) {
    const { done, pending, batches, targets } = prior;
    const journal: ImportJournal = { formatVersion: FORMAT_VERSION, source, batches, targets, ...(done ? { done } : {}) };
    if (pending && (await signedTargetExists(repo, pending.lastTarget))) {
      journal.done = { project: pending.project, version: pending.version };
      journal.batches++;
      journal.targets = pending.targets;
    }
    const redo = pending && journal.done !== undefined && journal.done.project === pending.project && journal.done.version === pending.version ? undefined : pending;
    return { journal, ...(journal.done ? { after: journal.done } : {}), ...(redo ? { redoThrough: { project: redo.project, version: redo.version } } : {}), landed: false };
  }
  const { pending, signing, ...journal } = prior;
  let landed = false;
  if (signing && journal.staged && (await signedTargetExists(repo, journal.staged.lastTarget))) {
    journal.done = journal.staged.through;
    journal.targets += journal.staged.targets;
    delete journal.staged;
    landed = true;
  }
  const after = journal.staged?.through ?? journal.done;
  return { journal, ...(after ? { after } : {}), ...(pending ? { redoThrough: pending } : {}), landed };
}
