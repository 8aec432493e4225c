// The terminal's local copy of the host tree (docs/host-layout.md): reading the
// current metadata of each role, and moving a staged change into it in the publishing
// order, so that even the local copy is never seen half-updated.
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { hashStream } from '../core/digest.js';
import { syncDirectory } from '../core/atomic-file.js';
import { AirlockError, fromSystemError } from '../core/errors.js';
import { listRegularFiles } from '../core/file-tree.js';
import { classifyPath, comparePublishOrder } from '../core/host-layout.js';
import type { Envelope, RootSigned, SnapshotSigned, TargetsSigned, TimestampSigned } from '../core/tuf-metadata.js';

export interface CurrentMetadata {
  root: Envelope<RootSigned>;
  timestamp: Envelope<TimestampSigned>;
  snapshot: Envelope<SnapshotSigned>;
  targets: Envelope<TargetsSigned>;
}

async function readJson<T>(path: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw fromSystemError(err, `reading ${path}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new AirlockError('E_JSON', `${path} is not valid JSON; the terminal's repository copy is damaged — restore it from a host or backup`, { cause: err });
  }
}

export class LocalRepository {
  constructor(readonly dir: string) {}

  get metadataDir(): string {
    return join(this.dir, 'metadata');
  }

  async exists(): Promise<boolean> {
    try {
      await stat(join(this.metadataDir, '1.root.json'));
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
    return readJson(join(this.metadataDir, `${version}.root.json`));
  }

  /** A delegated targets role (a hash bin) at the version the current snapshot lists. */
  async readDelegated(snapshot: SnapshotSigned, role: string): Promise<Envelope<TargetsSigned> | undefined> {
    const meta = snapshot.meta[`${role}.json`];
    return meta ? readJson(join(this.metadataDir, `${meta.version}.${role}.json`)) : undefined;
  }

  async current(): Promise<CurrentMetadata> {
    const versions = await this.rootVersions();
    const latest = versions.at(-1);
    if (latest === undefined) {
      throw new AirlockError('E_NOT_INITIALISED', `no repository metadata in ${this.dir}; run \`airlock init\` first`);
    }
    const root = await this.readRoot(latest);
    const timestamp = await readJson<Envelope<TimestampSigned>>(join(this.metadataDir, 'timestamp.json'));
    const snapshotVersion = timestamp.signed.meta['snapshot.json'].version;
    const snapshot = await readJson<Envelope<SnapshotSigned>>(join(this.metadataDir, `${snapshotVersion}.snapshot.json`));
    const targetsMeta = snapshot.signed.meta['targets.json'];
    if (!targetsMeta) throw new AirlockError('E_METADATA_INVALID', `snapshot ${snapshotVersion} lists no targets.json; the repository copy is damaged`);
    const targets = await readJson<Envelope<TargetsSigned>>(join(this.metadataDir, `${targetsMeta.version}.targets.json`));
    return { root, timestamp, snapshot, targets };
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
