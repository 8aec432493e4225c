// Reading the terminal's own repository copy ($AIRLOCK_HOME/repository) as what airlock
// wrote there: regular files only. A symlink there — to anywhere, even to the very bytes
// it should hold, or to nothing — is never followed (O_NOFOLLOW), a FIFO or a device is
// refused without blocking, a file is read within a named cap (regular-file.ts), and a
// metadata file must be the canonical JSON airlock writes (parseUnverifiedEnvelope: a
// copy edited by hand is refused on reading, before any key is unlocked). Anything else
// is E_REPOSITORY_DAMAGED (exit 3: restore the copy), never E_METADATA_INVALID, which
// says a host serves bad data. The one reader of the copy for every layer: lib/repo (its
// metadata and bins, commitStaged, sync), lib/publish (the copy's timestamp a publish
// compares with the host's), copy-manifest.ts (the files a manifest is checked against).
import type { Dirent, Stats } from 'node:fs';
import { readdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { hashStream } from './digest.js';
import { AirlockError, fromSystemError, isAirlockError } from './errors.js';
import { openRegularFile, readRegularFile, type FileRefusal } from './regular-file.js';
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

/**
 * Refuses a copy whose top level holds a symlink to a directory (keys/ or metadata/ linked elsewhere):
 * O_NOFOLLOW guards a path's last component only, so files under a linked directory
 * would be read from wherever it points. Checked once by each command that reads the
 * copy (LocalRepository.current, a publish plan); a deeper directory (targets/<project>/…)
 * is checked by commitStaged before anything is moved into it. A copy that does not
 * exist yet passes: its readers say so.
 */
export async function refuseLinkedTopLevel(repoDir: string): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(repoDir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw fromSystemError(err, `reading ${repoDir}`);
  }
  for (const e of entries) {
    // A linked file is its reader's to refuse (O_NOFOLLOW; a cache like .airlock-bins
    // is then rebuilt): here only what would be read through, a linked directory.
    if (e.isSymbolicLink() && (await stat(join(repoDir, e.name)).then((st) => st.isDirectory(), () => false))) {
      throw damaged(join(repoDir, e.name), 'is a symbolic link to a directory (airlock never reads the copy through one)');
    }
  }
}

/** Opens a file of the copy (or of a staging directory) as the regular file it must be; undefined when absent, damage when anything else. */
export async function openLocalFile(path: string): Promise<{ fh: FileHandle; st: Stats } | undefined> {
  let opened: Awaited<ReturnType<typeof openRegularFile>>;
  try {
    opened = await openRegularFile(path);
  } catch (err) {
    throw fromSystemError(err, `reading ${path}`);
  }
  if (!('refused' in opened)) return opened;
  if (opened.refused === 'absent') return undefined;
  throw refusedAsDamage(path, opened.refused);
}

/** A file of the copy read whole, at most `maxBytes`; undefined when it has none. */
export async function readLocalFile(path: string, maxBytes: number): Promise<Uint8Array | undefined> {
  let read: Awaited<ReturnType<typeof readRegularFile>>;
  try {
    read = await readRegularFile(path, maxBytes);
  } catch (err) {
    throw fromSystemError(err, `reading ${path}`);
  }
  if ('bytes' in read) return read.bytes;
  if (read.refused === 'absent') return undefined;
  throw refusedAsDamage(path, read.refused, maxBytes);
}

/** A metadata file of the copy, which must be there. */
export async function readLocalMetadataBytes(path: string, maxBytes = MAX_LOCAL_METADATA_BYTES): Promise<Uint8Array> {
  const bytes = await readLocalFile(path, maxBytes);
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

/** Length and SHA-256 of a file of the copy, streamed; undefined when it has none. */
export async function digestOfLocalFile(path: string): Promise<{ length: number; sha256: string } | undefined> {
  const opened = await openLocalFile(path);
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
