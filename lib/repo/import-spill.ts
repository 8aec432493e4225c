// The import's spill (docs/import.md "How an import works"): the targets each staged
// batch adds, kept on disk until the one commit that signs them all, so an import's
// memory does not grow with the archive and each hash bin is signed once. Beside the
// journal, `$AIRLOCK_HOME/imports/<id>.spill/<n>.jsonl`, one file per batch, written whole
// (temporary name + rename, flushed) before the journal counts the batch. A line per
// target, `<SHA-256 of the path, hex>\t<JSON [path, TargetFileInfo]>`, sorted by that hash:
// the order of hash bins whatever their number (TAP 15: a bin is a prefix of it). Reading
// merges the batches' files, one line of each in memory, into one stream in that order
// (transaction.ts StreamedTargets).
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { writeFileAtomic } from '../core/atomic-file.js';
import { AirlockError, fromSystemError } from '../core/errors.js';
import type { TargetFileInfo } from '../core/tuf-metadata.js';
import { targetPathHash } from '../verify/delegations.js';
import type { StreamedTargets } from './transaction.js';

/** The spill directory of the import whose journal is `journalPath`. */
export function spillDirFor(journalPath: string): string {
  return `${journalPath.replace(/\.json$/, '')}.spill`;
}

const spillFile = (dir: string, n: number): string => join(dir, `${String(n).padStart(6, '0')}.jsonl`);

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
  entry: readonly [string, TargetFileInfo];
}

async function* spillLines(file: string): AsyncGenerator<Head> {
  const lines = createInterface({ input: createReadStream(file, { highWaterMark: 1 << 16 }), crlfDelay: Infinity });
  const it = lines[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<string>;
    try {
      next = await it.next();
    } catch (err) {
      throw fromSystemError(err, `reading the import spill ${file}`);
    }
    if (next.done) return;
    const line = next.value;
    const tab = line.indexOf('\t');
    let entry: unknown;
    try {
      entry = JSON.parse(line.slice(tab + 1));
    } catch {
      throw damaged(file);
    }
    const [path, info] = Array.isArray(entry) ? (entry as [unknown, TargetFileInfo]) : [];
    if (tab !== 64 || typeof path !== 'string' || typeof info?.length !== 'number' || typeof info.hashes?.sha256 !== 'string' || targetPathHash(path) !== line.slice(0, 64)) throw damaged(file);
    yield { key: line.slice(0, 64), entry: [path, info] };
  }
}

/** Batches 1..`spills`, merged into one stream in hash order (a k-way merge: one line per batch in memory). */
export function readSpill(dir: string, spills: number, count: number): StreamedTargets {
  return {
    count,
    async *entries() {
      const sources = Array.from({ length: spills }, (_, i) => spillLines(spillFile(dir, i + 1)));
      const heads: (Head | undefined)[] = [];
      try {
        for (const s of sources) heads.push((await s.next()).value ?? undefined);
        for (;;) {
          let min = -1;
          for (let i = 0; i < heads.length; i++) if (heads[i] && (min < 0 || heads[i]!.key < heads[min]!.key)) min = i;
          if (min < 0) return;
          yield heads[min]!.entry;
          heads[min] = (await sources[min]!.next()).value ?? undefined;
        }
      } finally {
        for (const s of sources) await s.return(undefined);
      }
    },
  };
}
