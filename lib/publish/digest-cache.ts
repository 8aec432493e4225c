// Remembers the SHA-256 of immutable files on a host, keyed by their length and mtime
// (rsync's "quick check"), so a publish does not read the whole release history back
// from every host to plan the next release. Only immutable paths are cached: they never
// change once published, and mutable files (timestamp.json, keys/, apt indices) are
// small and always read. The cost of trusting length+mtime: a host that altered an old
// file and kept both would not be repaired by publish — clients still refuse the file
// (TUF checks every target's hashes), and `--full-check` (no cache) finds it. Where the
// host names each version of an object (S3's ETag), that name must match too: an S3
// mtime has whole seconds, and an object replaced within the second keeps its length.
// Format: { "formatVersion": 1, "files": { path: { length, mtime, sha256, version? } } },
// one file per host, written atomically.
//
// Cached digests answer only for a listed file, and an incremental publish (plan.ts: the
// files added since the last publish, looked up by path) lists nothing: so the cache is
// read at the first list(), not when opened — at 100,000 targets it is ~36 MB of JSON
// that a one-target release read and rewrote whole (issue 19). What a publish learns
// before any listing (the files it uploads) is appended to a journal beside the cache,
// `<cache>.journal`: one JSON object a line, `{ path, length, mtime, sha256, version? }`,
// or `{ path, removed: true }`; the next read folds it in, and the next rewrite of the
// cache deletes it first (a crash in between loses entries: only a cache).
import { appendFile, readFile, rm } from 'node:fs/promises';
import { writeFileAtomic } from '../core/atomic-file.js';
import { classifyPath, isTemporaryPath } from './layout.js';
import type { PutOptions, RemoteDigest, RemoteDirectory, RemoteFile, RenameOptions, Transport } from './transport.js';

interface Entry {
  length: number;
  mtime: number;
  sha256: string;
  version?: string;
}

function validEntry(e: Partial<Entry> | undefined): e is Entry {
  return Number.isSafeInteger(e?.length) && Number.isSafeInteger(e?.mtime) && typeof e?.sha256 === 'string' && /^[0-9a-f]{64}$/.test(e.sha256) && (e.version === undefined || typeof e.version === 'string');
}

function immutable(path: string): boolean {
  try {
    return classifyPath(path).immutable;
  } catch {
    return false;
  }
}

export class DigestCachingTransport implements Transport {
  private files = new Map<string, Entry>();
  private listed = new Map<string, RemoteFile>();
  /** Digests of temporary files, carried over to their final name on rename. */
  private readonly pending = new Map<string, RemoteDigest>();
  private dirty = false;
  /** The cache file has been read (at the first list()). */
  private loaded = false;
  /** Journal lines learned while the cache is not read, appended at close(). */
  private readonly journalLines: string[] = [];
  /** A dry run's cache: read, never written. */
  readOnly = false;

  readonly listDirectories?: () => Promise<RemoteDirectory[]>;
  readonly chmod?: (path: string, mode: number) => Promise<void>;

  private constructor(
    private readonly inner: Transport,
    private readonly file: string,
    private readonly ignoreCached: boolean,
  ) {
    // Modes are not cached: the listing carries them, and a chmod changes no digest.
    if (inner.listDirectories) this.listDirectories = () => inner.listDirectories!();
    if (inner.chmod) this.chmod = (path, mode) => inner.chmod!(path, mode);
    const write = inner.writeInPlace?.bind(inner);
    if (write) this.writeInPlace = write;
    if (inner.flush) this.flush = (paths) => inner.flush!(paths);
    if (inner.parallelFiles !== undefined) this.parallelFiles = inner.parallelFiles;
  }

  readonly flush?: (paths: readonly string[]) => Promise<void>;
  readonly parallelFiles?: number;

  get host(): string {
    return this.inner.host;
  }

  readonly writeInPlace?: Transport['writeInPlace'];

  /** With ignoreCached, every digest is read from the host and the cache is rewritten from them. */
  static async wrap(inner: Transport, file: string, opts: { ignoreCached?: boolean; readOnly?: boolean } = {}): Promise<DigestCachingTransport> {
    const t = new DigestCachingTransport(inner, file, Boolean(opts.ignoreCached));
    t.readOnly = Boolean(opts.readOnly);
    return t;
  }

  private get journal(): string {
    return `${this.file}.journal`;
  }

  /** Reads the cache and its journal; what this run learned before wins over both. */
  private async load(): Promise<void> {
    if (this.loaded) return;
    this.loaded = true;
    const files = new Map<string, Entry>();
    try {
      const raw = JSON.parse(await readFile(this.file, 'utf8')) as { formatVersion?: unknown; files?: Record<string, Entry> };
      if (raw.formatVersion === 1 && raw.files && typeof raw.files === 'object') {
        for (const [path, e] of Object.entries(raw.files)) if (validEntry(e)) files.set(path, e);
      }
    } catch {
      // No cache yet, or a damaged one: start empty; it is only a cache.
    }
    const journal = await readFile(this.journal, 'utf8').catch(() => '');
    for (const line of journal.split('\n')) {
      let e: (Partial<Entry> & { path?: unknown; removed?: unknown }) | undefined;
      try {
        e = line === '' ? undefined : (JSON.parse(line) as typeof e);
      } catch {
        continue; // a line torn by a crash during an append
      }
      if (typeof e?.path !== 'string') continue;
      const { path, removed, ...entry } = e;
      if (removed === true) files.delete(path);
      else if (validEntry(entry)) files.set(path, entry);
      this.dirty = true;
    }
    // What this run learned before the listing: its removals, then its digests.
    for (const line of this.journalLines) {
      const { path, removed } = JSON.parse(line) as { path: string; removed?: boolean };
      if (removed === true && !this.files.has(path)) files.delete(path);
    }
    for (const [path, e] of this.files) files.set(path, e);
    this.files = files;
  }

  async list(): Promise<RemoteFile[]> {
    await this.load();
    const files = await this.inner.list();
    this.listed = new Map(files.map((f) => [f.path, f]));
    return files;
  }

  async digest(path: string): Promise<RemoteDigest | undefined> {
    const seen = this.listed.get(path);
    const cached = this.files.get(path);
    if (!this.ignoreCached && seen?.mtime !== undefined && cached && cached.length === seen.size && cached.mtime === seen.mtime && (seen.version === undefined || cached.version === seen.version)) {
      return { length: cached.length, sha256: cached.sha256, mtime: cached.mtime };
    }
    const d = await this.inner.digest(path);
    if (d?.mtime !== undefined) {
      if (isTemporaryPath(path)) this.pending.set(path, d);
      else this.remember(path, d);
    }
    return d;
  }

  private remember(path: string, d: RemoteDigest): void {
    if (d.mtime === undefined || !immutable(path)) return;
    const entry = { length: d.length, mtime: d.mtime, sha256: d.sha256, ...(d.version !== undefined ? { version: d.version } : {}) };
    this.files.set(path, entry);
    this.dirty = true;
    if (!this.loaded) this.journalLines.push(JSON.stringify({ path, ...entry }));
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
    if (result === 'renamed' && d) this.remember(to, d);
    return result;
  }

  async remove(path: string): Promise<void> {
    this.pending.delete(path);
    if (this.files.delete(path)) this.dirty = true;
    // The unread cache may list it.
    if (!this.loaded && immutable(path)) this.journalLines.push(JSON.stringify({ path, removed: true }));
    await this.inner.remove(path);
  }

  async close(): Promise<void> {
    try {
      if (this.readOnly) {
        // A dry run leaves the terminal home as it was.
      } else if (this.loaded && this.dirty) {
        await rm(this.journal, { force: true });
        const files = Object.fromEntries([...this.files].sort(([a], [b]) => (a < b ? -1 : 1)));
        await writeFileAtomic(this.file, `${JSON.stringify({ formatVersion: 1, files })}\n`, { mode: 0o600 });
      } else if (!this.loaded && this.journalLines.length > 0) {
        // Led by a newline: a line torn by an earlier crash ends there instead of swallowing the first one.
        await appendFile(this.journal, `\n${this.journalLines.join('\n')}\n`, { mode: 0o600 });
      }
    } finally {
      await this.inner.close();
    }
  }
}
