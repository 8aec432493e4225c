// What publishing needs from a host, and nothing more: list the tree, read a file back
// (to hash it), write a file under a temporary name, rename it into place, remove a file.
// Keeping the surface this small is what lets the directory, SFTP and S3 transports be
// tested against the same plan/apply code. A host where one write is already atomic per
// file (an S3 PUT: an object appears whole or not at all) offers writeInPlace, and
// publishing then needs no temporary name and no rename. A host that can make many
// writes durable at once (a directory: syncfs(2)) offers flush, and a large publish then
// writes and renames without a flush per file and flushes once per batch.

/** A regular file on the host, path relative to the host tree's root, posix separators. */
export interface RemoteFile {
  path: string;
  size: number;
  /** Modification time in whole seconds since the epoch, when the transport knows it. */
  mtime?: number;
  /**
   * The host's own name for this version of the object (S3's ETag), when it has one: it
   * changes with the bytes even within the second an mtime cannot tell apart.
   */
  version?: string;
  /** Permission bits, when the host has them (host-modes.ts). */
  mode?: number;
}

/** A directory of the host tree ('' is the tree's root) with its permission bits. */
export interface RemoteDirectory {
  path: string;
  mode: number;
}

/** What a host holds at a path: length, hex SHA-256, and the mtime it had when read. */
export interface RemoteDigest {
  length: number;
  sha256: string;
  mtime?: number;
  /** As RemoteFile.version: the host's name for the version that was read. */
  version?: string;
  /** Permission bits, when the host has them: checked by the read-back like the bytes. */
  mode?: number;
}

export interface RenameOptions {
  /**
   * Replace an existing file at the destination (atomically). When false, an existing
   * destination is left untouched and `rename` answers 'exists': immutable paths are
   * never clobbered, even by a racing publish.
   */
  overwrite: boolean;
  /** false: no flush of the directory entry here; the caller calls flush() for the batch. Default true. */
  durable?: boolean;
}

export interface PutOptions {
  /** false: the bytes are not flushed here; the caller calls flush() for the batch. Default true. */
  durable?: boolean;
}

export interface WriteInPlaceOptions {
  /** As RenameOptions.overwrite: without it an existing path is left alone ('exists'). */
  overwrite: boolean;
  /** The length the plan hashed (sent as Content-Length; the file is read back after). */
  length: number;
}

export interface Transport {
  /** The host's name (from the host registry) for reports and errors. */
  readonly host: string;
  /**
   * Every regular file under the tree's root (directories, symlinks and others left out),
   * streamed in no particular order: a host of millions of files is never held whole.
   */
  list(): AsyncIterable<RemoteFile>;
  /** Length and hex SHA-256 of a file on the host, read as a stream; undefined if absent. */
  digest(path: string): Promise<RemoteDigest | undefined>;
  /** The whole file, refused past maxBytes; undefined if absent. For small metadata only. */
  readSmall(path: string, maxBytes: number): Promise<Uint8Array | undefined>;
  /** Streams a local file to `path` on the host, creating parent directories. */
  put(localFile: string, path: string, onProgress?: (bytesSent: number) => void, options?: PutOptions): Promise<void>;
  rename(from: string, to: string, options: RenameOptions): Promise<'renamed' | 'exists'>;
  /**
   * Present where many writes can be made durable at once: makes the files at `paths`
   * (written or renamed with `durable: false`) and the directory entries naming them
   * durable, in one flush where the host allows it.
   */
  flush?(paths: readonly string[]): Promise<void>;
  /**
   * How many files of one stage may be uploaded at once (put, read-back, rename each on
   * its own): hosts where each file costs round trips (SFTP, S3). Absent: one at a time.
   */
  readonly parallelFiles?: number;
  /**
   * Present where one write is atomic per file: streams a local file to its real path,
   * never visible half-written. Publishing uses it instead of put + rename, and still
   * reads the file back.
   */
  writeInPlace?(localFile: string, path: string, options: WriteInPlaceOptions, onProgress?: (bytesSent: number) => void): Promise<'written' | 'exists'>;
  /** Removes a file; absent is fine. */
  remove(path: string): Promise<void>;
  /**
   * Hosts with permission bits (directory, SFTP) implement these two, so a publish can
   * find and repair files and directories a web server cannot read (host-modes.ts).
   * The directories listed are those airlock may chmod; streamed, as `list` is (a
   * tree of 1M targets has ~200,000 directories).
   */
  listDirectories?(): AsyncIterable<RemoteDirectory>;
  chmod?(path: string, mode: number): Promise<void>;
  close(): Promise<void>;
}

/** Refuses paths that could leave the host tree: absolute, `..`, empty segments, backslashes. */
export function assertTreePath(path: string): void {
  const parts = path.split('/');
  if (path === '' || path.startsWith('/') || path.includes('\\') || path.includes('\0') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new TypeError(`not a relative path inside the host tree: ${JSON.stringify(path)}`);
  }
}
