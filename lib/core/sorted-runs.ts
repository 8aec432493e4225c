// The one k-way merge of sorted streams, for the external sorts of lists too long for
// memory (a publish plan's paths, lib/publish/line-spill.ts; an import's spill,
// lib/repo/import-spill.ts): sorted runs on disk merged through a binary heap of each
// run's next item, and a merge join over it. The fan-in is bounded because each run read
// at once holds an open file and a read buffer (lib/core/line-reader.ts): past that many
// runs, the first ones are merged into one run first, so a merge's memory and file
// descriptors stay the same whatever the list's length.

/** `a` sorts strictly before `b`. */
export type Before<T> = (a: T, b: T) => boolean;

interface Head<T> {
  value: T;
  readonly source: number;
  readonly it: AsyncIterator<T>;
}

/**
 * Sorted `sources` merged into one sorted stream, one item of each in memory. Stable:
 * equal items come in the order of their sources (the first source's first), and in
 * each source's own order. Every source is closed (`return()`) when the merge ends, fails,
 * or its consumer stops early.
 */
export function mergeSorted<T>(sources: readonly AsyncIterable<T>[], before: Before<T>): AsyncGenerator<T> {
  return merge(sources, before, (value) => value);
}

async function* merge<T, R>(sources: readonly AsyncIterable<T>[], before: Before<T>, out: (value: T, source: number) => R): AsyncGenerator<R> {
  const its = sources.map((s) => s[Symbol.asyncIterator]());
  const heap: Head<T>[] = [];
  const less = (a: Head<T>, b: Head<T>): boolean => before(a.value, b.value) || (!before(b.value, a.value) && a.source < b.source);
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  try {
    for (let source = 0; source < its.length; source++) {
      const it = its[source]!;
      const next = await it.next();
      if (!next.done) heap.push({ value: next.value, source, it });
    }
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i);
    while (heap.length > 0) {
      const top = heap[0]!;
      yield out(top.value, top.source);
      const next = await top.it.next();
      if (next.done) {
        const last = heap.pop()!;
        if (last !== top) heap[0] = last;
      } else top.value = next.value;
      down(0);
    }
  } finally {
    // Read-only sources: a failure to close one must not hide why the merge ended.
    await Promise.allSettled(its.map((it) => it.return?.(undefined)));
  }
}

/** Where a multi-pass merge keeps its runs (files of a spill directory). */
export interface RunStore<R, T> {
  /** A run's items, in order. */
  read(run: R): AsyncIterable<T>;
  /** A new run holding `items` (sorted), read back later by `read`. */
  write(items: AsyncIterable<T>): Promise<R>;
  /** A run merged into a new one, no longer needed. */
  drop(run: R): Promise<void>;
}

/**
 * Sorted `runs` merged into one sorted stream, reading at most `fanIn` runs at once. Past
 * `fanIn` runs, the first ones are merged into a new run, appended last — as few as bring
 * the count down to `fanIn`, so no item is written again twice until the runs outnumber
 * fanIn² — and dropped. Equal items keep the order mergeSorted gives them in each pass.
 */
export async function* mergeRuns<R, T>(runs: readonly R[], fanIn: number, store: RunStore<R, T>, before: Before<T>): AsyncGenerator<T> {
  if (!Number.isSafeInteger(fanIn) || fanIn < 2) throw new RangeError('mergeRuns: a merge reads at least two runs at once');
  const left = [...runs];
  while (left.length > fanIn) {
    const group = left.splice(0, Math.min(fanIn, left.length - fanIn + 1));
    const merged = await store.write(mergeSorted(group.map((run) => store.read(run)), before));
    for (const run of group) await store.drop(run);
    left.push(merged);
  }
  yield* mergeSorted(
    left.map((run) => store.read(run)),
    before,
  );
}

const keyBefore = (a: readonly [string, string], b: readonly [string, string]): boolean => a[0] < b[0];

/**
 * Sorted keyed streams walked side by side (a merge join): for each key, in order, what
 * each stream has for it (`undefined`: nothing). Each stream yields [key, rest] in
 * ascending key order (UTF-16 code units), each key at most once; a stream that repeats
 * a key gives a second row for it, and the other streams' values for that key go with
 * the repeat's last row (no caller has repeats: manifest, host listing and cache list a
 * path once). Every stream is closed when the join ends or its consumer stops early.
 */
export async function* mergeJoin(streams: readonly AsyncIterable<[string, string]>[]): AsyncGenerator<[string, (string | undefined)[]]> {
  const row = (): (string | undefined)[] => new Array<string | undefined>(streams.length).fill(undefined);
  let key: string | undefined;
  let rests = row();
  for await (const [[k, rest], source] of merge(streams, keyBefore, (value, s) => [value, s] as const)) {
    if (key !== undefined && (k !== key || rests[source] !== undefined)) {
      yield [key, rests];
      rests = row();
    }
    key = k;
    rests[source] = rest;
  }
  if (key !== undefined) yield [key, rests];
}
