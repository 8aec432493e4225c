// Reading the terminal's own repository copy ($AIRLOCK_HOME/repository) as what airlock
// wrote there: regular files only. A symlink there — to anywhere, even to the very bytes
// it should hold, or to nothing — is never followed (O_NOFOLLOW), a FIFO or a device is
// refused without blocking, a file is read within a named cap (regular-file.ts), and a
// metadata file must be the canonical JSON airlock writes (parseUnverifiedEnvelope: a
// copy edited by hand is refused on reading, before any key is unlocked). Anything else
// is E_REPOSITORY_DAMAGED (exit 3: restore the copy), never E_METADATA_INVALID, which
// says a host serves bad data. The one reader of the copy for every layer: lib/repo (its
// metadata and bins, commitStaged, sync), lib/publish (the copy's timestamp a publish
// compares with the host's, and every file it uploads: apply.ts opens it here and hands
// the transport the open file's /proc name), copy-manifest.ts (the files a manifest is
// checked against).
// No directory below the copy's root is followed either (path-beneath.ts: each opened
// without following, the next component through it): `targets/<project>/` or
// `apt/dists/` linked to a directory elsewhere is damage, not a place to read from.
import type { Dirent, Stats } from 'node:fs';
import { readdir, stat, type FileHandle } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { hashStream } from './digest.js';
import { AirlockError, fromSystemError, isAirlockError } from './errors.js';
import { openFileBeneath, type BeneathRefusal } from './path-beneath.js';
import { readOpenedFile, type FileRefusal } from './regular-file.js';
import { parseUnverifiedEnvelope, type Envelope, type Signed } from './tuf-metadata.js';

/** A metadata file of the copy is at most this big (a bin of a few thousand targets is well under). */
export const MAX_LOCAL_METADATA_BYTES = 64 * 1024 * 1024;

type Role = 'root' | 'timestamp' | 'snapshot' | 'targets';

/** The terminal's copy is damaged (exit 3: restore it). */
export function damaged(path: string, why: string, cause?: unknown): AirlockError {
  return new AirlockError(
    'E_REPOSITORY_DAMAGED',
    `${path} ${why}; the terminal's repository copy is damaged — nothing was signed. Restore it from a backup, or from a host that holds the same repository`,
    { cause, details: { path } },
  );
}

/** What the copy holds at `path` instead of the regular file it must, as damage. */
function refusedAsDamage(path: string, refused: FileRefusal, maxBytes?: number): AirlockError {
  switch (refused) {
    case 'absent':
      return damaged(path, 'is missing');
    case 'symlink':
      return damaged(path, 'is a symbolic link, not a regular file (airlock never reads through one)');
    case 'not-regular':
      return damaged(path, 'is not a regular file');
    case 'too-large':
      return damaged(path, maxBytes === undefined ? 'is too large' : `is larger than ${maxBytes} bytes`);
  }
}

/** Top-level directories of the copy that hold directories (docs/host-layout.md); metadata/ and keys/ hold files only. */
const NESTED_TOP_LEVEL = new Set(['targets', 'releases', 'apt', 'rpm']);

/**
 * Refuses a copy whose top level, or the level below targets/, releases/, apt/ and rpm/,
 * holds a symlink to a directory (keys/ linked elsewhere; `targets/<project>/` or
 * `releases/<project>/` linked to a directory with plausible files). Every reader of the
 * copy's files already refuses a linked directory on its way (path-beneath.ts); this
 * also covers what is listed rather than opened (status's releases, a plan's listing)
 * and refuses before a command builds, asks for a passphrase or writes. Run once by each
 * command that reads the copy (LocalRepository.current, a publish plan): a few readdirs,
 * whatever the copy's size. A deeper directory is refused when a file under it is read,
 * and by commitStaged before anything is moved into it. A copy that does not exist yet
 * passes: its readers say so.
 */
export async function refuseLinkedDirectories(repoDir: string): Promise<void> {
  for (const e of await entriesOf(repoDir)) {
    await refuseLinkedDirectory(repoDir, e);
    if (e.isDirectory() && NESTED_TOP_LEVEL.has(e.name)) {
      const dir = join(repoDir, e.name);
      for (const inner of await entriesOf(dir)) await refuseLinkedDirectory(dir, inner);
    }
  }
}

async function entriesOf(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fromSystemError(err, `reading ${dir}`);
  }
}

async function refuseLinkedDirectory(dir: string, e: Dirent): Promise<void> {
  // A linked file is its reader's to refuse (O_NOFOLLOW; a cache like .airlock-bins
  // is then rebuilt): here only what would be read through, a linked directory.
  if (e.isSymbolicLink() && (await stat(join(dir, e.name)).then((st) => st.isDirectory(), () => false))) {
    throw damaged(join(dir, e.name), 'is a symbolic link to a directory (airlock never reads the copy through one)');
  }
}

/** `path`, a file beneath `root`, as the segments below it (a path outside it is a bug, not damage). */
function segmentsBeneath(root: string, path: string): string[] {
  const rel = relative(root, path);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) throw new Error(`${path} is not beneath ${root}`);
  return rel.split(sep);
}

/** What path-beneath.ts refused on the way to `path`, as damage (absent is the caller's to judge). */
function refusedBeneathAsDamage(root: string, path: string, refused: Exclude<BeneathRefusal, { refused: 'absent' }>): AirlockError {
  const at = join(root, ...refused.at.split('/'));
  switch (refused.refused) {
    case 'linked-directory':
      return damaged(at, 'is a symbolic link where the copy keeps a directory (airlock never reads the copy through one)');
    case 'not-directory':
      return damaged(at, 'is not a directory where the copy keeps one');
    default:
      return refusedAsDamage(path, refused.refused);
  }
}

/**
 * Opens a file of the copy (or of a staging directory), `root` being that copy or
 * directory: the regular file it must be, reached through real directories only;
 * undefined when absent, damage when anything else.
 */
export async function openLocalFile(root: string, path: string): Promise<{ fh: FileHandle; st: Stats } | undefined> {
  // Outside the try: a path not beneath the root is a bug, not a disk error (E_IO).
  const segments = segmentsBeneath(root, path);
  let opened: Awaited<ReturnType<typeof openFileBeneath>>;
  try {
    opened = await openFileBeneath(root, segments);
  } catch (err) {
    throw fromSystemError(err, `reading ${path}`);
  }
  if (!('refused' in opened)) return opened;
  if (opened.refused === 'absent') return undefined;
  throw refusedBeneathAsDamage(root, path, opened);
}

/** A file of the copy (beneath `root`) read whole, at most `maxBytes`; undefined when it has none. */
export async function readLocalFile(root: string, path: string, maxBytes: number): Promise<Uint8Array | undefined> {
  const opened = await openLocalFile(root, path);
  if (opened === undefined) return undefined;
  let read: Awaited<ReturnType<typeof readOpenedFile>>;
  try {
    read = await readOpenedFile(opened, maxBytes);
  } catch (err) {
    throw fromSystemError(err, `reading ${path}`);
  }
  if ('bytes' in read) return read.bytes;
  throw refusedAsDamage(path, read.refused, maxBytes);
}

/** A metadata file of the copy (beneath `root`), which must be there. */
export async function readLocalMetadataBytes(root: string, path: string, maxBytes = MAX_LOCAL_METADATA_BYTES): Promise<Uint8Array> {
  const bytes = await readLocalFile(root, path, maxBytes);
  if (bytes === undefined) throw damaged(path, 'is missing');
  return bytes;
}

/** A metadata file's bytes parsed as the copy's: its signatures are not checked (no canonical bytes kept), its form is. */
export function parseLocalMetadata<K extends Role>(path: string, bytes: Uint8Array, type: K, name: string): Envelope<Extract<Signed, { _type: K }>> {
  try {
    return parseUnverifiedEnvelope(bytes, type, name);
  } catch (err) {
    if (isAirlockError(err)) throw damaged(path, `is not valid ${type} metadata (${err.code})`, err);
    throw err;
  }
}

/** Length and SHA-256 of a file of the copy (beneath `root`), streamed; undefined when it has none. */
export async function digestOfLocalFile(root: string, path: string): Promise<{ length: number; sha256: string } | undefined> {
  const opened = await openLocalFile(root, path);
  if (opened === undefined) return undefined;
  try {
    const { length, digests } = await hashStream(opened.fh.createReadStream({ highWaterMark: 1 << 16, autoClose: false }), ['sha256']);
    return { length, sha256: digests.sha256! };
  } catch (err) {
    throw fromSystemError(err, `reading ${path}`);
  } finally {
    await opened.fh.close();
  }
}
