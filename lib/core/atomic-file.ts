// Nothing is half-written: every file goes to a temporary name in the same directory
// and is renamed over its final name only when complete and flushed, and the directory
// is flushed after the rename, so a reader (or a crash, or a power cut) sees the old
// file or the new one (python-tuf `_persist_metadata`; rename(2) is atomic, but only a
// directory fsync makes the new name durable).
import { randomBytes } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { link, lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AirlockError, fromSystemError } from './errors.js';


export interface AtomicWriteOptions {
  /** File mode of the new file, 0o644 unless set; secret files pass 0o600. Set outright, whatever the umask. */
  mode?: number;
  /**
   * false: the final name must not exist yet (link(2), never replaces — a key file);
   * the failure is an AirlockError whose `cause` has code EEXIST. Default true.
   */
  replace?: boolean;
  /**
   * false skips the flushes, for files whose every reader re-verifies them (a downloaded
   * target): the rename still makes them appear whole or not at all while the system
   * runs. Default true.
   */
  durable?: boolean;
  /**
   * With `replace: false`, on a file system without hard links (FAT, exFAT): check that
   * the name is free, then rename, instead of refusing (see renameWithoutReplacing). For
   * files every reader re-verifies (a download), never for a key file. Default false.
   */
  checkThenRename?: boolean;
}

export function temporaryNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Flushes a directory's entries, so a rename or link into it survives a crash. File
 * systems that cannot fsync a directory (EINVAL, ENOTSUP) are let be: the rename itself
 * is still atomic there.
 */
export async function syncDirectory(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    await fh.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
  } finally {
    await fh?.close();
  }
}

/** errno codes of link(2) on a file system without hard links (FAT and exFAT answer EPERM). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP']);

/**
 * Gives `from` the name `to` unless `to` exists ('exists' then, and `from` is left).
 * link(2) decides that atomically; on a file system without hard links — a USB stick
 * formatted FAT or exFAT, where a download often goes — it is, with `checkThenRename`, a
 * check and then a rename: a file another process creates in between those two calls
 * would be replaced, a race no call Node offers can close there (renameat2's
 * RENAME_NOREPLACE is not exposed). Without it, such a file system is refused by name (a
 * key file is never put where it could replace another). Used by directory hosts too.
 */
export async function renameWithoutReplacing(from: string, to: string, options: { checkThenRename: boolean }): Promise<'renamed' | 'exists'> {
  try {
    await link(from, to);
    await rm(from, { force: true });
    return 'renamed';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return 'exists';
    if (!NO_HARD_LINKS.has(code)) throw err;
    if (!options.checkThenRename) {
      throw new AirlockError('E_IO', `${to} is on a file system without hard links (FAT, exFAT?), where airlock cannot create it without the risk of replacing another file; put it on a Linux file system (ext4, xfs, btrfs)`, { cause: err });
    }
  }
  const present = await lstat(to).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
  if (present) return 'exists';
  await rename(from, to);
  return 'renamed';
}

/**
 * Puts a complete temporary file (same directory) in place: flushes it, renames (or,
 * with `replace: false`, links) it over `path`, flushes the directory (no flushes with
 * `durable: false`). The temporary
 * file is gone afterwards, whatever happened.
 */
export async function commitTemporaryFile(tmp: string, path: string, options: Pick<AtomicWriteOptions, 'replace' | 'durable' | 'checkThenRename'> = {}): Promise<void> {
  const durable = options.durable ?? true;
  try {
    if (durable) {
      const fh = await open(tmp, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    if (options.replace === false) {
      if ((await renameWithoutReplacing(tmp, path, { checkThenRename: options.checkThenRename === true })) === 'exists') {
        // As link(2) fails: callers tell an existing name by this cause.
        throw Object.assign(new Error(`EEXIST: file already exists, ${path}`), { code: 'EEXIST', syscall: 'link', path });
      }
    } else {
      await rename(tmp, path);
    }
    if (durable) await syncDirectory(dirname(path));
  } catch (err) {
    await rm(tmp, { force: true });
    throw fromSystemError(err, `writing ${path}`);
  }
}

/**
 * Creates the temporary file through `fill` (which must create it exclusively, write and
 * close it, and may throw to refuse what it wrote), then commits it over `path`; on any
 * failure the temporary file is removed.
 */
export async function viaTemporaryFile(path: string, fill: (tmp: string) => Promise<void>, options: Pick<AtomicWriteOptions, 'replace' | 'durable' | 'checkThenRename'> = {}): Promise<void> {
  const tmp = temporaryNameFor(path);
  try {
    await mkdir(dirname(path), { recursive: true });
    await fill(tmp);
  } catch (err) {
    await rm(tmp, { force: true });
    throw fromSystemError(err, `writing ${path}`);
  }
  await commitTemporaryFile(tmp, path, options);
}

/** Created exclusively, never through an existing file or symlink (O_EXCL with O_CREAT follows no link). */
const CREATE_EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export async function writeFileAtomic(path: string, data: Uint8Array | string, options: AtomicWriteOptions = {}): Promise<void> {
  const mode = options.mode ?? 0o644;
  await viaTemporaryFile(
    path,
    async (tmp) => {
      const fh = await open(tmp, CREATE_EXCLUSIVE, mode);
      try {
        // The umask narrows the mode a file is created with, a default ACL may widen it.
        await fh.chmod(mode);
        await fh.writeFile(data);
      } finally {
        await fh.close();
      }
    },
    options,
  );
}

/** Streams into a temporary file, then commits it; the stream is never buffered whole. */
export async function writeStreamAtomic(path: string, source: Readable, options: AtomicWriteOptions = {}): Promise<void> {
  const mode = options.mode ?? 0o644;
  await viaTemporaryFile(
    path,
    async (tmp) => {
      await pipeline(source, createWriteStream(tmp, { flags: 'wx', mode }));
      const fh = await open(tmp, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        await fh.chmod(mode);
      } finally {
        await fh.close();
      }
    },
    options,
  );
}
