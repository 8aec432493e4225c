// The manifest of the terminal's repository copy: every file the copy holds, with its
// length and SHA-256, so committing a change and planning a publish never walk or hash
// the whole tree (issue 19: a release costs what it changes). It lives in the copy as
// `.airlock-manifest` (a dot file: never published, never listed as host content).
//
// Format (text, one record a line, appended one block per commit):
//   airlock-manifest 1                          first line of the file
//   i <sha256> <length> <JSON path>             an immutable file the block adds
//   m <sha256> <length> <JSON path>             a mutable file: every block repeats ALL of
//                                               them (the copy's whole mutable state after
//                                               the block), so the last block alone says
//                                               what timestamp.json, keys/, apt indices are
//   end <start> <lines> <sha256>                closes the block: the byte offset where
//                                               the block starts, its record count and the
//                                               SHA-256 of its record lines
// A block is written with one append and one fsync; a block without its `end` line (a
// crash during the append) or whose digest does not match is not part of the manifest,
// and the next append cuts it off. Immutable paths appear once in the whole file (the
// commit leaves out one the copy already has), so a reader streams them without
// remembering any: memory is constant in the number of files.
//
// The manifest is trusted only while it agrees with the copy: timestamp.json and
// keys/root.json must have the SHA-256 it lists and every other mutable file its length
// (checkManifest; a commit changes at least one of the two, so a copy changed without a
// manifest block — a crash between the renames and the append — is found). Otherwise, and when
// it is missing, it is rebuilt by one full walk (rebuildManifest).
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { writeStreamAtomic } from './atomic-file.js';
import { digestOfLocalFile, openLocalFile } from './local-copy-file.js';
import { AirlockError, fromSystemError } from './errors.js';
import { walkTree } from './file-tree.js';
import { classifyPath } from './host-layout.js';
import { writeAll } from './write-all.js';

export const MANIFEST_FILE = '.airlock-manifest';
const HEADER = 'airlock-manifest 1\n';
const RECORD = /^([im]) ([0-9a-f]{64}) (0|[1-9][0-9]*) ("(?:[^"\\]|\\.)*")$/;
const END = /^end (0|[1-9][0-9]*) (0|[1-9][0-9]*) ([0-9a-f]{64})$/;

export interface ManifestEntry {
  /** Relative posix path in the host tree. */
  path: string;
  length: number;
  sha256: string;
  immutable: boolean;
}

export function manifestPathOf(repoDir: string): string {
  return join(repoDir, MANIFEST_FILE);
}

function recordLine(e: ManifestEntry): string {
  return `${e.immutable ? 'i' : 'm'} ${e.sha256} ${e.length} ${JSON.stringify(e.path)}\n`;
}

function parseRecord(line: string): ManifestEntry | undefined {
  const m = RECORD.exec(line);
  if (!m) return undefined;
  let path: unknown;
  try {
    path = JSON.parse(m[4]!);
  } catch {
    return undefined;
  }
  const length = Number(m[3]);
  if (typeof path !== 'string' || !Number.isSafeInteger(length)) return undefined;
  return { path, length, sha256: m[2]!, immutable: m[1] === 'i' };
}

/** The records of one block and its closing line. */
function blockText(start: number, entries: readonly ManifestEntry[]): string {
  const lines = entries.map(recordLine);
  const h = createHash('sha256');
  for (const l of lines) h.update(l);
  return `${lines.join('')}end ${start} ${lines.length} ${h.digest('hex')}\n`;
}

/** Where the valid blocks end and what the last one says of the mutable files. */
export interface ManifestTail {
  /** Byte length of the valid part (header and complete blocks). */
  validBytes: number;
  /** The copy's mutable files, from the last complete block. */
  mutable: Map<string, ManifestEntry>;
  /** The file holds bytes after the last complete block (a torn append). */
  torn: boolean;
  /** The last complete block's `end` line (without its newline), which marks this state of the manifest. */
  lastEnd?: string;
}

/** A point in the manifest: the byte offset after a block and that block's `end` line (a publish remembers what a host holds by it). */
export interface ManifestMark {
  offset: number;
  end: string;
}

export function markOf(tail: ManifestTail): ManifestMark | undefined {
  return tail.lastEnd === undefined || tail.torn ? undefined : { offset: tail.validBytes, end: tail.lastEnd };
}

/**
 * Reads the manifest's valid part forwards, calling `onImmutable` for each immutable
 * entry of each complete block. Undefined when the file is missing or is not a manifest.
 */
async function scan(repoDir: string, onImmutable?: (e: ManifestEntry) => void | Promise<void>, start = 0): Promise<ManifestTail | undefined> {
  const file = manifestPathOf(repoDir);
  const opened = await openLocalFile(repoDir, file);
  if (opened === undefined) return undefined;
  const { fh, st } = opened;
  const size = st.size;
  const input = fh.createReadStream({ encoding: 'utf8', highWaterMark: 1 << 16, start, autoClose: false });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let offset = start;
  let blockStart = start;
  let block: ManifestEntry[] = [];
  let hash = createHash('sha256');
  // From an offset inside the file (after a block the caller checked), the header is behind.
  let tail: ManifestTail | undefined = start > 0 ? { validBytes: start, mutable: new Map(), torn: false } : undefined;
  try {
    for await (const line of lines) {
      const bytes = Buffer.byteLength(line) + 1;
      if (tail === undefined) {
        if (`${line}\n` !== HEADER) return undefined;
        tail = { validBytes: bytes, mutable: new Map(), torn: false };
        offset = bytes;
        blockStart = offset;
        continue;
      }
      const end = END.exec(line);
      if (end) {
        if (Number(end[1]) !== blockStart || Number(end[2]) !== block.length || end[3] !== hash.digest('hex')) break;
        tail.mutable = new Map(block.filter((e) => !e.immutable).map((e) => [e.path, e]));
        tail.lastEnd = line;
        for (const e of block) if (e.immutable) await onImmutable?.(e);
        offset += bytes;
        tail.validBytes = offset;
        blockStart = offset;
        block = [];
        hash = createHash('sha256');
        continue;
      }
      const rec = parseRecord(line);
      if (!rec) break;
      hash.update(`${line}\n`);
      block.push(rec);
      offset += bytes;
    }
  } catch (err) {
    throw fromSystemError(err, `reading ${file}`);
  } finally {
    lines.close();
    input.destroy();
    await fh.close();
  }
  if (tail) tail.torn = tail.validBytes !== size;
  return tail;
}

/**
 * The last block, found from the end of the file (its `end` line names where it starts),
 * so a commit reads what the previous commit wrote, not the whole manifest. Undefined
 * when the file does not end with a complete block.
 */
async function lastBlock(repoDir: string): Promise<ManifestTail | undefined> {
  const opened = await openLocalFile(repoDir, manifestPathOf(repoDir));
  if (opened === undefined) return undefined;
  const { fh } = opened;
  try {
    const size = opened.st.size;
    const tailBytes = Math.min(size, 512);
    const end = Buffer.alloc(tailBytes);
    await fh.read(end, 0, tailBytes, size - tailBytes);
    const text = end.toString('utf8');
    if (!text.endsWith('\n')) return undefined;
    const line = text.slice(text.lastIndexOf('\n', text.length - 2) + 1, -1);
    const m = END.exec(line);
    if (!m) return undefined;
    const start = Number(m[1]);
    const blockBytes = size - Buffer.byteLength(line) - 1 - start;
    if (start < Buffer.byteLength(HEADER) || blockBytes < 0) return undefined;
    const body = Buffer.alloc(blockBytes);
    await fh.read(body, 0, blockBytes, start);
    if (createHash('sha256').update(body).digest('hex') !== m[3]) return undefined;
    const records = blockBytes === 0 ? [] : body.toString('utf8').slice(0, -1).split('\n');
    if (records.length !== Number(m[2])) return undefined;
    const mutable = new Map<string, ManifestEntry>();
    for (const r of records) {
      const e = parseRecord(r);
      if (!e) return undefined;
      if (!e.immutable) mutable.set(e.path, e);
    }
    return { validBytes: size, mutable, torn: false, lastEnd: line };
  } finally {
    await fh.close();
  }
}

/** The manifest's last block (mutable files) and its valid length; undefined when missing or not a manifest. */
export async function readManifestTail(repoDir: string): Promise<ManifestTail | undefined> {
  return (await lastBlock(repoDir)) ?? scan(repoDir);
}

/**
 * The files added since `mark` (immutable entries of the blocks after it) and then every
 * mutable file, when `mark` is still a point of this manifest (the `end` line it names
 * is there); undefined otherwise (a rebuilt manifest, another copy).
 */
export async function readManifestSince(repoDir: string, tail: ManifestTail, mark: ManifestMark, onEntry: (e: ManifestEntry) => void | Promise<void>): Promise<boolean> {
  const endBytes = Buffer.byteLength(mark.end) + 1;
  if (!Number.isSafeInteger(mark.offset) || mark.offset < endBytes || mark.offset > tail.validBytes) return false;
  const opened = await openLocalFile(repoDir, manifestPathOf(repoDir));
  if (opened === undefined) return false;
  const { fh } = opened;
  try {
    const at = Buffer.alloc(endBytes);
    await fh.read(at, 0, endBytes, mark.offset - endBytes);
    if (at.toString('utf8') !== `${mark.end}\n`) return false;
  } finally {
    await fh.close();
  }
  if (mark.offset < tail.validBytes) await scan(repoDir, onEntry, mark.offset);
  for (const e of tail.mutable.values()) await onEntry(e);
  return true;
}

/**
 * Every file the manifest lists: immutable ones as they are read, then the mutable ones.
 * Constant memory in the number of files. Undefined when there is no usable manifest.
 */
export async function readManifest(repoDir: string, onEntry: (e: ManifestEntry) => void | Promise<void>): Promise<ManifestTail | undefined> {
  const tail = await scan(repoDir, onEntry);
  if (tail) for (const e of tail.mutable.values()) await onEntry(e);
  return tail;
}


/** Every commit rewrites one of these (a change re-signs timestamp.json; a root-only change writes keys/root.json). */
const MARKERS = new Set(['metadata/timestamp.json', 'keys/root.json']);

/**
 * Whether the manifest agrees with the copy: timestamp.json and keys/root.json have the
 * SHA-256 it lists, so no commit happened without its block, and every other mutable
 * file its length (immutable files never change once in the copy).
 */
export async function checkManifest(repoDir: string, tail: ManifestTail): Promise<boolean> {
  if (tail.mutable.size === 0) return false;
  for (const e of tail.mutable.values()) {
    const file = join(repoDir, ...e.path.split('/'));
    if (MARKERS.has(e.path)) {
      const seen = await digestOfLocalFile(repoDir, file);
      if (!seen || seen.length !== e.length || seen.sha256 !== e.sha256) return false;
      continue;
    }
    // Other mutable files (apt and rpm indices can be large) by length: a file changed
    // behind the manifest's back is caught by the publish's read-back (E_PUBLISH_VERIFY).
    const size = await lstat(file).then(
      (st) => (st.isFile() ? st.size : -1),
      () => -1,
    );
    if (size !== e.length) return false;
  }
  return true;
}

/**
 * Appends one block: `added` immutable files and the whole mutable state after the
 * change. One write and one fsync; a torn earlier append is cut off first.
 */
export async function appendManifest(repoDir: string, tail: ManifestTail, added: readonly ManifestEntry[], mutable: ReadonlyMap<string, ManifestEntry>): Promise<ManifestTail> {
  const file = manifestPathOf(repoDir);
  const fh = await open(file, constants.O_WRONLY | constants.O_NOFOLLOW).catch((err: unknown) => {
    throw fromSystemError(err, `opening ${file}`);
  });
  try {
    if (tail.torn) await fh.truncate(tail.validBytes);
    const text = blockText(tail.validBytes, [...added.filter((e) => e.immutable), ...[...mutable.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))]);
    const bytes = Buffer.from(text, 'utf8');
    await writeAll(fh, bytes, tail.validBytes);
    await fh.sync();
    return { validBytes: tail.validBytes + bytes.length, mutable: new Map(mutable), torn: false, lastEnd: text.slice(text.lastIndexOf('\n', text.length - 2) + 1, -1) };
  } catch (err) {
    throw fromSystemError(err, `appending to ${file}`);
  } finally {
    await fh.close();
  }
}

/**
 * How many hard-linked files a walk remembers, so that a file's other names are not read
 * again. releases/ is walked before targets/, so every pair would be held at once: past
 * this many (~10 MB) a name is simply hashed again, and a walk's memory stays the same
 * at 1M targets as at 60,000.
 */
export const LINKED_REMEMBERED = 65_536;

/** What a walk did, for tests: files read and hashed, and the most hard-linked files it held at once. */
export interface WalkGauge {
  hashed: number;
  mostRemembered: number;
}

/**
 * Every regular file of the copy (dot files left out: temporary names and the manifest),
 * hashed; a hard-linked file (targets/ and releases/ hold one inode) is read once while
 * at most `remember` of them are held (LINKED_REMEMBERED), and forgotten once every name
 * of it has been walked.
 * Anything that is not a file or directory is E_PUBLISH_LAYOUT, a path with no place in
 * the host layout too (classifyPath).
 */
export async function* walkCopy(repoDir: string, { remember = LINKED_REMEMBERED, gauge }: { remember?: number; gauge?: WalkGauge } = {}): AsyncGenerator<ManifestEntry> {
  /** inode → its digest and how many of its names are still to be walked. */
  const linked = new Map<string, { length: number; sha256: string; namesLeft: number }>();
  for await (const e of walkTree(repoDir, { prune: (x) => x.name.startsWith('.') })) {
    if (e.kind === 'directory') continue;
    if (e.kind !== 'file') {
      throw new AirlockError('E_PUBLISH_LAYOUT', `${e.abs} is not a regular file or directory; the repository copy holds only files`, { details: { path: e.path } });
    }
    const { immutable } = classifyPath(e.path);
    const inode = e.stats.nlink > 1 ? `${e.stats.dev}:${e.stats.ino}` : undefined;
    const held = inode === undefined ? undefined : linked.get(inode);
    let d: { length: number; sha256: string } | undefined = held;
    if (held !== undefined) {
      // A link made or removed outside the copy's names (e.g. a backup's) may leave it held.
      if (--held.namesLeft <= 0) linked.delete(inode!);
    } else {
      d = await digestOfLocalFile(repoDir, e.abs);
      if (!d) continue; // removed since the listing
      if (gauge) gauge.hashed++;
      if (inode !== undefined && linked.size < remember) linked.set(inode, { ...d, namesLeft: e.stats.nlink - 1 });
      if (gauge) gauge.mostRemembered = Math.max(gauge.mostRemembered, linked.size);
    }
    yield { path: e.path, length: d!.length, sha256: d!.sha256, immutable };
  }
}

/** Writes the manifest afresh from a full walk of the copy (temporary name, then rename). */
export async function rebuildManifest(repoDir: string): Promise<ManifestTail> {
  const mutable = new Map<string, ManifestEntry>();
  const start = Buffer.byteLength(HEADER);
  let count = 0;
  let bytes = start;
  const hash = createHash('sha256');
  async function* lines(): AsyncGenerator<string> {
    yield HEADER;
    for await (const e of walkCopy(repoDir)) {
      if (!e.immutable) {
        mutable.set(e.path, e);
        continue;
      }
      const l = recordLine(e);
      hash.update(l);
      count++;
      bytes += Buffer.byteLength(l);
      yield l;
    }
    for (const e of [...mutable.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
      const l = recordLine(e);
      hash.update(l);
      count++;
      bytes += Buffer.byteLength(l);
      yield l;
    }
    const end = `end ${start} ${count} ${hash.digest('hex')}\n`;
    bytes += Buffer.byteLength(end);
    yield end;
  }
  await writeStreamAtomic(manifestPathOf(repoDir), Readable.from(lines(), { objectMode: false }), { mode: 0o644 });
  const tail = await lastBlock(repoDir);
  return tail ?? { validBytes: bytes, mutable, torn: false };
}

/** A manifest that agrees with the copy: the existing one, or one rebuilt by a full walk. */
export async function trustedManifest(repoDir: string): Promise<ManifestTail> {
  const tail = await readManifestTail(repoDir);
  if (tail && (await checkManifest(repoDir, tail))) return tail;
  return rebuildManifest(repoDir);
}
