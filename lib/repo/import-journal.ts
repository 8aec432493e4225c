// Where an import stands, so a re-run continues where an interrupted one stopped
// (docs/import.md "Resuming"): `$AIRLOCK_HOME/imports/<id>.json`, one per archive
// directory, written (temporary name + rename) before each batch's commit with the
// batch as `pending`, and after it with the batch as `done`. Releases are imported in
// byte order of (project, version), so `done` — the last release of the last committed
// batch — is the whole of what is imported. A crash between the commit and the second
// write leaves `pending`: whether that batch is in the copy is read from the signed
// metadata (does it list the batch's last target?), never guessed.
import { createHash } from 'node:crypto';
import { mkdir, readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { AirlockError, fromSystemError } from '../core/errors.js';
import { metadataFileName } from '../core/tuf-metadata.js';
import { binFor, layoutOf } from './hash-bins.js';
import type { LocalRepository } from './local-repository.js';

const FORMAT_VERSION = 1;

export interface ReleaseRef {
  project: string;
  version: string;
}

export interface ImportJournal {
  formatVersion: 1;
  /** The archive directory, resolved. */
  source: string;
  /** The last release of the last committed batch. */
  done?: ReleaseRef;
  /** The batch being committed: its last release, a target path of it, and the target count once it is in. */
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

export async function readImportJournal(path: string, source: string): Promise<ImportJournal | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fromSystemError(err, `reading ${path}`);
  }
  let j: ImportJournal;
  try {
    j = JSON.parse(bytes.toString('utf8')) as ImportJournal;
  } catch (err) {
    throw new AirlockError('E_IMPORT_JOURNAL', `the import journal ${path} is not JSON; remove it only if nothing of this archive was imported yet`, { cause: err, details: { path } });
  }
  const ok =
    j?.formatVersion === FORMAT_VERSION &&
    j.source === source &&
    (j.done === undefined || isRef(j.done)) &&
    (j.pending === undefined || (isRef(j.pending) && typeof j.pending.lastTarget === 'string' && Number.isSafeInteger(j.pending.targets))) &&
    Number.isSafeInteger(j.batches) &&
    Number.isSafeInteger(j.targets);
  if (!ok) throw new AirlockError('E_IMPORT_JOURNAL', `the import journal ${path} is not one this airlock wrote for ${source}; remove it only if nothing of this archive was imported yet`, { details: { path } });
  return j;
}

export async function writeImportJournal(path: string, journal: ImportJournal): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, `${JSON.stringify(journal, null, 2)}\n`);
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

/**
 * Where the import resumes: after `done`, or after `pending` when that batch's commit
 * reached the signed metadata before the interruption. `redo` is the pending batch that
 * did not: its releases may have partly reached the copy's release directories (commit
 * moves content before metadata) and are imported again, with the same bytes.
 */
export async function resumePoint(repo: LocalRepository, journal: ImportJournal | undefined): Promise<{ after?: ReleaseRef; redoThrough?: ReleaseRef; batches: number; targets: number }> {
  if (!journal) return { batches: 0, targets: 0 };
  const { done, pending, batches, targets } = journal;
  if (pending && (await signedTargetExists(repo, pending.lastTarget))) return { after: { project: pending.project, version: pending.version }, batches: batches + 1, targets: pending.targets };
  return { ...(done ? { after: done } : {}), ...(pending ? { redoThrough: { project: pending.project, version: pending.version } } : {}), batches, targets };
}
