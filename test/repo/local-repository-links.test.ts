// The terminal's copy is read as it is, never through a link (security review): a
// metadata file or hash bin that is a symlink — even to the very bytes it should hold —
// or a FIFO is a damaged copy (E_REPOSITORY_DAMAGED), for signedState, for status with
// the bins' summary and for status without it (every bin read).
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metadataFileName, type TargetFileInfo } from '../../lib/core/tuf-metadata.js';
import { BIN_SUMMARY_FILE } from '../../lib/repo/bin-summary.js';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { initRepository } from '../../lib/repo/init-repository.js';
import { LocalRepository } from '../../lib/repo/local-repository.js';
import { repositoryStatus } from '../../lib/repo/status.js';
import { RepositoryTransaction } from '../../lib/repo/transaction.js';
import { memorySigner } from '../support/memory-signer.js';

const keys = { root: [memorySigner('root')], rootThreshold: 1, targets: memorySigner('targets'), snapshot: memorySigner('snapshot'), timestamp: memorySigner('timestamp') };
const now = new Date();
let work: string;
let repoDir: string;
let metadata: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'airlock-local-links-'));
  repoDir = join(work, 'repository');
  metadata = join(repoDir, 'metadata');
  await initRepository(repoDir, join(work, 'staging'), keys, { now, expiryDays: DEFAULT_EXPIRY_DAYS, name: 'Links' });
  const tx = await RepositoryTransaction.open(repoDir, join(work, 'staging'), { now, expiryDays: DEFAULT_EXPIRY_DAYS, hashBins: { afterTargets: 4, layout: { bitLength: 2, namePrefix: 'bins' } } });
  const adds: Record<string, TargetFileInfo> = {};
  for (let i = 0; i < 12; i++) adds[`p/${i}/f.txt`] = { length: i, hashes: { sha256: i.toString(16).padStart(64, '0') } };
  tx.addTargets(adds);
  await tx.commit({ targets: [keys.targets], snapshot: [keys.snapshot], timestamp: [keys.timestamp] });
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** The current file of each kind, by what the copy holds. */
async function currentFiles(): Promise<Record<string, string>> {
  const cur = await new LocalRepository(repoDir).current();
  const names = await readdir(metadata);
  const bin = names.find((n) => n === metadataFileName('bins-0', cur.snapshot.signed.meta['bins-0.json']!.version))!;
  expect(bin).toBeDefined();
  return {
    root: metadataFileName('root', cur.root.signed.version),
    timestamp: metadataFileName('timestamp'),
    snapshot: metadataFileName('snapshot', cur.snapshot.signed.version),
    targets: metadataFileName('targets', cur.targets.signed.version),
    bin,
  };
}

const refusedAsDamage = async (): Promise<void> => {
  await expect(new LocalRepository(repoDir).signedState()).rejects.toMatchObject({ code: 'E_REPOSITORY_DAMAGED' });
  await expect(repositoryStatus(repoDir, now, 30)).rejects.toMatchObject({ code: 'E_REPOSITORY_DAMAGED' });
  await rm(join(repoDir, BIN_SUMMARY_FILE), { force: true });
  await expect(repositoryStatus(repoDir, now, 30)).rejects.toMatchObject({ code: 'E_REPOSITORY_DAMAGED' });
};

describe('a metadata file of the copy', () => {
  it('reads as it is while every file is regular', async () => {
    await rm(join(repoDir, BIN_SUMMARY_FILE), { force: true });
    const state = await new LocalRepository(repoDir).signedState();
    expect(state.bins.size).toBe(4);
    expect((await repositoryStatus(repoDir, now, 30)).targets).toBe(12);
  });

  for (const kind of ['root', 'timestamp', 'snapshot', 'targets', 'bin']) {
    it(`that is a symlink to its own bytes is damage, not followed: ${kind}`, async () => {
      const name = (await currentFiles())[kind]!;
      const path = join(metadata, name);
      const elsewhere = join(work, `elsewhere-${name}`);
      await rename(path, elsewhere);
      try {
        await symlink(elsewhere, path);
        await refusedAsDamage();
      } finally {
        await rm(path, { force: true });
        await rename(elsewhere, path);
      }
      expect((await repositoryStatus(repoDir, now, 30)).targets).toBe(12);
    });
  }

  it('that is a FIFO is damage, refused without blocking', async () => {
    const name = (await currentFiles()).targets!;
    const path = join(metadata, name);
    const saved = await readFile(path);
    await rm(path);
    try {
      execFileSync('mkfifo', [path]);
      await refusedAsDamage();
    } finally {
      await rm(path, { force: true });
      await writeFile(path, saved);
    }
  });
});
