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
// files are read. (A host that swaps a directory for a link between that check and the
// write can still race it: keep the tree writable by the publisher only.)
//
// Modes are set explicitly (host-modes.ts), never left to the umask: every file gets the
// host's file mode with fchmod before it is flushed, every directory made gets its
// directory mode.
import { constants, type Stats } from 'node:fs';
import { chmod, lstat, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { renameWithoutReplacing, syncDirectory } from '../core/atomic-file.js';
import { syncFileSystem } from '../core/file-system-sync.js';
import { hashStream } from '../core/digest.js';
import { AirlockError, fromSystemError } from '../core/errors.js';
import { walkTree } from '../core/file-tree.js';
import { openRegularFile, readRegularFile } from '../core/regular-file.js';
import { writeAll } from '../core/write-all.js';
import { DEFAULT_HOST_MODES, permissionBits, type HostModes } from './host-modes.js';
import { assertTreePath, type PutOptions, type RemoteDigest, type RemoteDirectory, type RemoteFile, type RenameOptions, type Transport } from './transport.js';

/** Bytes copied (and hashed) per read. */
const COPY_CHUNK = 1 << 20;
/** Created exclusively, never through an existing file or symlink (O_EXCL with O_CREAT follows no link). */
const CREATE_EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

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
   * Directories below the root already found to be real directories (or made so), each
   * checked once per batch rather than on every call: a large publish touches a few
   * directories tens of thousands of times. Only a batch's writes and renames (the calls
   * made with `durable: false`) use it, and every flush forgets it, so a directory
   * swapped for a symlink is caught at the batch's next step at the latest; a file sent
   * on its own, and every read, checks each directory afresh.
   */
  private readonly checkedDirs = new Set<string>();

  /** E_HOST_UNSAFE for a directory of the path that is a symlink or no directory at all. */
  private notADirectory(dir: string, st: Stats): AirlockError {
    return this.unsafe(dir, `is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}; airlock never writes or reads through it — remove it on the host and find out who put it there`);
  }

  /** abs(), refusing (E_HOST_UNSAFE) a path whose directories below the root include a symlink or non-directory. */
  private async safe(path: string, inBatch = false): Promise<string> {
    const full = this.abs(path);
    const parts = path.split('/');
    let dir = this.root;
    for (const part of parts.slice(0, -1)) {
      dir = join(dir, part);
      if (inBatch && this.checkedDirs.has(dir)) continue;
      let st;
      try {
        st = await lstat(dir);
      } catch (err) {
        if (errno(err) === 'ENOENT') break; // made below as a real directory
        throw fromSystemError(err, `reading ${dir} on host ${this.host}`);
      }
      if (st.isSymbolicLink() || !st.isDirectory()) {
        throw this.notADirectory(dir, st);
      }
      if (inBatch) this.checkedDirs.add(dir);
    }
    return full;
  }

  /** Makes the missing directories above `path` (already checked by safe()), each with the host's directory mode. */
  private async makeParents(path: string, inBatch: boolean): Promise<void> {
    let dir = this.root;
    for (const part of path.split('/').slice(0, -1)) {
      dir = join(dir, part);
      if (inBatch && this.checkedDirs.has(dir)) continue;
      try {
        await mkdir(dir);
      } catch (err) {
        if (errno(err) !== 'EEXIST') throw err;
        // Made meanwhile — by another write of the same batch, or by someone else: it
        // must be a real directory all the same.
        const st = await lstat(dir);
        if (st.isSymbolicLink() || !st.isDirectory()) {
          throw this.notADirectory(dir, st);
        }
        continue;
      }
      await chmod(dir, this.modes.dir);
      if (inBatch) this.checkedDirs.add(dir);
    }
  }

  /** Why a path on the host is not read: a symlink or something else than a regular file. */
  private refusedRead(path: string, refused: 'symlink' | 'not-regular'): AirlockError {
    return refused === 'symlink'
      ? this.unsafe(path, 'is a symlink; airlock never reads through it — remove it on the host')
      : this.unsafe(path, 'is not a regular file; remove it on the host');
  }

  /** Opens a regular file for reading, never through a final symlink; undefined if absent. */
  private async openFile(path: string) {
    const full = await this.safe(path);
    let opened;
    try {
      opened = await openRegularFile(full);
    } catch (err) {
      throw fromSystemError(err, `reading ${path} on host ${this.host}`);
    }
    if (!('refused' in opened)) return opened;
    if (opened.refused === 'absent') return undefined;
    throw this.refusedRead(path, opened.refused);
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
    const full = await this.safe(path);
    let read;
    try {
      read = await readRegularFile(full, maxBytes);
    } catch (err) {
      throw fromSystemError(err, `reading ${path} on host ${this.host}`);
    }
    if (!('refused' in read)) return read.bytes;
    if (read.refused === 'absent') return undefined;
    if (read.refused === 'too-large') throw new AirlockError('E_TOO_LARGE', `${path} on host ${this.host} is larger than ${maxBytes} bytes`);
    throw this.refusedRead(path, read.refused);
  }

  async put(localFile: string, path: string, onProgress?: (bytesSent: number) => void, options: PutOptions = {}): Promise<void> {
    const inBatch = options.durable === false;
    const dest = await this.safe(path, inBatch);
    let created = false;
    try {
      await this.makeParents(path, inBatch);
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
  }

  async rename(from: string, to: string, options: RenameOptions): Promise<'renamed' | 'exists'> {
    const durable = options.durable !== false;
    const src = await this.safe(from, !durable);
    const dest = await this.safe(to, !durable);
    try {
      await this.makeParents(to, !durable);
      if (options.overwrite) {
        await rename(src, dest);
      } else {
        // Published files, which every client verifies: on a host without hard links a check then rename.
        if ((await renameWithoutReplacing(src, dest, { checkThenRename: true })) === 'exists') return 'exists';
      }
      if (durable) await this.syncDir(dest);
      return 'renamed';
    } catch (err) {
      throw fromSystemError(err, `renaming ${from} to ${to} on host ${this.host}`);
    }
  }

  /**
   * One syncfs(2) of the host's file system for a whole batch; where that cannot run,
   * each file and each directory naming one, once.
   */
  async flush(paths: readonly string[]): Promise<void> {
    this.flushes++;
    this.checkedDirs.clear();
    if (await this.syncFileSystemsOf(paths)) return;
    const dirs = new Set<string>();
    try {
      for (const path of paths) {
        const full = await this.safe(path);
        const opened = await openRegularFile(full);
        if ('refused' in opened) continue; // renamed away since (the batch's temporary names)
        try {
          await opened.fh.sync();
        } finally {
          await opened.fh.close();
        }
        dirs.add(dirname(full));
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

  /** The rename is durable only once the directory entry is flushed. */
  private async syncDir(file: string): Promise<void> {
    await syncDirectory(dirname(file));
  }

  async remove(path: string): Promise<void> {
    const full = await this.safe(path);
    try {
      await unlink(full);
    } catch (err) {
      if (errno(err) !== 'ENOENT') throw fromSystemError(err, `removing ${path} on host ${this.host}`);
    }
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
    const full = path === '' ? this.root : await this.safe(path);
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
  }

  async close(): Promise<void> {}
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
