// The one k-way merge, over real run files in a temporary directory: sorted across many
// runs with the fan-in forced small (passes that write intermediate runs, merged again),
// stable for equal keys, empty runs, never more than the fan-in read at once, every file
// closed when the consumer stops early or a damaged run is refused; and the merge join.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AirlockError } from '../../lib/core/errors.js';
import { readLines } from '../../lib/core/line-reader.js';
import { mergeJoin, mergeRuns, mergeSorted, type RunStore } from '../../lib/core/sorted-runs.js';
import { openFilesUnder } from '../support/open-files.js';

let work: string;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'airlock-runs-'));
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const openFiles = (): number => openFilesUnder(work);

async function* from<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** `key tag` lines ordered by key alone: the tag shows which run and line an item came from. */
const keyOf = (line: string): string => line.slice(0, line.indexOf(' '));
const byKey = (a: string, b: string): boolean => keyOf(a) < keyOf(b);

/** Run files in the test's directory, strict, counting the runs read at once and the runs dropped. */
class FileRuns implements RunStore<string, string> {
  reading = 0;
  maxReading = 0;
  written = 0;
  readonly dropped: string[] = [];

  async run(lines: readonly string[]): Promise<string> {
    const file = join(work, `run-${this.written++}`);
    await writeFile(file, lines.map((l) => `${l}\n`).join(''));
    return file;
  }

  async *read(run: string): AsyncGenerator<string> {
    this.maxReading = Math.max(this.maxReading, ++this.reading);
    try {
      yield* readLines(run, { unterminated: () => new AirlockError('E_IMPORT_JOURNAL', `${run} cut short`, { details: { path: run } }) });
    } finally {
      this.reading--;
    }
  }

  async write(items: AsyncIterable<string>): Promise<string> {
    const lines: string[] = [];
    for await (const line of items) lines.push(line);
    return this.run(lines);
  }

  async drop(run: string): Promise<void> {
    this.dropped.push(run);
    await rm(run);
  }
}

/** `runs` sorted runs of scrambled keys, some keys in several runs: [runs' lines, their files]. */
async function scrambledRuns(store: FileRuns, runs: number, per: number): Promise<[string[][], string[]]> {
  const lines: string[][] = [];
  for (let r = 0; r < runs; r++) {
    const run: string[] = [];
    for (let i = 0; i < per; i++) run.push(`k${String(((r * per + i) * 7919) % 97).padStart(3, '0')} r${r}.${i}`);
    run.sort((a, b) => (byKey(a, b) ? -1 : byKey(b, a) ? 1 : 0));
    lines.push(run);
  }
  return [lines, await Promise.all(lines.map((l) => store.run(l)))];
}

describe('mergeSorted', () => {
  it('merges in order, equal keys in the order of their sources, then of each source', async () => {
    const got = await all(mergeSorted([from(['a 0.0', 'b 0.1', 'b 0.2']), from([]), from(['a 2.0', 'b 2.1', 'c 2.2']), from(['b 3.0'])], byKey));
    expect(got).toEqual(['a 0.0', 'a 2.0', 'b 0.1', 'b 0.2', 'b 2.1', 'b 3.0', 'c 2.2']);
    expect(await all(mergeSorted([], byKey))).toEqual([]);
    expect(await all(mergeSorted([from([]), from([])], byKey))).toEqual([]);
  });

  it('closes every source when the consumer stops early', async () => {
    const closed: number[] = [];
    async function* source(i: number): AsyncGenerator<string> {
      try {
        for (let n = 0; n < 100; n++) yield `k${String(n).padStart(3, '0')} ${i}`;
      } finally {
        closed.push(i);
      }
    }
    for await (const line of mergeSorted([source(0), source(1), source(2)], byKey)) if (line.startsWith('k010')) break;
    expect(closed.sort()).toEqual([0, 1, 2]);
  });
});

describe('mergeRuns', () => {
  it('sorts across many runs in passes when they outnumber the fan-in, reading at most the fan-in at once', async () => {
    for (const fanIn of [2, 3, 64]) {
      const store = new FileRuns();
      const [lines, files] = await scrambledRuns(store, 23, 9);
      files.push(await store.run([])); // an empty run
      const got = await all(mergeRuns(files, fanIn, store, byKey));
      const keys = got.map(keyOf);
      expect(got.slice().sort()).toEqual(lines.flat().sort());
      expect(keys).toEqual(keys.slice().sort());
      expect(store.maxReading).toBe(Math.min(fanIn, files.length));
      expect(store.reading).toBe(0);
      if (fanIn < files.length) {
        // Every input run merged into another is dropped, and so is every intermediate run merged again.
        expect(store.dropped.length).toBeGreaterThanOrEqual(files.length - fanIn + 1);
        expect(store.written).toBeGreaterThan(files.length);
      } else {
        expect(store.dropped).toEqual([]);
        // One pass: equal keys by run, then by line.
        const stable = lines.flatMap((run, r) => run.map((line, i) => ({ line, r, i }))).sort((a, b) => (byKey(a.line, b.line) ? -1 : byKey(b.line, a.line) ? 1 : a.r - b.r || a.i - b.i));
        expect(got).toEqual(stable.map((x) => x.line));
      }
      expect(openFiles()).toBe(0);
      await rm(work, { recursive: true });
      work = await mkdtemp(join(tmpdir(), 'airlock-runs-'));
    }
  });

  it('merges a run count at the fan-in in one pass, and nothing from no runs', async () => {
    const store = new FileRuns();
    const [lines, files] = await scrambledRuns(store, 3, 5);
    expect((await all(mergeRuns(files, 3, store, byKey))).sort()).toEqual(lines.flat().sort());
    expect([store.written, store.dropped.length]).toEqual([3, 0]);
    expect(await all(mergeRuns([], 2, store, byKey))).toEqual([]);
    await expect(all(mergeRuns(files, 1, store, byKey))).rejects.toThrow(RangeError);
  });

  it('leaves no file open when the consumer stops early after the passes', async () => {
    const store = new FileRuns();
    const [, files] = await scrambledRuns(store, 10, 50);
    let seen = 0;
    for await (const _ of mergeRuns(files, 3, store, byKey)) {
      void _;
      if (++seen === 1) expect(openFiles()).toBe(3);
      if (seen === 100) break;
    }
    expect(openFiles()).toBe(0);
    expect(store.reading).toBe(0);
  });

  it('refuses a damaged run (strict), closing every file', async () => {
    const store = new FileRuns();
    const [, files] = await scrambledRuns(store, 6, 20);
    await writeFile(files[4]!, 'k000 cut\nk001 short'); // no final newline
    await expect(all(mergeRuns(files, 2, store, byKey))).rejects.toMatchObject({ code: 'E_IMPORT_JOURNAL', details: { path: files[4] } });
    expect(openFiles()).toBe(0);
    expect(store.reading).toBe(0);
  });
});

describe('mergeJoin', () => {
  it('gives each key once with what each stream has for it', async () => {
    const rows = await all(
      mergeJoin([
        from<[string, string]>([
          ['a', '1'],
          ['c', '3'],
        ]),
        from<[string, string]>([]),
        from<[string, string]>([
          ['b', 'x'],
          ['c', 'y'],
          ['d', ''],
        ]),
      ]),
    );
    expect(rows).toEqual([
      ['a', ['1', undefined, undefined]],
      ['b', [undefined, undefined, 'x']],
      ['c', ['3', undefined, 'y']],
      ['d', [undefined, undefined, '']],
    ]);
    expect(await all(mergeJoin([from<[string, string]>([]), from<[string, string]>([])]))).toEqual([]);
  });

  it('gives a key a stream repeats a second row, never two values in one cell', async () => {
    const rows = await all(
      mergeJoin([
        from<[string, string]>([
          ['k', '1'],
          ['k', '2'],
        ]),
        from<[string, string]>([['k', 'x']]),
      ]),
    );
    expect(rows).toEqual([
      ['k', ['1', undefined]],
      ['k', ['2', 'x']],
    ]);
  });

  it('closes every stream when the consumer stops early', async () => {
    let open = 0;
    async function* stream(): AsyncGenerator<[string, string]> {
      open++;
      try {
        for (let n = 0; n < 100; n++) yield [String(n).padStart(3, '0'), ''];
      } finally {
        open--;
      }
    }
    for await (const [key] of mergeJoin([stream(), stream()])) if (key === '010') break;
    expect(open).toBe(0);
  });
});
