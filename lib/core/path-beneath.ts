// Opening a path beneath a root without following a symlink at ANY component below it.
// O_NOFOLLOW guards a path's last component only: `targets/p/1.0/f` opened with it is
// still read from elsewhere when `targets/p` is a symlink to a directory. And a check of
// each directory first (lstat) then an open of the full path can be raced: a directory
// swapped for a symlink between the two is followed. So each directory is itself opened
// (O_DIRECTORY | O_NOFOLLOW: a symlink there fails, ELOOP) and the next component is
// opened through it — `/proc/self/fd/<fd>/<name>`: the magic link resolves to the very
// directory the descriptor holds, whatever its path now names, and O_NOFOLLOW then
// applies to `<name>` (openat(2) without native code; Linux's openat2 RESOLVE_NO_SYMLINKS
// is what this builds by hand). Where /proc/self/fd is not there (not Linux, a sandbox
// without /proc) each directory is lstat'ed and the path opened by name with
// O_NOFOLLOW: every link there at the time of the check is refused, but a swap between
// check and open can still race it.
//
// The root itself is the caller's word (a configured home, a host the user named) and
// may be a symlink. Cost: one open and one close per directory below the root, on top
// of the file's own open.
import { constants, existsSync, readlinkSync, type Stats } from 'node:fs';
import { chmod, lstat, mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { openRegularFile } from './regular-file.js';

/** Why nothing was opened: `at` is the root-relative path of the component at fault. */
export type BeneathRefusal =
  | { refused: 'absent'; at: string }
  /** A directory on the way is a symlink (to anywhere). */
  | { refused: 'linked-directory'; at: string }
  /** A component on the way is neither a directory nor a symlink (a file where a directory must be). */
  | { refused: 'not-directory'; at: string }
  /** The last component is a symlink. */
  | { refused: 'symlink'; at: string }
  /** The last component is not a regular file (a FIFO, a device, a directory, a socket). */
  | { refused: 'not-regular'; at: string };

/** /proc/self/fd names the directory a descriptor holds (Linux with /proc mounted). */
const PROC_FD = process.platform === 'linux' && existsSync('/proc/self/fd');

/**
 * The process's own /proc/<pid>/fd: the same as /proc/self/fd without resolving `self` on
 * every open (~1 µs of 7 here) — only where /proc/self names this very pid (a /proc
 * mounted from another pid namespace would name another process's descriptors).
 */
const PROC_FD_DIR = PROC_FD && readlinkSync('/proc/self') === String(process.pid) ? `/proc/${process.pid}/fd` : '/proc/self/fd';

function procFd(): string {
  return PROC_FD_DIR;
}

/**
 * A path that opens the very file `fh` holds (Linux: its /proc name, resolved by the
 * kernel to the open file, never by a walk of its old path), for code that takes a path
 * (a transport's stream); undefined where there is no /proc.
 */
export function nameOfOpenFile(fh: FileHandle): string | undefined {
  return PROC_FD ? `${procFd()}/${fh.fd}` : undefined;
}

export type BeneathWalk = 'proc-fd' | 'lstat';

/** How paths are walked here: by held descriptors where the system allows, else by lstat (racy; see the header). */
export const DEFAULT_WALK: BeneathWalk = PROC_FD ? 'proc-fd' : 'lstat';

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * A directory beneath the root, held open: `name(entry)` is a path to one of its entries
 * that resolves through this very directory (proc-fd), never through a link above it.
 * Close it when done; names made from it mean nothing after.
 */
export interface HeldDirectory {
  name(entry: string): string;
  close(): Promise<void>;
}

export interface DirectoryOptions {
  walk?: BeneathWalk;
  /**
   * Make each missing directory, with this mode set outright (not left to the umask). A
   * directory someone else makes meanwhile (EEXIST) is taken only if it is a real
   * directory when opened without following, and keeps its mode.
   */
  make?: number;
}

/**
 * Opens the directory `root/segments…` with no symlink among `segments`; a refusal says
 * which component is at fault. Other failures (EACCES, EIO …) are thrown as they are.
 */
export async function openDirectoryBeneath(root: string, segments: readonly string[], options: DirectoryOptions = {}): Promise<HeldDirectory | BeneathRefusal> {
  segments.forEach(checkSegment);
  const { walk = DEFAULT_WALK, make } = options;
  if (walk === 'lstat') {
    try {
      if (!(await stat(root)).isDirectory()) return { refused: 'not-directory', at: '' };
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return { refused: 'absent', at: '' };
      throw err;
    }
    let dir = root;
    for (let i = 0; i < segments.length; i++) {
      dir = join(dir, segments[i]!);
      const at = segments.slice(0, i + 1).join('/');
      let st = await lstat(dir).catch((err: unknown) => {
        if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return undefined;
        throw err;
      });
      let made = false;
      if (st === undefined && make !== undefined) {
        made = await makeDirectory(dir);
        st = await lstat(dir);
      }
      if (st === undefined) return { refused: 'absent', at };
      if (st.isSymbolicLink()) return { refused: 'linked-directory', at };
      if (!st.isDirectory()) return { refused: 'not-directory', at };
      if (made) await chmod(dir, make!);
    }
    const held = dir;
    return { name: (entry) => join(held, entry), close: async () => undefined };
  }
  let fh: FileHandle;
  try {
    fh = await open(root, O_PATH | constants.O_DIRECTORY);
  } catch (err) {
    if (errno(err) === 'ENOENT') return { refused: 'absent', at: '' };
    if (errno(err) === 'ENOTDIR') return { refused: 'not-directory', at: '' };
    throw err;
  }
  for (let i = 0; i < segments.length; i++) {
    const name = `${procFd()}/${fh.fd}/${segments[i]}`;
    const at = segments.slice(0, i + 1).join('/');
    let next: FileHandle | BeneathRefusal;
    try {
      next = await openDirectoryHere(name, at);
      let made = false;
      if ('refused' in next && next.refused === 'absent' && make !== undefined) {
        made = await makeDirectory(name);
        next = await openDirectoryHere(name, at);
      }
      // fchmod(2) refuses an O_PATH descriptor: chmod through its /proc name, the same directory.
      if (made && !('refused' in next)) await chmod(`${procFd()}/${next.fd}`, make!);
    } catch (err) {
      await fh.close();
      throw err;
    }
    await fh.close();
    if ('refused' in next) return next;
    fh = next;
  }
  const held = fh;
  const prefix = `${procFd()}/${held.fd}/`;
  return { name: (entry) => prefix + entry, close: () => held.close() };
}

/**
 * A segment must name one entry of the directory it is opened in: `..` would climb above
 * the root, and a `/` inside one would have the components between resolved by the
 * kernel, following links. Callers check what they were given (a host's paths, the
 * copy's); reaching here with such a segment is a bug, refused before any open.
 */
function checkSegment(segment: string): void {
  if (segment === '' || segment === '.' || segment === '..' || segment.includes('/') || segment.includes('\0')) {
    throw new TypeError(`path-beneath: ${JSON.stringify(segment)} is not one plain name`);
  }
}

/**
 * Directories are held with O_PATH: the descriptor only names the directory, so one the
 * process may search but not list (mode 0711, as web trees often are) is walked through
 * as a path open would walk it. Linux's value (Node has no constant); the proc-fd walk
 * runs on Linux only.
 */
const O_PATH = 0o10000000;

/** `name` (through a held directory) opened as a directory without following it. */
async function openDirectoryHere(name: string, at: string): Promise<FileHandle | BeneathRefusal> {
  try {
    return await open(name, O_PATH | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (err) {
    if (errno(err) === 'ENOENT') return { refused: 'absent', at };
    if (errno(err) === 'ELOOP') return { refused: 'linked-directory', at };
    // Linux answers ENOTDIR for a symlink too (O_DIRECTORY is checked first): which one, for the message.
    if (errno(err) === 'ENOTDIR') return { refused: (await lstat(name).catch(() => undefined))?.isSymbolicLink() ? 'linked-directory' : 'not-directory', at };
    throw err;
  }
}

/** mkdir; false when something already stands there (made meanwhile: judged when opened). mkdir(2) never follows its last component. */
async function makeDirectory(path: string): Promise<boolean> {
  try {
    await mkdir(path);
    return true;
  } catch (err) {
    if (errno(err) === 'EEXIST') return false;
    throw err;
  }
}

/**
 * Opens the regular file `root/segments…` for reading: no symlink among the directories
 * below the root nor as the file itself, never blocking on a FIFO (O_NONBLOCK; fstat
 * then refuses it). Returns the handle and its fstat (the caller closes it), or why not.
 */
export async function openFileBeneath(root: string, segments: readonly string[], walk: BeneathWalk = DEFAULT_WALK): Promise<{ fh: FileHandle; st: Stats } | BeneathRefusal> {
  if (segments.length === 0) throw new TypeError('path-beneath: no file named');
  const dir = await openDirectoryBeneath(root, segments.slice(0, -1), { walk });
  if ('refused' in dir) return dir;
  let opened: Awaited<ReturnType<typeof openRegularFile>>;
  try {
    opened = await openRegularFile(dir.name(segments.at(-1)!));
  } finally {
    await dir.close();
  }
  return 'refused' in opened ? { refused: opened.refused, at: segments.join('/') } : opened;
}
