// Remembers the SHA-256 of immutable files on a host, keyed by their length and mtime
// (rsync's "quick check"), so a publish does not read the whole release history back
// from every host to plan the next release. Only immutable paths are cached: they never
// change once published, and mutable files (timestamp.json, keys/, apt indices) are
// small and always read. The cost of trusting length+mtime: a host that altered an old
// file and kept both would not be repaired by publish — clients still refuse the file
// (TUF checks every target's hashes), and `--full-check` (no cache) finds it. Where the
// host names each version of an object (S3's ETag), that name must match too: an S3
// mtime has whole seconds, and an object replaced within the second keeps its length.
//
// Format 2 (issue 19: at a million targets the cache has two million entries, and a plan
// must not hold them): text, one file per host, written atomically, sorted by line —
// read as a stream beside the copy's manifest and the host's listing (plan.ts merges the
// three in one key order):
//   airlock-digest-cache 2
//   <JSON path>\t<length> <mtime> <sha256>[ <JSON version>]
// What a publish learns while it uploads is appended to a journal beside it,
// `<cache>.journal`, in the same line format (or `<JSON path>\t-` for a removed file),
// in no order; the next full plan folds it in (sorted on disk, the last line of a path
// wins) and rewrites the cache, then deletes the journal (a crash in between folds the
// same lines again). A format-1 cache (one JSON object) is read once, whole, and
// replaced; a damaged line is a miss (only a cache).
import { access, appendFile, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { temporaryNameFor } from '../core/atomic-file.js';
import { writeAll } from '../core/write-all.js';
import { classifyPath, isTemporaryPath } from './layout.js';
import { keyed, LineSorter, linesOf, mergeJoin, type SpillDir } from './line-spill.js';
import type { PutOptions, RemoteDigest, RemoteDirectory, RemoteFile, RenameOptions, Transport } from './transport.js';

const HEADER = 'airlock-digest-cache 2';
const REST = /^(0|[1-9][0-9]*) (0|[1-9][0-9]*) ([0-9a-f]{64})(?: ("(?:[^"\\]|\\.)*"))?$/;
/** Journal lines held before they are appended. */
const JOURNAL_BUFFER_LINES = 1024;

export interface CachedDigest {
  length: number;
  mtime: number;
  sha256: string;
  version?: string;
}

/** The line of a path's cached digest (its key is JSON.stringify(path), as everywhere in the plan). */
export function cacheLine(key: string, e: CachedDigest): string {
  return `${key}\t${e.length} ${e.mtime} ${e.sha256}${e.version !== undefined ? ` ${JSON.stringify(e.version)}` : ''}`;
}

/** A cache line's digest, or undefined when it is damaged. */
export function parseCachedDigest(rest: string): CachedDigest | undefined {
  const m = REST.exec(rest);
  if (!m) return undefined;
  const length = Number(m[1]);
  const mtime = Number(m[2]);
  if (!Number.isSafeInteger(length) || !Number.isSafeInteger(mtime)) return undefined;
  let version: unknown;
  try {
    version = m[4] === undefined ? undefined : JSON.parse(m[4]);
  } catch {
    return undefined;
  }
  if (version !== undefined && typeof version !== 'string') return undefined;
  return { length, mtime, sha256: m[3]!, ...(version !== undefined ? { version } : {}) };
}

export function cacheableImmutable(path: string): boolean {
  try {
    return classifyPath(path).immutable;
  } catch {
    return false;
  }
}

async function* fileLines(file: string): AsyncGenerator<string> {
  try {
    await access(file);
  } catch {
    return; // no cache yet
  }
  yield* linesOf(file);
}

/** One host's digest cache file and its journal. */
export class DigestCache {
  constructor(readonly file: string) {}

  get journal(): string {
    return `${this.file}.journal`;
  }

  /** The legacy (format 1) file this one replaces: `<name>.json` beside `<name>.digests`. */
  private get legacy(): string {
    return this.file.replace(/\.digests$/, '.json');
  }

  /** The cache, in key order, as [key, rest] (keyed lines, no header). */
  private async *stored(spill: SpillDir): AsyncGenerator<[string, string]> {
    let first = true;
    for await (const line of fileLines(this.file)) {
      if (first) {
        first = false;
        if (line !== HEADER) return; // not a cache of this format: empty
        continue;
      }
      const tab = line.indexOf('\t');
      if (tab > 0) yield [line.slice(0, tab), line.slice(tab + 1)];
    }
    if (!first || this.legacy === this.file) return;
    // Format 1, read once whole (the last time it is read: the next rewrite replaces it).
    let raw: { formatVersion?: unknown; files?: Record<string, Partial<CachedDigest>> };
    try {
      raw = JSON.parse(await readFile(this.legacy, 'utf8')) as typeof raw;
    } catch {
      return;
    }
    if (raw.formatVersion !== 1 || !raw.files || typeof raw.files !== 'object') return;
    const sorter = new LineSorter(spill);
    for (const [path, e] of Object.entries(raw.files)) {
      const d = parseCachedDigest(`${e.length} ${e.mtime} ${e.sha256}${typeof e.version === 'string' ? ` ${JSON.stringify(e.version)}` : ''}`);
      if (d) await sorter.add(cacheLine(JSON.stringify(path), d));
    }
    raw = {};
    yield* keyed(sorter.sorted());
  }

  /** The journal sorted on disk, each path once (its last line; `-` for removed). */
  private async *journaled(spill: SpillDir): AsyncGenerator<[string, string]> {
    const sorter = new LineSorter(spill);
    let seq = 0;
    for await (const line of fileLines(this.journal)) {
      const tab = line.indexOf('\t');
      // A sequence number after the key keeps a path's lines in the order they were written.
      if (tab > 0) await sorter.add(`${line.slice(0, tab)}\t${String(seq++).padStart(15, '0')}\t${line.slice(tab + 1)}`);
    }
    let last: [string, string] | undefined;
    for await (const [key, rest] of keyed(sorter.sorted())) {
      if (last !== undefined && last[0] !== key) yield last;
      last = [key, rest.slice(rest.indexOf('\t') + 1)];
    }
    if (last !== undefined) yield last;
  }

  /** Every cached digest, the journal folded in, in key order: [key, rest]. */
  async *entries(spill: SpillDir): AsyncGenerator<[string, string]> {
    for await (const [key, [stored, journaled]] of mergeJoin([this.stored(spill), this.journaled(spill)])) {
      const rest = journaled ?? stored!;
      if (rest !== '-') yield [key, rest];
    }
  }

  /**
   * A new cache, written in key order while a plan walks the host (temporary name):
   * commit() puts it in place and drops the journal it folded in; abort() leaves the old one.
   */
  async rewrite(): Promise<{ add(key: string, e: CachedDigest): Promise<void>; commit(): Promise<void>; abort(): Promise<void> }> {
    const tmp = temporaryNameFor(this.file);
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    const fh = await open(tmp, 'wx', 0o600);
    let buffer: string[] = [HEADER];
    const writeOut = async (): Promise<void> => {
      if (buffer.length === 0) return;
      await writeAll(fh, Buffer.from(`${buffer.join('\n')}\n`));
      buffer = [];
    };
    return {
      add: async (key, e) => {
        buffer.push(cacheLine(key, e));
        if (buffer.length >= JOURNAL_BUFFER_LINES) await writeOut();
      },
      commit: async () => {
        await writeOut();
        await fh.sync();
        await fh.close();
        await rename(tmp, this.file);
        await rm(this.journal, { force: true });
        if (this.legacy !== this.file) await rm(this.legacy, { force: true });
      },
      abort: async () => {
        await fh.close().catch(() => undefined);
        await rm(tmp, { force: true });
      },
    };
  }
}

/**
 * A transport that journals what a publish learns: the checked digest of each file it
 * renames into place (rename keeps the mtime), and the removal of an immutable path.
 * Lookups are the plan's (plan.ts reads DigestCache.entries beside the host's listing).
 */
export class DigestCachingTransport implements Transport {
  /** Digests of temporary files, carried over to their final name on rename. */
  private readonly pending = new Map<string, RemoteDigest>();
  private journalLines: string[] = [];
  /** A dry run's cache: read, never written. */
  readonly readOnly: boolean;
  readonly cache: DigestCache;

  readonly listDirectories?: () => AsyncIterable<RemoteDirectory>;
  readonly chmod?: (path: string, mode: number) => Promise<void>;
  readonly flush?: (paths: readonly string[]) => Promise<void>;
  readonly parallelFiles?: number;
  readonly writeInPlace?: Transport['writeInPlace'];

  private constructor(
    private readonly inner: Transport,
    file: string,
    /** With ignoreCached, the plan reads every digest from the host and rewrites the cache from them. */
    readonly ignoreCached: boolean,
    readOnly: boolean,
  ) {
    this.cache = new DigestCache(file);
    this.readOnly = readOnly;
    // Modes are not cached: the listing carries them, and a chmod changes no digest.
    if (inner.listDirectories) this.listDirectories = () => inner.listDirectories!();
    if (inner.chmod) this.chmod = (path, mode) => inner.chmod!(path, mode);
    const write = inner.writeInPlace?.bind(inner);
    if (write) {
      this.writeInPlace = async (local, path, options, onProgress) => {
        const result = await write(local, path, options, onProgress);
        // The read-back that follows (apply.ts) journals the digest as it is on the host.
        this.pending.set(path, { length: -1, sha256: '' });
        return result;
      };
    }
    if (inner.flush) this.flush = (paths) => inner.flush!(paths);
    if (inner.parallelFiles !== undefined) this.parallelFiles = inner.parallelFiles;
  }

  get host(): string {
    return this.inner.host;
  }

  static async wrap(inner: Transport, file: string, opts: { ignoreCached?: boolean; readOnly?: boolean } = {}): Promise<DigestCachingTransport> {
    return new DigestCachingTransport(inner, file, Boolean(opts.ignoreCached), Boolean(opts.readOnly));
  }

  list(): AsyncIterable<RemoteFile> {
    return this.inner.list();
  }

  async digest(path: string): Promise<RemoteDigest | undefined> {
    const d = await this.inner.digest(path);
    if (d?.mtime !== undefined) {
      if (isTemporaryPath(path)) this.pending.set(path, d);
      else if (this.pending.delete(path)) await this.remember(path, d); // read back after a write in place
    }
    return d;
  }

  private async remember(path: string, d: RemoteDigest): Promise<void> {
    if (this.readOnly || d.mtime === undefined || !cacheableImmutable(path)) return;
    this.journalLines.push(cacheLine(JSON.stringify(path), { length: d.length, mtime: d.mtime, sha256: d.sha256, ...(d.version !== undefined ? { version: d.version } : {}) }));
    if (this.journalLines.length >= JOURNAL_BUFFER_LINES) await this.writeJournal();
  }

  private async writeJournal(): Promise<void> {
    if (this.journalLines.length === 0) return;
    const lines = this.journalLines;
    this.journalLines = [];
    await mkdir(dirname(this.cache.journal), { recursive: true, mode: 0o700 });
    // Led by a newline: a line torn by an earlier crash ends there instead of swallowing the first one.
    await appendFile(this.cache.journal, `\n${lines.join('\n')}\n`, { mode: 0o600 });
  }

  readSmall(path: string, maxBytes: number): Promise<Uint8Array | undefined> {
    return this.inner.readSmall(path, maxBytes);
  }

  put(localFile: string, path: string, onProgress?: (bytesSent: number) => void, options?: PutOptions): Promise<void> {
    return this.inner.put(localFile, path, onProgress, options);
  }

  async rename(from: string, to: string, options: RenameOptions): Promise<'renamed' | 'exists'> {
    const result = await this.inner.rename(from, to, options);
    const d = this.pending.get(from);
    this.pending.delete(from);
    // rename(2) keeps the mtime, so the checked digest of the temporary file is the final file's.
    if (result === 'renamed' && d) await this.remember(to, d);
    return result;
  }

  async remove(path: string): Promise<void> {
    this.pending.delete(path);
    if (!this.readOnly && !isTemporaryPath(path) && cacheableImmutable(path)) this.journalLines.push(`${JSON.stringify(path)}\t-`);
    await this.inner.remove(path);
  }

  async close(): Promise<void> {
    try {
      await this.writeJournal();
    } finally {
      await this.inner.close();
    }
  }
}
