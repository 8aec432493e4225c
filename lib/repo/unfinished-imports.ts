// Imports that moved releases into the copy but have not signed them (import-journal.ts):
// `airlock import` moves each batch's files into releases/PROJECT/VERSION/ before its one
// signing commit, so until that commit is in — during a 1M import's signing step, or
// after an interruption — those directories are not releases anything has signed. Status
// names none of them and tells the user to re-run the import. Read-only: the journals
// are read and settled in memory as the import's own resume would (resumePoint), never
// written.
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fromSystemError } from '../core/errors.js';
import { compareReleases } from './import-archive.js';
import { readImportJournal, resumePoint, type ReleaseRef } from './import-journal.js';
import { LocalRepository } from './local-repository.js';

export interface UnfinishedImport {
  /** The archive directory: `airlock import` it again to finish. */
  source: string;
  /** The last release it signed, if any: releases after it … */
  signedThrough?: ReleaseRef;
  /** … through this one may be in the copy, unsigned. */
  movedThrough: ReleaseRef;
  /** Targets staged and waiting for the signing commit (a batch being moved is not counted yet). */
  unsignedTargets: number;
  /**
   * The archive is still there: a release in the range is this import's only if the
   * archive holds it (one released otherwise is signed; the import refuses any the copy
   * held before). Without the archive every release in the range is taken as unsigned.
   */
  archiveFound: boolean;
}

/** Journal file names importJournalPath gives (16 hex digits); spill directories and temporary files are not journals. */
const JOURNAL_NAME = /^[0-9a-f]{16}\.json$/;

/** Every unfinished import in `importsDir` ($AIRLOCK_HOME/imports), by its journal. */
export async function unfinishedImports(importsDir: string, repoDir: string): Promise<UnfinishedImport[]> {
  let names: string[];
  try {
    names = (await readdir(importsDir)).filter((n) => JOURNAL_NAME.test(n)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fromSystemError(err, `listing ${importsDir}`);
  }
  const repo = new LocalRepository(repoDir);
  const out: UnfinishedImport[] = [];
  for (const name of names) {
    const path = join(importsDir, name);
    // The journal names its own archive; readImportJournal checks the rest (E_IMPORT_JOURNAL).
    const source = await readFile(path, 'utf8').then(
      (text) => {
        try {
          const s = (JSON.parse(text) as { source?: unknown }).source;
          return typeof s === 'string' ? s : '';
        } catch {
          return '';
        }
      },
      () => '',
    );
    const prior = await readImportJournal(path, source);
    const { journal, redoThrough } = await resumePoint(repo, prior, source);
    const moved = [journal.staged?.through, redoThrough].filter((r): r is ReleaseRef => r !== undefined);
    if (moved.length === 0) continue;
    const movedThrough = moved.reduce((a, b) => (compareReleases(a, b) >= 0 ? a : b));
    const archiveFound = await stat(source).then((s) => s.isDirectory(), () => false);
    out.push({ source, ...(journal.done ? { signedThrough: journal.done } : {}), movedThrough, unsignedTargets: journal.staged?.targets ?? 0, archiveFound });
  }
  return out;
}

/**
 * Whether an unfinished import moved `project/version` in unsigned: it lies in the range
 * (signedThrough, movedThrough] and the import's archive holds it (or is gone). One stat
 * a release in the range, and only while an import is unfinished.
 */
export function heldUnsigned(imports: readonly UnfinishedImport[], release: ReleaseRef): boolean {
  return imports.some(
    (i) =>
      (i.signedThrough === undefined || compareReleases(release, i.signedThrough) > 0) &&
      compareReleases(release, i.movedThrough) <= 0 &&
      (!i.archiveFound || existsSync(join(i.source, release.project, release.version))),
  );
}
