// What is inside an archive, entry by entry, for the mismatch report: tar (POSIX ustar,
// pax and GNU headers, via tar-stream), compressed tar (gzip with node's zlib; xz, zstd
// and bzip2 through the system's decompressor when it is installed), and Debian
// packages (an ar archive, ar.ts, whose members `control.tar.*` and `data.tar.*` are
// read as tar in turn). Everything streams: only the entry headers and a SHA-256 of
// each entry's content are kept, whatever the archive's size.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { AirlockError, fromSystemError, isAirlockError } from '../core/errors.js';
import { isAr, readArMembers } from './ar.js';

export type Compression = 'none' | 'gzip' | 'xz' | 'zstd' | 'bzip2';
export type ArchiveFormat = 'tar' | 'deb';

export interface ArchiveKind {
  format: ArchiveFormat;
  compression: Compression;
}

/** One entry, with every field the report compares. */
export interface ArchiveEntry {
  /** The entry's name; inside a package member, `member:name` (e.g. `data.tar.gz:./usr/bin/hello`). */
  name: string;
  /** tar-stream's type names: file, directory, symlink, link, … */
  type: string;
  /** Permission bits in octal, e.g. "0644". */
  mode: string;
  /** "uid/gid", followed by " uname/gname" when the archive names them. */
  owner: string;
  /** Seconds since the epoch. */
  mtime: number;
  size: number;
  /** "sha256:…" of the content for files and package members; null for anything else. */
  digest: string | null;
  /** Target of a symlink or hard link; null otherwise. */
  link: string | null;
}

export interface ArchiveListing {
  kind: ArchiveKind;
  entries: ArchiveEntry[];
  /** SHA-256 of the uncompressed tar stream (compressed tarballs): tells compression-only differences apart. */
  uncompressedSha256?: string;
  /** Package members whose insides could not be read, and why (their own bytes are still compared). */
  unreadable: { member: string; reason: string }[];
}

const TAR_SUFFIXES: readonly [string, Compression][] = [
  ['.tar', 'none'],
  ['.tar.gz', 'gzip'],
  ['.tgz', 'gzip'],
  ['.tar.xz', 'xz'],
  ['.txz', 'xz'],
  ['.tar.zst', 'zstd'],
  ['.tar.bz2', 'bzip2'],
];

/** The archive kind a file name says, or undefined for anything the report does not look inside. */
export function archiveKindOf(name: string): ArchiveKind | undefined {
  if (/\.(deb|udeb|ddeb)$/.test(name)) return { format: 'deb', compression: 'none' };
  const hit = TAR_SUFFIXES.find(([suffix]) => name.endsWith(suffix));
  return hit ? { format: 'tar', compression: hit[1] } : undefined;
}

const DECOMPRESSORS: Record<Exclude<Compression, 'none' | 'gzip'>, string> = { xz: 'xz', zstd: 'zstd', bzip2: 'bzip2' };

/** The uncompressed stream; xz, zstd and bzip2 go through the system tool of that name. */
function decompressed(source: Readable, compression: Compression): { stream: Readable; done: Promise<void> } {
  if (compression === 'none') return { stream: source, done: Promise.resolve() };
  if (compression === 'gzip') {
    const gunzip = createGunzip();
    return { stream: gunzip, done: pipeline(source, gunzip).then(() => undefined) };
  }
  const tool = DECOMPRESSORS[compression];
  const child = spawn(tool, ['-dc'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const out = new PassThrough();
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        missing
          ? new AirlockError('E_TOOL_MISSING', `${tool} is not installed, so the entries of this ${compression} archive cannot be listed; install ${tool} for a per-entry report`, { cause: err })
          : fromSystemError(err, `running ${tool}`),
      );
    });
    child.on('close', (code) => (code === 0 ? resolve() : reject(new AirlockError('E_ARCHIVE', `${tool} -dc failed (exit ${code}): the ${compression} stream is damaged`))));
  });
  exited.catch((err: unknown) => out.destroy(err as Error));
  const feeding = pipeline(source, child.stdin).catch((err: unknown) => {
    // The tool exiting early closes its stdin: its own exit status says why.
    if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
  });
  const draining = pipeline(child.stdout, out);
  return { stream: out, done: Promise.all([exited, feeding, draining]).then(() => undefined) };
}

function modeString(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}

function ownerString(uid: number, gid: number, uname?: string, gname?: string): string {
  return uname || gname ? `${uid}/${gid} ${uname ?? ''}/${gname ?? ''}` : `${uid}/${gid}`;
}

/** Hashes what passes through. */
class Tap extends Transform {
  readonly hash = createHash('sha256');
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    cb(null, chunk);
  }
}

/** Reads a (possibly compressed) tar stream; entry names get `prefix` in front. */
async function readTar(source: Readable, compression: Compression, prefix: string): Promise<{ entries: ArchiveEntry[]; uncompressedSha256: string }> {
  const entries: ArchiveEntry[] = [];
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const hash = createHash('sha256');
    let size = 0;
    stream.on('data', (chunk: unknown) => {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    });
    stream.on('error', next);
    stream.on('end', () => {
      const type = header.type ?? 'file';
      entries.push({
        name: `${prefix}${header.name}`,
        type,
        mode: modeString(header.mode ?? 0),
        owner: ownerString(header.uid ?? 0, header.gid ?? 0, header.uname, header.gname),
        mtime: header.mtime ? Math.floor(header.mtime.getTime() / 1000) : 0,
        size: type === 'file' || type === 'contiguous-file' ? size : (header.size ?? 0),
        digest: type === 'file' || type === 'contiguous-file' ? `sha256:${hash.digest('hex')}` : null,
        link: header.linkname ?? null,
      });
      next();
    });
  });
  const tap = new Tap();
  const { stream, done } = decompressed(source, compression);
  try {
    await Promise.all([pipeline(stream, tap, extract), done]);
  } catch (err) {
    if (isAirlockError(err)) throw err;
    throw new AirlockError('E_ARCHIVE', `the tar stream cannot be read (${(err as NodeJS.ErrnoException).code ?? 'damaged or not a tar archive'})`, { cause: err });
  }
  return { entries, uncompressedSha256: tap.hash.digest('hex') };
}

function memberCompression(member: string): Compression | undefined {
  const kind = archiveKindOf(member);
  return kind?.format === 'tar' ? kind.compression : undefined;
}

async function readDeb(path: string): Promise<ArchiveListing> {
  if (!(await isAr(path))) throw new AirlockError('E_ARCHIVE', `${path} is not a Debian package (no ar header)`);
  const entries: ArchiveEntry[] = [];
  const unreadable: ArchiveListing['unreadable'] = [];
  for (const m of await readArMembers(path)) {
    const range = () => createReadStream(path, { start: m.offset, end: m.offset + m.size - 1, highWaterMark: 1 << 20 });
    const hash = createHash('sha256');
    if (m.size > 0) for await (const chunk of range()) hash.update(chunk as Buffer);
    entries.push({ name: m.name, type: 'file', mode: modeString(m.mode), owner: ownerString(m.uid, m.gid), mtime: m.mtime, size: m.size, digest: `sha256:${hash.digest('hex')}`, link: null });
    const compression = memberCompression(m.name);
    if (compression === undefined || m.size === 0) continue;
    try {
      entries.push(...(await readTar(range(), compression, `${m.name}:`)).entries);
    } catch (err) {
      if (!isAirlockError(err)) throw err;
      unreadable.push({ member: m.name, reason: err.message });
    }
  }
  return { kind: { format: 'deb', compression: 'none' }, entries, unreadable };
}

/**
 * Lists an archive's entries with their content digests. A file that is not a readable
 * archive of that kind is E_ARCHIVE (the caller reports it and still compares the bytes).
 */
export async function listArchive(path: string, kind: ArchiveKind): Promise<ArchiveListing> {
  if (kind.format === 'deb') return readDeb(path);
  const { entries, uncompressedSha256 } = await readTar(createReadStream(path, { highWaterMark: 1 << 20 }), kind.compression, '');
  return { kind, entries, ...(kind.compression === 'none' ? {} : { uncompressedSha256 }), unreadable: [] };
}
