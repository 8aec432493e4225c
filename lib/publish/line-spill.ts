// Lists a full publish plan cannot hold (issue 19: a million targets make two million
// paths on each side — the copy's manifest, the host's listing, the digest cache, the
// uploads still to do) are kept as lines, on disk once they grow past a bound: appended
// and read back in order (LineSpill), or sorted by an external merge sort (LineSorter:
// sorted chunks, merged at most MERGE_FAN_IN at a time by lib/core/sorted-runs.ts). Memory
// is one chunk per list, and at most MERGE_FAN_IN open files and read buffers per list,
// whatever its length. Small lists never touch the disk. The files go to a private directory
// (mkdtemp under the OS temporary directory, 0700) that the plan's owner removes
// (SpillDir.remove); they hold paths, lengths and digests of public files, no secret. A
// plan killed before it could remove its directory (SIGTERM, Ctrl-C and SIGKILL end Node
// without a finally; a 1M-target plan leaves ~440 MB) has it swept by the next plan that
// spills: the directory's name carries the pid that made it.
import { lstat, mkdtemp, open, readdir, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectGarbage } from '../core/garbage.js';
import { fromSystemError } from '../core/errors.js';
import { readLines } from '../core/line-reader.js';
import { mergeRuns, type RunStore } from '../core/sorted-runs.js';
import { writeAll } from '../core/write-all.js';

export { mergeJoin } from '../core/sorted-runs.js';

/**
 * Lines a sorter holds before it sorts them and writes them out. A line is ~200 bytes,
 * but until the sort flattens it, it also keeps alive the strings it was built from
 * (~600 bytes in all): 16,384 lines are ~10 MiB. At two million paths that is ~120 runs.
 */
export const SORT_CHUNK_LINES = 16384;
/**
 * Sorted runs a merge reads at once, each through a 16 KiB buffer and one open file: a
 * plan merges three lists at once (copy, host, cache), so ~48 files whatever the
 * repository's size. Past that many runs the first ones are merged into one run first
 * (written to the spill directory, their files removed).
 */
export const MERGE_FAN_IN = 16;
/** Lines a spill holds before it appends them to its file. */
const SPILL_BUFFER_LINES = 4096;

/** How many lines all the spills and sorters of one plan hold in memory: the bound tests pin. */
export interface HeldGauge {
  now: number;
  max: number;
}

/** Counts `n` more (or, negative, fewer) held in `gauge`, keeping its peak. */
export function hold(gauge: HeldGauge | undefined, n: number): void {
  if (!gauge) return;
  gauge.now += n;
  if (gauge.now > gauge.max) gauge.max = gauge.now;
}

/** A spill directory's name: this prefix, the pid of the process that made it, '-', mkdtemp's suffix. */
const SPILL_PREFIX = 'airlock-plan-';

/**
 * Removes the spill directories of plans whose process is gone. Only this user's, only
 * real directories (a symlink planted under such a name is left alone), and only when
 * no process has the pid in the name: a pid reused since only delays the sweep. The
 * temporary directory's sticky bit keeps others from swapping one between the check and
 * the removal.
 */
async function sweepAbandoned(): Promise<void> {
  const dir = tmpdir();
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(SPILL_PREFIX)) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(SPILL_PREFIX.length))?.[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || running(pid)) continue;
    const path = join(dir, name);
    const st = await lstat(path).catch(() => undefined);
    if (st === undefined || !st.isDirectory() || st.uid !== process.getuid?.()) continue;
    await rm(path, { recursive: true, force: true }).catch(() => undefined);
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: a process of another user has it.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The private directory a plan's spilled lists live in, made on the first spill. */
export class SpillDir {
  private dir: string | undefined;
  private files = 0;
  /** Spilled files being read at once, now and at most (the merge's bound: tests pin it). */
  readonly reading: HeldGauge = { now: 0, max: 0 };

  constructor(
    readonly gauge?: HeldGauge,
    readonly chunkLines = SORT_CHUNK_LINES,
    readonly fanIn = MERGE_FAN_IN,
  ) {
    if (fanIn < 2) throw new RangeError('a merge reads at least two runs at once');
  }

  async file(): Promise<string> {
    if (this.dir === undefined) {
      await sweepAbandoned();
      this.dir ??= await mkdtemp(join(tmpdir(), `${SPILL_PREFIX}${process.pid}-`));
    }
    return join(this.dir, String(this.files++));
  }

  /** Whether anything went to disk (tests). */
  get used(): boolean {
    return this.dir !== undefined;
  }

  async remove(): Promise<void> {
    if (this.dir !== undefined) await rm(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}

/**
 * A spill or cache file's lines, streamed (lib/core/line-reader.ts: a merge has dozens of
 * files open at once); a failing read (EIO, EMFILE) is an AirlockError naming the file.
 */
export function linesOf(file: string): AsyncGenerator<string> {
  return readLines(file, { systemError: (err) => fromSystemError(err, `reading ${file}`) });
}

/** Lines (without newlines) appended, then read back in the same order, as often as needed. */
export class LineSpill {
  private buffer: string[] = [];
  private file: string | undefined;
  private fh: FileHandle | undefined;
  count = 0;

  constructor(private readonly dir: SpillDir) {}

  async add(line: string): Promise<void> {
    this.buffer.push(line);
    this.count++;
    hold(this.dir.gauge, 1);
    if (this.buffer.length >= Math.min(SPILL_BUFFER_LINES, this.dir.chunkLines)) await this.writeOut();
  }

  private async writeOut(): Promise<void> {
    if (this.buffer.length === 0) return;
    this.file ??= await this.dir.file();
    this.fh ??= await open(this.file, 'wx', 0o600);
    await writeAll(this.fh, Buffer.from(`${this.buffer.join('\n')}\n`));
    hold(this.dir.gauge, -this.buffer.length);
    this.buffer = [];
  }

  /** Writes every held line out (a sorted run: the merge reads it from its file). */
  async finish(): Promise<void> {
    await this.writeOut();
    await this.fh?.close();
    this.fh = undefined;
  }

  /** Every line added, in order: the file's, then those still held. */
  async *lines(): AsyncGenerator<string> {
    if (this.fh !== undefined) {
      await this.fh.close();
      this.fh = undefined;
    }
    if (this.file !== undefined) {
      hold(this.dir.reading, 1);
      try {
        yield* linesOf(this.file);
      } finally {
        hold(this.dir.reading, -1);
      }
    }
    yield* this.buffer;
  }

  /** Deletes the list's file (a run merged into another); the spill is empty after. */
  async remove(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
    if (this.file !== undefined) await rm(this.file, { force: true });
    this.file = undefined;
    hold(this.dir.gauge, -this.buffer.length);
    this.buffer = [];
    this.count = 0;
  }

  /** The lines in groups of at most `size`. */
  async *batches(size: number): AsyncGenerator<string[]> {
    let batch: string[] = [];
    for await (const line of this.lines()) {
      batch.push(line);
      if (batch.length >= size) {
        yield batch;
        batch = [];
        collectGarbage(); // the batch is done with: see writeChunk
      }
    }
    if (batch.length > 0) yield batch;
  }
}

/**
 * Lines sorted by UTF-16 code units (JavaScript's default sort, the `<` of strings):
 * chunks of `chunkLines` sorted in memory and written out, then merged (`fanIn` at a
 * time, lib/core/sorted-runs.ts). Equal lines are the same string, so their order is
 * moot: callers that need one key's lines in order add a sequence number after the key.
 */
export class LineSorter {
  private chunk: string[] = [];
  private readonly runs: LineSpill[] = [];
  private read = false;

  constructor(private readonly dir: SpillDir) {}

  async add(line: string): Promise<void> {
    this.chunk.push(line);
    hold(this.dir.gauge, 1);
    if (this.chunk.length >= this.dir.chunkLines) await this.writeChunk();
  }

  private async writeChunk(): Promise<void> {
    const chunk = this.chunk.sort();
    this.chunk = [];
    const run = new LineSpill(this.dir);
    for (const line of chunk) await run.add(line);
    hold(this.dir.gauge, -chunk.length);
    await run.finish();
    this.runs.push(run);
    // The chunk is garbage now: collected here, the heap stays near one chunk (lib/core/garbage.ts).
    chunk.length = 0;
    collectGarbage();
  }

  /** The lines in order, once: the merge drops the runs it reads. */
  async *sorted(): AsyncGenerator<string> {
    if (this.read) throw new Error('LineSorter: sorted() called twice');
    this.read = true;
    if (this.runs.length === 0) {
      yield* this.chunk.sort();
      return;
    }
    await this.writeChunk();
    const runs = this.runs.splice(0);
    yield* mergeRuns(runs, this.dir.fanIn, this.store, lineBefore);
  }

  /** Runs are LineSpills of the plan's directory; a merged run's lines are garbage once written. */
  private readonly store: RunStore<LineSpill, string> = {
    read: (run) => run.lines(),
    write: async (lines) => {
      const merged = new LineSpill(this.dir);
      for await (const line of lines) await merged.add(line);
      await merged.finish();
      collectGarbage();
      return merged;
    },
    drop: (run) => run.remove(),
  };
}

const lineBefore = (a: string, b: string): boolean => a < b;

/** A sorted stream of `key\trest` lines as [key, rest] pairs (keys are JSON strings: no tab inside). */
export async function* keyed(lines: AsyncIterable<string>): AsyncGenerator<[string, string]> {
  for await (const line of lines) {
    const tab = line.indexOf('\t');
    yield tab < 0 ? [line, ''] : [line.slice(0, tab), line.slice(tab + 1)];
  }
}
