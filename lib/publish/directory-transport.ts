// The embedded default host: a directory (a local disk, a mounted volume, the tree a
// web server serves). Files are written exclusively under a temporary name, flushed,
// then renamed; immutable paths are put in place with link(2), which fails instead of
// replacing an existing file, so even a racing writer cannot clobber a published one.
//
// The host is not trusted, and a directory host is often writable by others (a web
// server's tree, a shared volume): a symlink planted in it (`metadata -> ~/.airlock`,
// `releases/p/1.0 -> ~/.ssh`) would make the terminal write, rename or read through it,
// in its own name. So no path is used if any directory on it below the root is a symlink
// (E_HOST_UNSAFE), files are opened without following a final symlink, and only regular
// files are read. Each directory is opened without following it and the next component
// is named through it (lib/core/path-beneath.ts: /proc/self/fd/<fd>/<name>), so every
// write, rename, read and removal happens in the very directory that was checked: one
// swapped for a link meanwhile is not followed (on Linux; where /proc/self/fd is missing
// each directory is lstat'ed first, which such a swap can still race).
//
// Modes are set explicitly (host-modes.ts), never left to the umask: every file gets the
// host's file mode with fchmod before it is flushed, every directory made gets its
// directory mode.
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { renameWithoutReplacing, syncDirectory } from '../core/atomic-file.js';
import { syncFileSystem } from '../core/file-system-sync.js';
import { hashStream } from '../core/digest.js';
import { AirlockError, fromSystemError, isAirlockError } from '../core/errors.js';
import { walkTree } from '../core/file-tree.js';
import { openDirectoryBeneath, type BeneathRefusal, type HeldDirectory } from '../core/path-beneath.js';
import { openRegularFile, readOpenedFile } from '../core/regular-file.js';
import { writeAll } from '../core/write-all.js';
import { DEFAULT_HOST_MODES, permissionBits, type HostModes } from './host-modes.js';
import { assertTreePath, type PutOptions, type RemoteDigest, type RemoteDirectory, type RemoteFile, type RenameOptions, type Transport } from './transport.js';

/**
 * At most about this many directories are held open (a descriptor each; past it the least
 * recently used is let go): a batch of 2,048 files into targets/ and releases/ at 10 a
 * version writes about 410.
 */
const DIRECTORIES_HELD = 512;
/** Bytes copied (and hashed) per read. */
const COPY_CHUNK = 1 << 20;
/** Created exclusively, never through an existing file or symlink (O_EXCL with O_CREAT follows no link). */
const CREATE_EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** A directory held open, or being opened, and how many calls are working in it. */
interface HeldEntry {
  ready: Promise<HeldDirectory | BeneathRefusal>;
  users: number;
  /** Opened by a call that makes missing directories. */
  make: boolean;
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

export class DirectoryTransport implements Transport {
  /** How many batch flushes this transport made (tests count them instead of timing). */
  flushes = 0;

  constructor(
    readonly host: string,
    readonly root: string,
    readonly modes: HostModes = DEFAULT_HOST_MODES,
  ) {}

  /**
   * Opens (and creates, for a first publish, with the host's directory mode) the host
   * directory. `create: false` only reads: a host directory that does not exist yet is
   * left so and reads as empty (a plan or a --dry-run writes nothing).
   */
  static async open(host: string, root: string, modes: HostModes = DEFAULT_HOST_MODES, options: { create?: boolean } = {}): Promise<DirectoryTransport> {
    if (options.create === false && (await absent(root))) return new DirectoryTransport(host, root, modes);
    try {
      const made = await mkdir(root, { recursive: true });
      if (made !== undefined) {
        // mkdir -p made `made` and everything below it down to root, each under the umask.
        for (let dir = root; ; dir = dirname(dir)) {
          await chmod(dir, modes.dir);
          if (dir === made || dirname(dir) === dir) break;
        }
      }
      const st = await stat(root);
      if (!st.isDirectory()) throw new AirlockError('E_CONFIG', `host ${host}: ${root} is not a directory; fix the host's URL`);
    } catch (err) {
      throw fromSystemError(err, `opening host ${host} at ${root}`);
    }
    return new DirectoryTransport(host, root, modes);
  }

  private abs(path: string): string {
    assertTreePath(path);
    return join(this.root, ...path.split('/'));
  }

  /** E_HOST_UNSAFE: `path` on this host is not what airlock may write or read through. */
  private unsafe(path: string, problem: string): AirlockError {
    return new AirlockError('E_HOST_UNSAFE', `host ${this.host}: ${path} ${problem}`, { details: { host: this.host, path } });
  }

  /**
   * The directories this transport works in, held open (path-beneath.ts) from their first
   * use until the next flush: a large publish writes and reads back a few directories
   * tens of thousands of times, and opening each directory on the way for every call
   * cost a first publish of 20,000 files 1.45× the CPU time. Writes, renames and reads
   * use them; nothing is ever named through a link, since a held directory is the one
   * that was opened without following any. A flush, and a durable rename (the end of a
   * file sent on its own), close them all, so the next batch or file opens each afresh
   * from the root (a directory swapped for a symlink meanwhile is refused then). A
   * removal and a mode repair open their directories afresh.
   */
  private readonly heldDirs = new Map<string, HeldEntry>();

  /** E_HOST_UNSAFE for what path-beneath.ts refused on the way to `path`. */
  private refused(path: string, r: Exclude<BeneathRefusal, { refused: 'absent' }>): AirlockError {
    switch (r.refused) {
      case 'linked-directory':
        return this.unsafe(r.at, 'is a symlink; airlock never writes or reads through it — remove it on the host and find out who put it there');
      case 'not-directory':
        return this.unsafe(r.at, 'is not a directory; airlock never writes or reads through it — remove it on the host and find out who put it there');
      case 'symlink':
        return this.unsafe(path, 'is a symlink; airlock never reads or changes anything through it — remove it on the host');
      case 'not-regular':
        return this.unsafe(path, 'is not a regular file; remove it on the host');
    }
  }

  /**
   * Runs `fn` in the directory holding `path`, held open with no symlink on the way
   * (E_HOST_UNSAFE otherwise); `make` makes the missing directories with the host's
   * mode; without it a missing one is undefined. Calls that need the same directory at
   * once share one opening of it (a batch writes 8 files at a time, often into one new
   * directory).
   */
  private async inDirectoryOf<T>(path: string, { make, hold }: { make: boolean; hold: boolean }, fn: (dir: HeldDirectory, name: string) => Promise<T>): Promise<T | undefined> {
    assertTreePath(path);
    const segments = path.split('/');
    const name = segments.pop()!;
    const key = segments.join('/');
    let entry = hold ? this.heldDirs.get(key) : undefined;
    if (entry !== undefined) {
      // Most recently used last: the least recently used is let go first.
      this.heldDirs.delete(key);
      this.heldDirs.set(key, entry);
    } else {
      entry = {
        ready: openDirectoryBeneath(this.root, segments, make ? { make: this.modes.dir } : {}).catch((err: unknown) => {
          throw fromSystemError(err, `opening the directory of ${path} on host ${this.host}`);
        }),
        users: 0,
        make,
      };
      if (hold) this.heldDirs.set(key, entry);
    }
    // Counted in use before any await: a directory in use is never closed (its descriptor
    // number could be reused by another open, and a name made from it would mean that).
    entry.users++;
    let dir: HeldDirectory | undefined;
    try {
      const opened = await entry.ready.catch((err: unknown) => {
        if (this.heldDirs.get(key) === entry) this.heldDirs.delete(key);
        throw err;
      });
      if ('refused' in opened) {
        if (this.heldDirs.get(key) === entry) this.heldDirs.delete(key);
        // Found missing by a call that did not make it: this one makes it, in a walk of its own.
        if (opened.refused === 'absent' && make && !entry.make) return await this.inDirectoryOf(path, { make, hold }, fn);
        if (opened.refused === 'absent') return undefined;
        throw this.refused(path, opened);
      }
      dir = opened;
      if (hold && this.heldDirs.size > DIRECTORIES_HELD) await this.releaseDirectories({ beyond: DIRECTORIES_HELD });
      return await fn(dir, name);
    } finally {
      entry.users--;
      if (!hold) await dir?.close();
    }
  }

  /**
   * Closes the directories held that no call is working in (at a flush, all: it follows
   * the batch's writes), least recently used first, until at most `beyond` are held.
   */
  private async releaseDirectories({ beyond = 0 } = {}): Promise<void> {
    const held: HeldEntry[] = [];
    for (const [key, e] of this.heldDirs) {
      if (this.heldDirs.size <= beyond) break;
      if (e.users > 0) continue;
      this.heldDirs.delete(key);
      held.push(e);
    }
    for (const e of held) {
      const opened = await e.ready.catch(() => undefined);
      if (opened !== undefined && !('refused' in opened)) await opened.close();
    }
  }

  /** Opens a regular file for reading, never through a symlink on the way; undefined if absent. */
  private async openFile(path: string) {
    let opened;
    try {
      opened = await this.inDirectoryOf(path, { make: false, hold: true }, (dir, name) => openRegularFile(dir.name(name)));
    } catch (err) {
      if (err instanceof AirlockError) throw err;
      throw fromSystemError(err, `reading ${path} on host ${this.host}`);
    }
    if (opened === undefined) return undefined; // a directory on the way is not there
    if (!('refused' in opened)) return opened;
    if (opened.refused === 'absent') return undefined;
    throw this.refused(path, { refused: opened.refused, at: path });
  }

  async *list(): AsyncGenerator<RemoteFile> {
    if (await absent(this.root)) return;
    try {
      for await (const e of walkTree(this.root)) {
        if (e.kind === 'file') yield { path: e.path, size: e.stats.size, mtime: Math.floor(e.stats.mtimeMs / 1000), mode: permissionBits(e.stats.mode) };
      }
    } catch (err) {
      throw fromSystemError(err, `listing ${this.root} on host ${this.host}`);
    }
  }

  async digest(path: string): Promise<RemoteDigest | undefined> {
    const opened = await this.openFile(path);
    if (opened === undefined) return undefined;
    const { fh, st } = opened;
    try {
      const { length, digests } = await hashStream(fh.createReadStream({ highWaterMark: Math.max(1, Math.min(COPY_CHUNK, st.size)), autoClose: false }), ['sha256']);
      return { length, sha256: digests.sha256!, mtime: Math.floor(st.mtimeMs / 1000), mode: permissionBits(st.mode) };
    } catch (err) {
      throw fromSystemError(err, `reading ${path} on host ${this.host}`);
    } finally {
      await fh.close();
    }
  }

  async readSmall(path: string, maxBytes: number): Promise<Uint8Array | undefined> {
    const opened = await this.openFile(path);
    if (opened === undefined) return undefined;
    let read;
    try {
      read = await readOpenedFile(opened, maxBytes);
    } catch (err) {
      throw fromSystemError(err, `reading ${path} on host ${this.host}`);
    }
    if ('bytes' in read) return read.bytes;
    throw new AirlockError('E_TOO_LARGE', `${path} on host ${this.host} is larger than ${maxBytes} bytes`);
  }

  async put(localFile: string, path: string, onProgress?: (bytesSent: number) => void, options: PutOptions = {}): Promise<void> {
    const written = await this.inDirectoryOf(path, { make: true, hold: true }, async (dir, name): Promise<true> => {
      const dest = dir.name(name);
      let created = false;
      try {
        const src = await open(localFile, constants.O_RDONLY);
        try {
          // Created exclusively, never through an existing file or symlink.
          const fh = await open(dest, CREATE_EXCLUSIVE, this.modes.file);
          created = true;
          try {
            // The umask narrowed the mode the file was created with; set it outright.
            await fh.chmod(this.modes.file);
            // A buffer the size of a small file, not a fixed 1 MiB: a tree is mostly small files.
            const buf = Buffer.allocUnsafe(Math.max(1, Math.min(COPY_CHUNK, (await src.stat()).size)));
            let sent = 0;
            for (;;) {
              const { bytesRead } = await src.read(buf, 0, buf.length, null);
              if (bytesRead === 0) break;
              await writeAll(fh, buf.subarray(0, bytesRead));
              sent += bytesRead;
              onProgress?.(sent);
            }
            if (options.durable !== false) await fh.sync();
          } finally {
            await fh.close();
          }
        } finally {
          await src.close();
        }
      } catch (err) {
        if (created) await unlink(dest).catch(() => undefined);
        throw fromSystemError(err, `writing ${path} on host ${this.host}`);
      }
      return true;
    });
    // Only a root that vanished is absent when missing directories are made: never a silent success.
    if (written !== true) throw new AirlockError('E_IO', `writing ${path} on host ${this.host}: the host's directory is gone; check the host and publish again`, { details: { host: this.host, path } });
  }

  async rename(from: string, to: string, options: RenameOptions): Promise<'renamed' | 'exists'> {
    const durable = options.durable !== false;
    const done = await this.inDirectoryOf(from, { make: false, hold: true }, (fromDir, fromName) =>
      this.inDirectoryOf(to, { make: true, hold: true }, async (toDir, toName): Promise<'renamed' | 'exists'> => {
        const src = fromDir.name(fromName);
        const dest = toDir.name(toName);
        try {
          if (options.overwrite) {
            await rename(src, dest);
          } else {
            // Published files, which every client verifies: on a host without hard links a check then rename.
            if ((await renameWithoutReplacing(src, dest, { checkThenRename: true })) === 'exists') return 'exists';
          }
          // The rename is durable only once the directory entry is flushed.
          if (durable) await syncDirectory(toDir.name('.'));
          return 'renamed';
        } catch (err) {
          throw fromSystemError(err, `renaming ${from} to ${to} on host ${this.host}`);
        }
      }),
    );
    // A file sent on its own ends with its durable rename: the next one opens its directories afresh.
    if (durable) await this.releaseDirectories();
    if (done === undefined) throw fromSystemError(Object.assign(new Error(`the directory of ${from} is missing`), { code: 'ENOENT' }), `renaming ${from} to ${to} on host ${this.host}`);
    return done;
  }

  /**
   * One syncfs(2) of the host's file system for a whole batch; where that cannot run,
   * each file and each directory naming one, once.
   */
  async flush(paths: readonly string[]): Promise<void> {
    this.flushes++;
    await this.releaseDirectories();
    if (await this.syncFileSystemsOf(paths)) return;
    const dirs = new Set<string>();
    try {
      for (const path of paths) {
        const opened = await this.openFile(path).catch((err: unknown) => {
          if (isAirlockError(err, 'E_HOST_UNSAFE') && err.details?.path === path) return undefined; // a file there that is none: not airlock's to flush
          throw err;
        });
        if (opened === undefined) continue; // renamed away since (the batch's temporary names)
        try {
          await opened.fh.sync();
        } finally {
          await opened.fh.close();
        }
        dirs.add(dirname(this.abs(path)));
      }
      for (const dir of dirs) await syncDirectory(dir);
    } catch (err) {
      throw fromSystemError(err, `flushing writes to host ${this.host}`);
    }
  }

  /**
   * One syncfs(2) for each file system the batch's files are on: the root's, and that of
   * any directory below it that is another mount. False where syncfs cannot run.
   */
  private async syncFileSystemsOf(paths: readonly string[]): Promise<boolean> {
    const byDevice = new Map<number, string>([[(await stat(this.root)).dev, this.root]]);
    for (const dir of new Set(paths.map((p) => dirname(this.abs(p))))) {
      const st = await stat(dir).catch(() => undefined);
      if (st !== undefined && !byDevice.has(st.dev)) byDevice.set(st.dev, dir);
    }
    for (const where of byDevice.values()) if (!(await syncFileSystem(where))) return false;
    return true;
  }

  async remove(path: string): Promise<void> {
    await this.inDirectoryOf(path, { make: false, hold: false }, async (dir, name) => {
      try {
        await unlink(dir.name(name));
      } catch (err) {
        if (errno(err) !== 'ENOENT') throw fromSystemError(err, `removing ${path} on host ${this.host}`);
      }
    });
  }

  /** Every directory of the tree, the root ('') included, with its permission bits. */
  async *listDirectories(): AsyncGenerator<RemoteDirectory> {
    if (await absent(this.root)) return;
    try {
      const st = await lstat(this.root);
      if (!st.isDirectory()) return;
      yield { path: '', mode: permissionBits(st.mode) };
      for await (const e of walkTree(this.root)) if (e.kind === 'directory') yield { path: e.path, mode: permissionBits(e.stats.mode) };
    } catch (err) {
      throw fromSystemError(err, `listing ${this.root} on host ${this.host}`);
    }
  }

  /** Sets the permission bits of a file or directory ('' is the root), never through a symlink. */
  async chmod(path: string, mode: number): Promise<void> {
    const set = async (full: string): Promise<void> => {
      let fh;
      try {
        fh = await open(full, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      } catch (err) {
        if (errno(err) === 'ELOOP') throw this.unsafe(path, 'is a symlink; airlock never changes anything through it — remove it on the host');
        throw fromSystemError(err, `setting the mode of ${path || '/'} on host ${this.host}`);
      }
      try {
        await fh.chmod(mode);
      } catch (err) {
        throw fromSystemError(err, `setting the mode of ${path || '/'} on host ${this.host}`);
      } finally {
        await fh.close();
      }
    };
    if (path === '') return set(this.root);
    const done = await this.inDirectoryOf(path, { make: false, hold: false }, async (dir, name) => {
      await set(dir.name(name));
      return true;
    });
    if (done === undefined) throw fromSystemError(Object.assign(new Error(`the directory of ${path} is missing`), { code: 'ENOENT' }), `setting the mode of ${path} on host ${this.host}`);
  }

  async close(): Promise<void> {
    await this.releaseDirectories();
  }
}

/** The host directory does not exist (yet): nothing is on the host. */
async function absent(root: string): Promise<boolean> {
  try {
    await lstat(root);
    return false;
  } catch (err) {
    if (errno(err) === 'ENOENT') return true;
    throw fromSystemError(err, `reading ${root}`);
  }
}
