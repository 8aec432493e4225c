// The import's spill (docs/import.md "How an import works"): the targets each staged
// batch adds, kept on disk until the one commit that signs them all, so an import's
// memory does not grow with the archive and each hash bin is signed once. Beside the
// journal, `$AIRLOCK_HOME/imports/<id>.spill/<n>.jsonl`, one file per batch, written whole
// (temporary name + rename, flushed) before the journal counts the batch. A line per
// target, `<SHA-256 of the path, hex>\t<JSON [path, TargetFileInfo]>`, sorted by that hash:
// the order of hash bins whatever their number (TAP 15: a bin is a prefix of it). Reading
// merges the batches' files into one stream in that order (transaction.ts
// StreamedTargets) the way an external sort does (lib/core/sorted-runs.ts): at most
// MERGE_FAN_IN files open at once, each read through one small buffer
// (lib/core/line-reader.ts), so a million-target import (100 batches) reads in the
// memory of a small one. Past that many batches the first ones are merged
// first into `merged-<n>.jsonl` runs beside them: derived files, written again by a
// resumed commit, while the batches' own files — what the journal counts — stay until
// the commit is in.
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { AirlockError, fromSystemError } from '../core/errors.js';
import { readLines } from '../core/line-reader.js';
import { mergeRuns, type RunStore } from '../core/sorted-runs.js';
import type { TargetFileInfo } from '../core/tuf-metadata.js';
import { targetPathHash } from '../verify/delegations.js';
import type { StreamedTargets } from './transaction.js';

/** Files merged at once; a merge holds one read buffer (lib/core LINE_READ_BYTES) and one line per file. */
export const MERGE_FAN_IN = 64;
const WRITE_BYTES = 1 << 20;

/** The spill directory of the import whose journal is `journalPath`. */
export function spillDirFor(journalPath: string): string {
  return `${journalPath.replace(/\.json$/, '')}.spill`;
}

const spillFile = (dir: string, n: number): string => join(dir, `${String(n).padStart(6, '0')}.jsonl`);
const mergedFile = (dir: string, n: number): string => join(dir, `merged-${String(n).padStart(6, '0')}.jsonl`);

/** Writes batch `n`'s targets, sorted by the hash of their paths; durable when it returns. */
export async function writeSpill(dir: string, n: number, additions: Record<string, TargetFileInfo>): Promise<void> {
  const lines = Object.entries(additions).map(([path, info]) => `${targetPathHash(path)}\t${JSON.stringify([path, info])}\n`);
  lines.sort();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(spillFile(dir, n), lines.join(''), { mode: 0o600 });
}

export async function removeSpill(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

function damaged(file: string): AirlockError {
  return new AirlockError('E_IMPORT_JOURNAL', `the import spill ${file} is damaged; remove the import's journal and spill and import the archive into a fresh copy, or restore them from a backup`, { details: { path: file } });
}

interface Head {
  key: string;
  line: string;
  entry: readonly [string, TargetFileInfo];
}

/** One file's targets, each line checked: strict (every line ends with a newline), one read buffer per file. */
async function* spillLines(file: string): AsyncGenerator<Head> {
  const lines = readLines(file, { unterminated: () => damaged(file), systemError: (err) => fromSystemError(err, `reading the import spill ${file}`) });
  for await (const line of lines) {
    const tab = line.indexOf('\t');
    let entry: unknown;
    try {
      entry = JSON.parse(line.slice(tab + 1));
    } catch {
      throw damaged(file);
    }
    const [path, info] = Array.isArray(entry) ? (entry as [unknown, TargetFileInfo]) : [];
    if (tab !== 64 || typeof path !== 'string' || typeof info?.length !== 'number' || typeof info.hashes?.sha256 !== 'string' || targetPathHash(path) !== line.slice(0, 64)) throw damaged(file);
    yield { key: line.slice(0, 64), line, entry: [path, info] };
  }
}

/** Hash order; equal hashes (a path staged twice, refused when its bin is signed) by file. */
const hashBefore = (a: Head, b: Head): boolean => a.key < b.key;

/** `lines` written to `out` (a run read back once by this commit: not flushed). */
async function writeRun(lines: AsyncIterable<Head>, out: string): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await open(out, 'w', 0o600);
  } catch (err) {
    throw fromSystemError(err, `writing the import spill ${out}`);
  }
  try {
    let pending: string[] = [];
    let bytes = 0;
    const flush = async (): Promise<void> => {
      await fh.writeFile(pending.join(''));
      pending = [];
      bytes = 0;
    };
    for await (const h of lines) {
      pending.push(`${h.line}\n`);
      bytes += h.line.length + 1;
      if (bytes >= WRITE_BYTES) await flush();
    }
    await flush();
  } catch (err) {
    throw fromSystemError(err, `writing the import spill ${out}`);
  } finally {
    await fh.close();
  }
}

/**
 * Batches 1..`spills`, merged into one stream in hash order. Past `fanIn` batches, the
 * first ones are merged into runs until `fanIn` files are left (the fewest lines written
 * again: 37 of 100 batches at the default).
 */
export function readSpill(dir: string, spills: number, count: number, fanIn = MERGE_FAN_IN): StreamedTargets {
  if (!Number.isSafeInteger(fanIn) || fanIn < 2) throw new Error('readSpill: fan-in below 2');
  return {
    count,
    async *entries() {
      const batches = Array.from({ length: spills }, (_, i) => spillFile(dir, i + 1));
      const written: string[] = [];
      const store: RunStore<string, Head> = {
        read: spillLines,
        write: async (lines) => {
          const out = mergedFile(dir, written.length + 1);
          written.push(out);
          await writeRun(lines, out);
          return out;
        },
        // A run merged again is not needed any more; a batch's file stays until the commit is in.
        drop: async (file) => {
          if (written.includes(file)) await rm(file, { force: true });
        },
      };
      try {
        for await (const h of mergeRuns(batches, fanIn, store, hashBefore)) yield h.entry;
      } finally {
        for (const f of written) await rm(f, { force: true });
      }
    },
  };
}
