// A repository for trust-lifecycle tests: made by airlock's own initRepository and
// releaseToRepository with in-memory keys, served over HTTP as a static host. Also the
// hostile side: a copy of the host tree where a test plants metadata by hand.
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Envelope, Signed } from '../../lib/core/tuf-metadata.js';
import { DEFAULT_EXPIRY_DAYS, type ExpiryDays } from '../../lib/repo/expiry.js';
import { initRepository } from '../../lib/repo/init-repository.js';
import { releaseToRepository } from '../../lib/repo/release.js';
import { envelopeBytes } from '../../lib/repo/sign-metadata.js';
import { memorySigner, type MemorySigner } from './memory-signer.js';
import { serveDirectory, type StaticServer } from './static-http.js';

export interface OnlineKeys {
  targets: MemorySigner;
  snapshot: MemorySigner;
  timestamp: MemorySigner;
}

export interface LifecycleRepo {
  work: string;
  repoDir: string;
  staging: string;
  rootKeys: MemorySigner[];
  /** The online keys the current root trusts; tests replace them as they rotate. */
  online: OnlineKeys;
  expiryDays: ExpiryDays;
  /** Releases `project/version/file` with the current online keys; returns the target path. */
  release(version: string, text?: string): Promise<string>;
  /** Serves a directory (the terminal's copy, or a planted host copy) over HTTP; closed by cleanup(). */
  serve(dir: string): Promise<StaticServer>;
  /** A copy of the repository as a host tree the test may tamper with. */
  hostCopy(): Promise<string>;
  cleanup(): Promise<void>;
}

export async function lifecycleRepo(opts: { rootKeys: number; threshold: number }): Promise<LifecycleRepo> {
  const work = await mkdtemp(join(tmpdir(), 'airlock-lifecycle-'));
  const repoDir = join(work, 'repository');
  const staging = join(work, 'staging');
  await mkdir(join(work, 'build'), { recursive: true });
  const rootKeys = Array.from({ length: opts.rootKeys }, () => memorySigner('root'));
  const online: OnlineKeys = { targets: memorySigner('targets'), snapshot: memorySigner('snapshot'), timestamp: memorySigner('timestamp') };
  const expiryDays = { ...DEFAULT_EXPIRY_DAYS };
  await initRepository(repoDir, staging, { root: rootKeys, rootThreshold: opts.threshold, ...online }, { now: new Date(), expiryDays, name: 'Lifecycle Tests' });
  const servers: StaticServer[] = [];
  let copies = 0;
  const repo: LifecycleRepo = {
    work,
    repoDir,
    staging,
    rootKeys,
    online,
    expiryDays,
    async release(version, text = `hello ${version}`) {
      const path = join(work, 'build', `hello-${version}.txt`);
      await writeFile(path, text);
      await releaseToRepository(
        repoDir,
        staging,
        {
          project: 'hello',
          version,
          commit: 'c'.repeat(40),
          branch: `release/${version}`,
          sourceDateEpoch: 1768478400,
          artifacts: [{ name: `hello-${version}.txt`, path }],
          provenance: new TextEncoder().encode('{"payloadType":"application/vnd.in-toto+json"}'),
        },
        repo.online,
        { now: new Date(), expiryDays, name: 'Lifecycle Tests' },
      );
      return `hello/${version}/hello-${version}.txt`;
    },
    async serve(dir) {
      const s = await serveDirectory(dir);
      servers.push(s);
      return s;
    },
    async hostCopy() {
      const dir = join(work, `host-${++copies}`);
      await cp(repoDir, dir, { recursive: true });
      return dir;
    },
    async cleanup() {
      for (const s of servers) await s.close();
      await rm(work, { recursive: true, force: true });
    },
  };
  return repo;
}

/** Writes metadata into a host tree by hand, as an attacker (or a careless admin) would. */
export async function plant(hostDir: string, path: string, envelope: Envelope<Signed>): Promise<void> {
  const file = join(hostDir, ...path.split('/'));
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, envelopeBytes(envelope));
}
