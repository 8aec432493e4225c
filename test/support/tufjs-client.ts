// tuf-js, the independent TUF client, reading a host over HTTP: it shows that what
// airlock publishes is a standard TUF repository, and it is the second client every
// attack must be refused by. A client keeps its trusted metadata in its own directory
// between calls, started from one pinned root, as a user's machine does; each call
// opens a fresh Updater that reads that state back from disk, as a new process would.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Updater, type Config } from 'tuf-js';

export interface TufJsView {
  /** Target paths (of those asked about) the client found, sorted. */
  found: string[];
  /** Bytes of each found target, downloaded and verified by tuf-js. */
  bytes: Map<string, Buffer>;
}

export interface TufJsClient {
  /** The client's directory: metadata/ (its trusted metadata) and targets/ (downloads). */
  dir: string;
  metadataDir: string;
  targetDir: string;
  /** A fresh Updater over the trusted state on disk. */
  updater(): Updater;
  refresh(): Promise<void>;
  /** refresh, then whether trusted metadata lists `target`. */
  lists(target: string): Promise<boolean>;
  /** refresh (once), then downloads every asked target that trusted metadata lists. */
  view(targets: string[]): Promise<TufJsView>;
  /** refresh, then the verified bytes of `target`; throws when no trusted metadata lists it. */
  download(target: string): Promise<Buffer>;
  /** refresh, then download `target` when one is given. */
  fetch(target?: string): Promise<Buffer | undefined>;
  /** Another client starting from a copy of this one's trusted state (with other tuf-js config, if given). */
  copy(config?: Partial<Config>): Promise<TufJsClient>;
  /** Removes the client's directory. */
  remove(): Promise<void>;
}

export interface TufJsOptions {
  /** Reuse this client directory: a root.json it already trusts is kept (that is how rollback is caught across runs). */
  dir?: string;
  /** tuf-js config over the tests' defaults (no retries, 5 s timeout). */
  config?: Partial<Config>;
}

/** A tuf-js client of the host at `baseUrl` (metadata/ and targets/ under it), pinned to `root` (root.json bytes). */
export function tufJsClient(root: Uint8Array, baseUrl: string, options: TufJsOptions = {}): TufJsClient {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'airlock-tufjs-'));
  const metadataDir = join(dir, 'metadata');
  const targetDir = join(dir, 'targets');
  mkdirSync(metadataDir, { recursive: true });
  mkdirSync(targetDir, { recursive: true });
  try {
    writeFileSync(join(metadataDir, 'root.json'), root, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const config = { fetchRetry: 0, fetchTimeout: 5000, ...options.config };
  const updater = () => new Updater({ metadataDir, metadataBaseUrl: `${baseUrl}/metadata`, targetDir, targetBaseUrl: `${baseUrl}/targets`, config });
  const client: TufJsClient = {
    dir,
    metadataDir,
    targetDir,
    updater,
    async refresh() {
      await updater().refresh();
    },
    async lists(target) {
      const u = updater();
      await u.refresh();
      return (await u.getTargetInfo(target)) !== undefined;
    },
    async view(targets) {
      const u = updater();
      await u.refresh();
      const found: string[] = [];
      const bytes = new Map<string, Buffer>();
      for (const t of targets) {
        const info = await u.getTargetInfo(t);
        if (!info) continue;
        found.push(t);
        bytes.set(t, await readFile(await u.downloadTarget(info, join(targetDir, encodeURIComponent(t)))));
      }
      return { found: found.sort(), bytes };
    },
    async download(target) {
      const got = (await client.view([target])).bytes.get(target);
      if (!got) throw new Error(`tuf-js: no target ${target}`);
      return got;
    },
    async fetch(target) {
      if (target === undefined) await client.refresh();
      else return client.download(target);
      return undefined;
    },
    async copy(other) {
      const copy = await mkdtemp(join(tmpdir(), 'airlock-tufjs-'));
      await cp(dir, copy, { recursive: true });
      return tufJsClient(root, baseUrl, { dir: copy, config: { ...options.config, ...other } });
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
  return client;
}

/** A fresh tuf-js Updater pinned to the root.json in `rootFile` (or reusing the client directory `dir`). */
export async function tufJsUpdater(baseUrl: string, rootFile: string, dir?: string): Promise<{ updater: Updater; dir: string }> {
  const client = tufJsClient(await readFile(rootFile), baseUrl, dir === undefined ? {} : { dir });
  return { updater: client.updater(), dir: client.dir };
}
