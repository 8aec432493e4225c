// Issue 19: a release costs what it changes. On a repository with hash bins at 2,000
// targets, one release stages, moves into the copy and publishes exactly its own files,
// the bins its paths fall in, snapshot and timestamp — nothing of the history — and the
// copy's manifest stays what a full walk of the copy finds.
import { cp, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANIFEST_FILE, readManifest, walkCopy, type ManifestEntry } from '../../lib/core/copy-manifest.js';
import { sha256Hex } from '../../lib/core/digest.js';
import { metadataFileName } from '../../lib/core/tuf-metadata.js';
import { publish, type PublishEvent } from '../../lib/publish/index.js';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { binFor, layoutOf } from '../../lib/repo/hash-bins.js';
import { initRepository } from '../../lib/repo/init-repository.js';
import { LocalRepository } from '../../lib/repo/local-repository.js';
import { releaseToRepository, type ReleaseInput } from '../../lib/repo/release.js';
import { RepositoryTransaction } from '../../lib/repo/transaction.js';
import { memorySigner } from '../support/memory-signer.js';

const TARGETS = 2000;
const options = { now: new Date(), expiryDays: DEFAULT_EXPIRY_DAYS, name: 'Cost' };
const signers = { targets: memorySigner('targets'), snapshot: memorySigner('snapshot'), timestamp: memorySigner('timestamp'), pgp: memorySigner('pgp'), minisign: memorySigner('minisign') };
let work: string;
let repoDir: string;
let hostDir: string;

async function release(version: string, names: string[]): Promise<Awaited<ReturnType<typeof releaseToRepository>>> {
  const artifacts = [];
  for (const name of names) {
    const path = join(work, `${version}-${name}`);
    await writeFile(path, `${name} ${version}\n`);
    artifacts.push({ name, path });
  }
  const input: ReleaseInput = { project: 'app', version, commit: 'c'.repeat(40), branch: `release/${version}`, sourceDateEpoch: 1, artifacts, provenance: new TextEncoder().encode('{}') };
  return releaseToRepository(repoDir, join(work, 'staging'), input, signers, options);
}

/** Publishes to the directory host; the files uploaded and how many the plan looked at. */
async function publishToHost(opts: { fullCheck?: boolean } = {}): Promise<{ uploaded: string[]; considered: number }> {
  const uploaded: string[] = [];
  let considered = 0;
  const onEvent = (e: PublishEvent): void => {
    if (e.type === 'file-done') uploaded.push(e.path);
    if (e.type === 'plan') considered = e.upload + e.skip;
  };
  const reports = await publish(repoDir, [{ name: 'host', url: hostDir }], { digestCacheDir: join(work, 'publish-cache'), onEvent, ...opts });
  expect(reports[0]?.ok, JSON.stringify(reports[0]?.error)).toBe(true);
  return { uploaded, considered };
}

async function manifestEntries(): Promise<ManifestEntry[]> {
  const out: ManifestEntry[] = [];
  await readManifest(repoDir, (e) => void out.push(e));
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'airlock-cost-'));
  repoDir = join(work, 'repository');
  hostDir = join(work, 'host');
  await mkdir(join(work, 'staging'));
  await mkdir(hostDir);
  await initRepository(repoDir, join(work, 'staging'), { ...signers, root: [memorySigner('root')], rootThreshold: 1 }, options);
  // 2,000 targets in one transaction: the repository crosses into hash bins.
  const tx = await RepositoryTransaction.open(repoDir, join(work, 'staging'), { now: options.now, expiryDays: options.expiryDays });
  const additions: Parameters<typeof tx.addTargets>[0] = {};
  await mkdir(join(tx.stagingDir, 'targets', 'history', '1'), { recursive: true });
  for (let i = 0; i < TARGETS; i++) {
    const bytes = `artifact ${i}\n`;
    const sha256 = sha256Hex(bytes);
    await writeFile(join(tx.stagingDir, 'targets', 'history', '1', `${sha256}.f${i}`), bytes);
    additions[`history/1/f${i}`] = { length: bytes.length, hashes: { sha256 } };
  }
  tx.addTargets(additions);
  await tx.commit({ targets: [signers.targets], snapshot: [signers.snapshot], timestamp: [signers.timestamp] });
  // The first signed release publishes the public keys; the one measured below changes none.
  await release('1.0.0', ['app.tar.gz']);
  // The host already holds the history (a copy of the copy, without its manifest): the
  // publish below plans against it, its digest cache learns every file once.
  await cp(repoDir, hostDir, { recursive: true, filter: (src) => !src.endsWith(MANIFEST_FILE) });
  const seeded = await publishToHost();
  expect(seeded.uploaded).toEqual([]);
  expect(seeded.considered).toBeGreaterThan(TARGETS);
}, 300_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('a release on a repository with bins at 2,000 targets', () => {
  it('stages, moves and publishes only its files, the bins it touches, snapshot and timestamp', async () => {
    const repo = new LocalRepository(repoDir);
    const before = await repo.current();
    const layout = layoutOf(before.targets.signed.delegations)!;
    expect(layout).toBeDefined();
    const mtimes = new Map<string, number>();
    for await (const e of walkCopy(repoDir)) mtimes.set(e.path, (await stat(join(repoDir, e.path))).mtimeMs);

    const r = await release('2.0.0', ['app.tar.gz']);

    const after = await repo.current();
    const targetPaths = ['app/2.0.0/app.tar.gz', 'app/2.0.0/app-2.0.0.intoto.jsonl'];
    const bins = [...new Set(targetPaths.map((p) => binFor(layout, p)))].sort();
    const releaseFiles = (await readdir(join(repoDir, 'releases', 'app', '2.0.0'))).sort();
    expect(releaseFiles).toEqual(
      ['app-2.0.0.intoto.jsonl', 'app-2.0.0.intoto.jsonl.asc', 'app-2.0.0.intoto.jsonl.minisig', 'app-2.0.0.intoto.jsonl.sha512', 'app.tar.gz', 'app.tar.gz.asc', 'app.tar.gz.minisig', 'app.tar.gz.sha512', 'SHA256SUMS', 'SHA256SUMS.asc', 'SHA256SUMS.minisig'].sort(),
    );
    const expected = [
      ...releaseFiles.map((f) => `releases/app/2.0.0/${f}`),
      ...r.targets.map((t) => `targets/app/2.0.0/${t.sha256}.${t.target.split('/').at(-1)}`),
      ...bins.map((b) => `metadata/${metadataFileName(b, after.snapshot.signed.meta[`${b}.json`]!.version)}`),
      `metadata/${metadataFileName('snapshot', after.snapshot.signed.version)}`,
      'metadata/timestamp.json',
    ].sort();
    expect(expected).toHaveLength(11 + 2 + bins.length + 2);
    // Staged and moved = exactly this; top-level targets.json and keys/ are untouched: the
    // public keys the release signs with are the ones keys/ already publishes, so none is
    // staged (a key file is written only when its bytes change).
    expect([...r.staged].sort()).toEqual(expected);
    expect([...r.files].sort()).toEqual(expected);
    expect(after.targets.signed.version).toBe(before.targets.signed.version);

    // Nothing else in the copy was rewritten.
    for await (const e of walkCopy(repoDir)) {
      if (expected.includes(e.path)) continue;
      expect([e.path, (await stat(join(repoDir, e.path))).mtimeMs]).toEqual([e.path, mtimes.get(e.path)]);
    }
    // The manifest lists what a full walk of the copy finds, byte for byte.
    const walked: ManifestEntry[] = [];
    for await (const e of walkCopy(repoDir)) walked.push(e);
    expect(await manifestEntries()).toEqual(walked.sort((a, b) => (a.path < b.path ? -1 : 1)));
    expect(walked.length).toBeGreaterThan(TARGETS);

    // Publishing uploads exactly the same files, and looks at nothing older: the host still
    // serves what the last publish left, so only what the copy added since then (and the
    // few mutable files) is looked up there — the host is not listed.
    const published = await publishToHost();
    expect(published.uploaded.sort()).toEqual(expected);
    const mutable = (await manifestEntries()).filter((e) => !e.immutable).length;
    expect(published.considered).toBe(expected.length - 1 + mutable);
    expect(await publishToHost()).toEqual({ uploaded: [], considered: mutable });
    // --full-check lists the host and reads the whole copy: the same answer.
    const full = await publishToHost({ fullCheck: true });
    expect(full.uploaded).toEqual([]);
    expect(full.considered).toBe(walked.length);
  }, 120_000);
});
