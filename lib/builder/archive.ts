// Deterministic .tar.gz of a directory tree: the same tree gives the same bytes on any
// machine, under any umask, user, clock or locale. Format: POSIX ustar with pax
// extended headers for long names (tar-stream), then gzip (RFC 1952) from node's zlib.
// What is normalised, and why, is in docs/recipe.md ("archive steps"):
//   - entries in byte order of their names, depth first (like `tar --sort=name`);
//   - uid/gid 0/0 with empty uname/gname (numeric only: no local user database leaks);
//   - modes 0644, or 0755 when any execute bit is set; directories 0755; symlinks 0777;
//   - every mtime = SOURCE_DATE_EPOCH;
//   - gzip header: MTIME 0, no FNAME, OS 3 (unix) whatever the platform; level 9;
//   - symlinks stay links; one whose target leaves the tree (absolute, or through `..`
//     or other links) is refused, as is anything but files, directories and links.
import { constants, createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { Transform, pipeline, type TransformCallback } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import { constants as zc, createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { writeStreamAtomic } from '../core/atomic-file.js';
import { AirlockError, fromSystemError } from '../core/errors.js';

export const GZIP_LEVEL = 9;
const OS_UNIX = 3;
/** Linux's own limit on symlink hops (MAXSYMLINKS). */
const MAX_LINK_HOPS = 40;
// Speed (GNU `tar | gzip -9` is the reference). zlib's output does not depend on how its
// input is cut into writes, but its cost does: every write is a trip to the thread pool,
// and tar-stream hands over 512-byte headers and file-sized pieces, so 512-byte writes
// cost 2.8× the CPU of 1 MiB ones. The tar stream is therefore gathered into writes of
// WRITE_BYTES before gzip. Files up to SMALL_FILE are read whole and queued (at most
// QUEUED_BYTES) so reading the next files overlaps compressing the earlier ones;
// larger ones stream. None of it changes a byte of the archive.
const WRITE_BYTES = 1 << 20;
const SMALL_FILE = 8 << 20;
const QUEUED_BYTES = 16 << 20;

export interface ArchiveSpec {
  /** The directory archived (absolute). */
  root: string;
  /** Containment boundary for `root` and for symlink targets (absolute); defaults to root. */
  boundary?: string;
  /** '' or a relative directory ending in '/', put before every name. */
  prefix: string;
  /** Paths relative to root excluded with everything under them; `.git` always is. */
  exclude: readonly string[];
  /** SOURCE_DATE_EPOCH, seconds. */
  mtime: number;
}

interface TreeEntry {
  rel: string;
  type: 'directory' | 'file' | 'symlink';
  mode: number;
  size: number;
  linkname?: string;
}

function refuse(message: string, details: Record<string, unknown>): AirlockError {
  return new AirlockError('E_ARCHIVE', message, { details });
}

function excluded(rel: string, exclude: readonly string[]): boolean {
  if (rel === '.git' || rel.startsWith('.git/')) return true;
  return exclude.some((e) => rel === e || rel.startsWith(`${e}/`));
}

/**
 * Follows a link's target component by component, through any further links, and says
 * whether it stays within `boundary`. Lexical normalisation alone is not enough:
 * `a/b/l -> x/../..` leaves the tree when `x` is itself a link to a shallow directory.
 */
export async function linkStaysInside(boundary: string, linkRel: string): Promise<boolean> {
  const target = await readlink(join(boundary, linkRel));
  if (isAbsolute(target)) return false;
  const stack = linkRel.split('/').slice(0, -1);
  let pending = target.split('/');
  let hops = 0;
  while (pending.length > 0) {
    const c = pending.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (stack.length === 0) return false;
      stack.pop();
      continue;
    }
    stack.push(c);
    let st;
    try {
      st = await lstat(join(boundary, ...stack));
    } catch {
      continue; // does not exist: nothing below it can be a link, the rest is lexical
    }
    if (st.isSymbolicLink()) {
      if (++hops > MAX_LINK_HOPS) return false;
      const next = await readlink(join(boundary, ...stack));
      if (isAbsolute(next)) return false;
      stack.pop();
      pending = [...next.split('/'), ...pending];
    }
  }
  return true;
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Lists the tree depth first, each directory's entries in byte order of their names. */
export async function* walkTree(spec: ArchiveSpec): AsyncGenerator<TreeEntry> {
  const boundary = spec.boundary ?? spec.root;
  const rootRel = relative(boundary, spec.root).split(sep).filter(Boolean).join('/');
  async function* walk(dirRel: string): AsyncGenerator<TreeEntry> {
    const names = (await readdir(join(spec.root, dirRel))).sort(byteOrder);
    for (const name of names) {
      const rel = dirRel === '' ? name : `${dirRel}/${name}`;
      if (excluded(rel, spec.exclude)) continue;
      const abs = join(spec.root, rel);
      const st = await lstat(abs);
      if (st.isDirectory()) {
        yield { rel, type: 'directory', mode: 0o755, size: 0 };
        yield* walk(rel);
      } else if (st.isFile()) {
        yield { rel, type: 'file', mode: st.mode & 0o111 ? 0o755 : 0o644, size: st.size };
      } else if (st.isSymbolicLink()) {
        const fromBoundary = rootRel === '' ? rel : `${rootRel}/${rel}`;
        if (!(await linkStaysInside(boundary, fromBoundary))) {
          throw refuse(`the symlink ${rel} points outside the archived tree; replace it with the file or a link inside the tree`, { entry: rel });
        }
        yield { rel, type: 'symlink', mode: 0o777, size: 0, linkname: await readlink(abs) };
      } else {
        throw refuse(`${rel} is not a file, directory or symlink (a device, socket or FIFO); remove it or exclude it`, { entry: rel });
      }
    }
  }
  yield* walk('');
}

/**
 * Gathers small chunks into writes of at least `size` bytes (the last may be shorter); a
 * chunk that large on its own (a file's body) passes as it is, never copied.
 */
class Gather extends Transform {
  private parts: Buffer[] = [];
  private bytes = 0;
  constructor(private readonly size: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (chunk.length >= this.size) {
      this.release();
      this.push(chunk);
    } else {
      this.parts.push(chunk);
      this.bytes += chunk.length;
      if (this.bytes >= this.size) this.release();
    }
    done();
  }
  override _flush(done: TransformCallback): void {
    this.release();
    done();
  }
  private release(): void {
    if (this.bytes === 0) return;
    this.push(this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.bytes));
    this.parts = [];
    this.bytes = 0;
  }
}

/** Gzip header bytes that zlib takes from the platform (OS) are fixed to unix. */
class GzipHeaderFix extends Transform {
  private seen = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.seen < 10) {
      if (this.seen <= 9 && this.seen + chunk.length > 9) {
        chunk = Buffer.from(chunk);
        chunk[9 - this.seen] = OS_UNIX;
      }
    }
    this.seen += chunk.length;
    done(null, chunk);
  }
}

async function checkRoot(spec: ArchiveSpec): Promise<void> {
  let st;
  try {
    st = await lstat(spec.root);
  } catch (err) {
    throw new AirlockError('E_ARCHIVE', `the archive root ${spec.root} does not exist`, { cause: err, details: { root: spec.root } });
  }
  if (!st.isDirectory()) throw refuse(`the archive root ${spec.root} is not a directory`, { root: spec.root });
  if (spec.boundary) {
    const [r, b] = await Promise.all([realpath(spec.root), realpath(spec.boundary)]);
    const rel = relative(b, r);
    if (rel.startsWith('..') || isAbsolute(rel)) throw refuse(`the archive root ${spec.root} lies outside the checkout`, { root: spec.root });
  }
}

/** Writes the deterministic .tar.gz of `spec` to `output` (temporary name, then rename). */
export async function writeDeterministicTarGz(spec: ArchiveSpec, output: string): Promise<void> {
  await checkRoot(spec);
  const mtime = new Date(spec.mtime * 1000);
  const pack = tar.pack();
  // memLevel and the rest are part of the bytes: changing them changes every archive.
  const gzip = createGzip({ level: GZIP_LEVEL, memLevel: 8, windowBits: 15, strategy: zc.Z_DEFAULT_STRATEGY, chunkSize: WRITE_BYTES });
  const fix = new GzipHeaderFix();
  pipeline(pack, new Gather(WRITE_BYTES), gzip, fix, () => {});
  const writing = writeStreamAtomic(output, fix);
  const common = { uid: 0, gid: 0, uname: '', gname: '', mtime };
  let failure: unknown;
  // Small files handed to the packer and not yet written out, oldest first.
  const queued: { done: Promise<void>; bytes: number }[] = [];
  let queuedBytes = 0;
  const settleOldest = async (): Promise<void> => {
    const oldest = queued.shift()!;
    queuedBytes -= oldest.bytes;
    await oldest.done;
  };
  try {
    const dirs = spec.prefix.split('/').filter(Boolean);
    for (let i = 1; i <= dirs.length; i++) {
      pack.entry({ ...common, name: `${dirs.slice(0, i).join('/')}/`, type: 'directory', mode: 0o755 });
    }
    for await (const e of walkTree(spec)) {
      const name = spec.prefix + e.rel;
      if (e.type === 'directory') pack.entry({ ...common, name: `${name}/`, type: 'directory', mode: e.mode });
      else if (e.type === 'symlink') pack.entry({ ...common, name, type: 'symlink', mode: e.mode, linkname: e.linkname ?? '' });
      else if (e.size <= SMALL_FILE) {
        const body = await readFile(join(spec.root, e.rel), { flag: constants.O_RDONLY | constants.O_NOFOLLOW });
        if (body.length !== e.size) throw refuse(`${e.rel} changed while it was archived; run the build again`, { entry: e.rel });
        const done = new Promise<void>((resolve, reject) => pack.entry({ ...common, name, type: 'file', mode: e.mode, size: e.size }, body, (err) => (err ? reject(err) : resolve())));
        done.catch(() => {}); // awaited below; a failure also destroys the pack
        queued.push({ done, bytes: body.length });
        queuedBytes += body.length;
        while (queuedBytes > QUEUED_BYTES) await settleOldest();
      } else {
        while (queued.length > 0) await settleOldest();
        const sink = pack.entry({ ...common, name, type: 'file', mode: e.mode, size: e.size });
        await pipelineAsync(createReadStream(join(spec.root, e.rel), { highWaterMark: 1 << 20 }), sink);
      }
    }
    while (queued.length > 0) await settleOldest();
    pack.finalize();
  } catch (err) {
    failure = err;
    pack.destroy(err as Error);
  }
  try {
    await writing;
  } catch (err) {
    if (failure === undefined) failure = err;
  }
  if (failure !== undefined) {
    if (failure instanceof AirlockError) throw failure;
    throw fromSystemError(failure, `writing the archive ${output}`);
  }
}
