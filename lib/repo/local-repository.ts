// The terminal's local copy of the host tree (docs/host-layout.md): reading the
// current metadata of each role, and moving a staged change into it in the publishing
// order, so that even the local copy is never seen half-updated.
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { syncDirectory } from '../core/atomic-file.js';
import { listRegularFiles } from '../core/file-tree.js';
import { hashStream } from '../core/digest.js';
import { AirlockError, fromSystemError, isAirlockError } from '../core/errors.js';
import { classifyPath, comparePublishOrder } from '../core/host-layout.js';
import { metadataFileName, parseMetadata, type Envelope, type RootSigned, type Signed, type SnapshotSigned, type TargetsSigned, type TimestampSigned } from '../core/tuf-metadata.js';
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

/** A local metadata file is at most this big (a bin of a few thousand targets is well under). */
const MAX_LOCAL_METADATA_BYTES = 64 * 1024 * 1024;

function damaged(path: string, why: string, cause?: unknown): AirlockError {
  return new AirlockError(
    'E_REPOSITORY_DAMAGED',
    `${path} ${why}; the terminal's repository copy is damaged — nothing was signed. Restore it from a backup, or from a host that holds the same repository`,
    { cause, details: { path } },
  );
}

/**
 * The terminal's own copy is read through the same parser as a host's metadata: a damaged
 * file is E_REPOSITORY_DAMAGED here (exit 3: restore the copy), never a TypeError far away
 * and never E_METADATA_INVALID, which says a host is serving bad data.
 */
async function readMetadata<K extends 'root' | 'timestamp' | 'snapshot' | 'targets'>(path: string, type: K, name: string): Promise<Envelope<Extract<Signed, { _type: K }>>> {
  let bytes: Uint8Array;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw damaged(path, 'is not a regular file');
    if (s.size > MAX_LOCAL_METADATA_BYTES) throw damaged(path, `is larger than ${MAX_LOCAL_METADATA_BYTES} bytes`);
    bytes = await readFile(path);
  } catch (err) {
    if (isAirlockError(err)) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw damaged(path, 'is missing', err);
    throw fromSystemError(err, `reading ${path}`);
  }
  try {
    const parsed = parseMetadata(bytes, type, name);
    return { signatures: parsed.signatures, signed: parsed.signed };
  } catch (err) {
    if (isAirlockError(err)) throw damaged(path, `is not valid ${type} metadata (${err.code})`, err);
    throw err;
  }
}

export class LocalRepository {
  constructor(readonly dir: string) {}

  get metadataDir(): string {
    return join(this.dir, 'metadata');
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
    const root = await readMetadata(join(this.metadataDir, name), 'root', name);
    if (root.signed.version !== version) throw damaged(join(this.metadataDir, name), `says it is version ${root.signed.version}`);
    return root;
  }

  /** A delegated targets role (a hash bin) at the version the current snapshot lists. */
  async readDelegated(snapshot: SnapshotSigned, role: string): Promise<Envelope<TargetsSigned> | undefined> {
    const meta = snapshot.meta[metadataFileName(role)];
    if (!meta) return undefined;
    const name = metadataFileName(role, meta.version);
    return readMetadata(join(this.metadataDir, name), 'targets', name);
  }

  async current(): Promise<CurrentMetadata> {
    const versions = await this.rootVersions();
    const latest = versions.at(-1);
    if (latest === undefined) {
      throw new AirlockError('E_NOT_INITIALISED', `no repository metadata in ${this.dir}; run \`airlock init\` first`);
    }
    const root = await this.readRoot(latest);
    const timestamp = await readMetadata(join(this.metadataDir, metadataFileName('timestamp')), 'timestamp', metadataFileName('timestamp'));
    const snapshotMeta = timestamp.signed.meta['snapshot.json'];
    if (!snapshotMeta) throw damaged(join(this.metadataDir, 'timestamp.json'), 'names no snapshot');
    const snapshotName = metadataFileName('snapshot', snapshotMeta.version);
    const snapshot = await readMetadata(join(this.metadataDir, snapshotName), 'snapshot', snapshotName);
    const targetsMeta = snapshot.signed.meta[metadataFileName('targets')];
    if (!targetsMeta) throw damaged(join(this.metadataDir, snapshotName), 'lists no targets.json');
    const targetsName = metadataFileName('targets', targetsMeta.version);
    const targets = await readMetadata(join(this.metadataDir, targetsName), 'targets', targetsName);
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

async function sameContent(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([stat(a), stat(b)]);
  if (sa.size !== sb.size) return false;
  const [ha, hb] = await Promise.all([hashStream(createReadStream(a), ['sha256']), hashStream(createReadStream(b), ['sha256'])]);
  return ha.digests.sha256 === hb.digests.sha256;
}

/**
 * Moves every file of `stagingDir` into the repository in publishing order. Each move
 * is a rename on one filesystem, so each file appears whole. An immutable path that
 * already holds other bytes stops the commit before any metadata moves.
 */
export async function commitStaged(stagingDir: string, repoDir: string): Promise<string[]> {
  const files = (await listRegularFiles(stagingDir))
    .map((path) => ({ path, ...classifyPath(path) }))
    .sort(comparePublishOrder);
  for (const { path, immutable } of files) {
    if (!immutable) continue;
    const target = join(repoDir, path);
    const exists = await stat(target).then(
      () => true,
      () => false,
    );
    if (exists && !(await sameContent(join(stagingDir, path), target))) {
      throw new AirlockError('E_PUBLISH_IMMUTABLE', `${path} already exists in the repository with other bytes; a published file is never overwritten — release under a new version`);
    }
  }
  try {
    for (const { path } of files) {
      const target = join(repoDir, path);
      await mkdir(dirname(target), { recursive: true });
      await rename(join(stagingDir, path), target);
    }
    // The renames are durable once each directory they went into is flushed.
    for (const dir of new Set(files.map(({ path }) => dirname(join(repoDir, path))))) await syncDirectory(dir);
  } catch (err) {
    throw fromSystemError(err, `moving the staged release into ${repoDir}`);
  }
  await rm(stagingDir, { recursive: true, force: true });
  return files.map((f) => f.path);
}
