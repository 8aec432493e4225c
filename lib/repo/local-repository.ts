// The terminal's local copy of the host tree (docs/host-layout.md): reading the
// current metadata of each role, and moving a staged change into it in the publishing
// order, so that even the local copy is never seen half-updated.
import { lstatSync, mkdirSync, renameSync } from 'node:fs';
import { lstat, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { syncDirectory } from '../core/atomic-file.js';
import { syncFileSystem } from '../core/file-system-sync.js';
import { listRegularFiles } from '../core/file-tree.js';
import { damaged, digestOfLocalFile, openLocalFile, parseLocalMetadata, readLocalMetadataBytes, refuseLinkedDirectories } from '../core/local-copy-file.js';
import { sha256Hex } from '../core/digest.js';
import { AirlockError, fromSystemError, isAirlockError } from '../core/errors.js';
import { appendManifest, trustedManifest, type ManifestEntry } from '../core/copy-manifest.js';
import { classifyPath, comparePublishOrder, type PathClass } from '../core/host-layout.js';
import { metadataFileName, type Envelope, type RootSigned, type Signed, type SnapshotSigned, type TargetsSigned, type TimestampSigned } from '../core/tuf-metadata.js';
import { binNamesOf } from './hash-bins.js';

export interface CurrentMetadata {
  root: Envelope<RootSigned>;
  timestamp: Envelope<TimestampSigned>;
  snapshot: Envelope<SnapshotSigned>;
  targets: Envelope<TargetsSigned>;
}

/** The current metadata and every hash bin snapshot lists: everything the copy says is signed. */
export interface SignedState extends CurrentMetadata {
  /** Hash bins by role name (empty below `hashBins.afterTargets`). */
  bins: Map<string, Envelope<TargetsSigned>>;
}

/** Past this many files a commit flushes with syncfs(2), twice, instead of one fsync per file and directory. */
const SYNCFS_AFTER_FILES = 64;

/**
 * The terminal's own copy is read through the same parser as a host's metadata: a damaged
 * file is E_REPOSITORY_DAMAGED here (exit 3: restore the copy), never a TypeError far away
 * and never E_METADATA_INVALID, which says a host is serving bad data.
 */
async function readMetadata<K extends 'root' | 'timestamp' | 'snapshot' | 'targets'>(repoDir: string, path: string, type: K, name: string): Promise<Envelope<Extract<Signed, { _type: K }>>> {
  return parseLocalMetadata(path, await readLocalMetadataBytes(repoDir, path), type, name);
}

export class LocalRepository {
  constructor(readonly dir: string) {}

  get metadataDir(): string {
    return join(this.dir, 'metadata');
  }

  /** A metadata file's bytes as the copy holds them (a regular file, never through a symlink; missing is damage). */
  async readMetadataBytes(name: string): Promise<Uint8Array> {
    return readLocalMetadataBytes(this.dir, join(this.metadataDir, name));
  }

  async exists(): Promise<boolean> {
    try {
      await stat(join(this.metadataDir, metadataFileName('root', 1)));
      return true;
    } catch {
      return false;
    }
  }

  async rootVersions(): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.metadataDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw fromSystemError(err, `listing ${this.metadataDir}`);
    }
    return names
      .map((n) => /^([1-9][0-9]*)\.root\.json$/.exec(n)?.[1])
      .filter((v): v is string => v !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  async readRoot(version: number): Promise<Envelope<RootSigned>> {
    const name = metadataFileName('root', version);
    const root = await readMetadata(this.dir, join(this.metadataDir, name), 'root', name);
    if (root.signed.version !== version) throw damaged(join(this.metadataDir, name), `says it is version ${root.signed.version}`);
    return root;
  }

  /** A delegated targets role (a hash bin) at the version the current snapshot lists. */
  async readDelegated(snapshot: SnapshotSigned, role: string): Promise<Envelope<TargetsSigned> | undefined> {
    const meta = snapshot.meta[metadataFileName(role)];
    if (!meta) return undefined;
    const name = metadataFileName(role, meta.version);
    return readMetadata(this.dir, join(this.metadataDir, name), 'targets', name);
  }

  /**
   * A hash bin as the snapshot lists it: its bytes must have the length and SHA-256 the
   * snapshot records (what a client checks, TUF §5.6.2), so what is read from it is what
   * clients see. For readers that keep a summary of the bytes (bin-summary.ts).
   */
  async readListedBin(snapshot: SnapshotSigned, role: string): Promise<{ env: Envelope<TargetsSigned>; length: number; sha256: string }> {
    const snapshotFile = join(this.metadataDir, metadataFileName('snapshot', snapshot.version));
    const meta = snapshot.meta[metadataFileName(role)];
    if (!meta) throw damaged(snapshotFile, `lists no ${role}.json although targets delegates to it`);
    const name = metadataFileName(role, meta.version);
    const path = join(this.metadataDir, name);
    const bytes = await readLocalMetadataBytes(this.dir, path);
    const sha256 = sha256Hex(bytes);
    if ((meta.length !== undefined && meta.length !== bytes.length) || (meta.hashes?.sha256 !== undefined && meta.hashes.sha256 !== sha256)) {
      throw damaged(path, `is not the file ${metadataFileName('snapshot', snapshot.version)} lists (length or SHA-256 differs)`);
    }
    const env = parseLocalMetadata(path, bytes, 'targets', name);
    if (env.signed.version !== meta.version) throw damaged(path, `says it is version ${env.signed.version}`);
    return { env, length: bytes.length, sha256 };
  }

  async current(): Promise<CurrentMetadata> {
    await refuseLinkedDirectories(this.dir);
    const versions = await this.rootVersions();
    const latest = versions.at(-1);
    if (latest === undefined) {
      throw new AirlockError('E_NOT_INITIALISED', `no repository metadata in ${this.dir}; run \`airlock init\` first`);
    }
    const root = await this.readRoot(latest);
    const timestamp = await readMetadata(this.dir, join(this.metadataDir, metadataFileName('timestamp')), 'timestamp', metadataFileName('timestamp'));
    const snapshotMeta = timestamp.signed.meta['snapshot.json'];
    if (!snapshotMeta) throw damaged(join(this.metadataDir, metadataFileName('timestamp')), 'names no snapshot');
    const snapshotName = metadataFileName('snapshot', snapshotMeta.version);
    const snapshot = await readMetadata(this.dir, join(this.metadataDir, snapshotName), 'snapshot', snapshotName);
    const targetsMeta = snapshot.signed.meta[metadataFileName('targets')];
    if (!targetsMeta) throw damaged(join(this.metadataDir, snapshotName), 'lists no targets.json');
    const targetsName = metadataFileName('targets', targetsMeta.version);
    const targets = await readMetadata(this.dir, join(this.metadataDir, targetsName), 'targets', targetsName);
    return { root, timestamp, snapshot, targets };
  }

  /** current() plus every hash bin the snapshot lists (what status and plans walk). */
  async signedState(): Promise<SignedState> {
    const current = await this.current();
    const bins = new Map<string, Envelope<TargetsSigned>>();
    for (const bin of binNamesOf(current.targets.signed)) {
      const env = await this.readDelegated(current.snapshot.signed, bin);
      if (!env) throw damaged(join(this.metadataDir, metadataFileName('snapshot', current.snapshot.signed.version)), `lists no ${bin}.json although targets delegates to it`);
      bins.set(bin, env);
    }
    return { ...current, bins };
  }
}

/** A staged file's length and SHA-256 the caller already knows (a target's signed hashes), so it is not read again. */
export type KnownDigests = ReadonlyMap<string, { length: number; sha256: string }>;

async function sha256Of(root: string, file: string): Promise<{ length: number; sha256: string }> {
  const digest = await digestOfLocalFile(root, file);
  if (digest === undefined) throw damaged(file, 'is missing');
  return digest;
}

async function syncFile(root: string, file: string): Promise<void> {
  const opened = await openLocalFile(root, file);
  if (opened === undefined) throw damaged(file, 'is missing');
  try {
    await opened.fh.sync();
  } finally {
    await opened.fh.close();
  }
}

/**
 * The directory `dir` (relative to the copy's root, '' the root) and every one above it
 * below the root is a real directory, or not there yet (made by the commit): a symlink
 * among them would move the commit's files outside the copy. Each is looked at once per
 * commit (`checked`), so a file costs one lookup: an import batch moves 20,000 files into
 * a few directories.
 */
function assertRealDirectory(repoDir: string, dir: string, checked: Set<string>): void {
  if (dir === '' || checked.has(dir)) return;
  assertRealDirectory(repoDir, dir.slice(0, Math.max(0, dir.lastIndexOf('/'))), checked);
  const abs = join(repoDir, dir);
  const st = lstatSync(abs, { throwIfNoEntry: false });
  if (st !== undefined && !st.isDirectory()) throw damaged(abs, `is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a directory'} where the copy keeps a directory; nothing is moved through it`);
  checked.add(dir);
}

/**
 * Moves every file of `stagingDir` into the repository in publishing order, records
 * them in the copy's manifest (lib/core/copy-manifest.ts) and returns what was staged and
 * what moved. Only the staging directory is
 * read: the cost is the change's, never the copy's. Each move is a rename on one
 * filesystem, so each file appears whole; durability is one batch — the staged files
 * flushed (one syncfs), then the renames, flushed (one more syncfs), then one manifest
 * block appended and flushed. A staged file the copy already holds with the same
 * bytes is left out (a key list rewritten unchanged is no change); an immutable path
 * that holds other bytes stops the commit before anything moves.
 */
export async function commitStaged(stagingDir: string, repoDir: string, options: { known?: KnownDigests } = {}): Promise<{ staged: string[]; moved: string[] }> {
  let moved: (PathClass & ManifestEntry)[];
  let staged: (PathClass & { path: string })[];
  try {
    await mkdir(repoDir, { recursive: true });
    const manifest = await trustedManifest(repoDir);
    staged = (await listRegularFiles(stagingDir)).map((path) => ({ path, ...classifyPath(path) })).sort(comparePublishOrder);
    const byInode = new Map<string, { length: number; sha256: string }>();
    const realDirs = new Set<string>();
    moved = [];
    // Per-file calls are synchronous: a commit does nothing else meanwhile, and an import
    // batch moves 20,000 files — a trip through the thread pool per call cost more than the call.
    for (const f of staged) {
      const abs = join(stagingDir, f.path);
      const st = lstatSync(abs);
      const inode = `${st.dev}:${st.ino}`;
      const hint = options.known?.get(f.path);
      let digest = byInode.get(inode) ?? (hint && hint.length === st.size ? hint : undefined);
      if (!digest) digest = await sha256Of(stagingDir, abs);
      byInode.set(inode, digest);
      const entry = { ...f, ...digest };
      assertRealDirectory(repoDir, f.path.slice(0, Math.max(0, f.path.lastIndexOf('/'))), realDirs);
      if (f.immutable) {
        const target = join(repoDir, f.path);
        // lstat, not exists: a dangling symlink is no absent file to rename over, and no
        // symlink is followed to judge what is published (/dev/zero would never end).
        const st = lstatSync(target, { throwIfNoEntry: false });
        if (st !== undefined && !st.isFile()) {
          throw damaged(target, `is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'} where the copy keeps a published file, which is never followed nor replaced`);
        }
        const there = st === undefined ? undefined : await digestOfLocalFile(repoDir, target);
        if (there !== undefined) {
          if (there.length !== digest.length || there.sha256 !== digest.sha256) {
            throw new AirlockError('E_PUBLISH_IMMUTABLE', `${f.path} already exists in the repository with other bytes; a published file is never overwritten — release under a new version`);
          }
          continue;
        }
      } else {
        const listed = manifest.mutable.get(f.path);
        if (listed && listed.length === digest.length && listed.sha256 === digest.sha256) continue;
      }
      moved.push(entry);
    }
    // The staged bytes are durable before any rename is: one syncfs(2) for a large batch (an
    // import), else — and where syncfs is not at hand — each file once (a hard-linked pair
    // is one file): syncfs writes back every dirty page of the file system, which on a busy
    // machine costs more than the few fsyncs of a release.
    const batch = moved.length > SYNCFS_AFTER_FILES && (await syncFileSystem(stagingDir));
    if (!batch) {
      const flushed = new Set<string>();
      for (const f of moved) {
        const abs = join(stagingDir, f.path);
        const st = await lstat(abs);
        if (flushed.has(`${st.dev}:${st.ino}`)) continue;
        flushed.add(`${st.dev}:${st.ino}`);
        await syncFile(stagingDir, abs);
      }
    }
    const dirs = new Set<string>();
    for (const { path } of moved) {
      const target = join(repoDir, path);
      if (!dirs.has(dirname(target))) {
        const created = mkdirSync(dirname(target), { recursive: true });
        // A new directory is durable once the one holding it is flushed too.
        if (created !== undefined) for (let d = dirname(target); d.length >= created.length; d = dirname(d)) dirs.add(dirname(d));
      }
      renameSync(join(stagingDir, path), target);
      dirs.add(dirname(target));
    }
    // Then the renames: one more syncfs(2), or each directory they went into, once.
    if (!batch || !(await syncFileSystem(repoDir))) for (const dir of dirs) await syncDirectory(dir);
    const mutable = new Map(manifest.mutable);
    for (const e of moved) if (!e.immutable) mutable.set(e.path, { path: e.path, length: e.length, sha256: e.sha256, immutable: false });
    if (moved.length > 0) await appendManifest(repoDir, manifest, moved.filter((e) => e.immutable).map(({ path, length, sha256 }) => ({ path, length, sha256, immutable: true })), mutable);
  } catch (err) {
    if (isAirlockError(err)) throw err;
    throw fromSystemError(err, `moving the staged release into ${repoDir}`);
  }
  await rm(stagingDir, { recursive: true, force: true });
  return { staged: staged.map((f) => f.path), moved: moved.map((f) => f.path) };
}
