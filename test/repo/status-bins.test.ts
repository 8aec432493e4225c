// `airlock status` past hashBins.afterTargets: the targets live in the bins, so status
// walks them — the target count over every bin, and each bin's version and expiry (it
// used to report 0 targets and never showed a bin). Also: a release into bins re-signs
// only the bins its targets fall in, so an untouched bin can near its expiry while
// targets.json is fresh; refresh plans targets (and so every bin) as due.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metadataFileName, type TargetFileInfo } from '../../lib/core/tuf-metadata.js';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { initRepository } from '../../lib/repo/init-repository.js';
import { LocalRepository } from '../../lib/repo/local-repository.js';
import { planRefresh, refreshRepository } from '../../lib/repo/refresh.js';
import { BIN_SUMMARY_FILE, binExpiries } from '../../lib/repo/bin-summary.js';
import { repositoryStatus } from '../../lib/repo/status.js';
import { RepositoryTransaction } from '../../lib/repo/transaction.js';
import { memorySigner } from '../support/memory-signer.js';

const keys = { root: [memorySigner('root')], rootThreshold: 1, targets: memorySigner('targets'), snapshot: memorySigner('snapshot'), timestamp: memorySigner('timestamp') };
const online = { targets: [keys.targets], snapshot: [keys.snapshot], timestamp: [keys.timestamp] };
const hashBins = { afterTargets: 1024, layout: { bitLength: 4, namePrefix: 'bins' } };
let work: string;
let repoDir: string;
const now = new Date();

function synthetic(from: number, count: number): Record<string, TargetFileInfo> {
  const out: Record<string, TargetFileInfo> = {};
  for (let i = from; i < from + count; i++) out[`many/${i}/file-${i}.txt`] = { length: i, hashes: { sha256: i.toString(16).padStart(64, '0') } };
  return out;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'airlock-status-bins-'));
  repoDir = join(work, 'repository');
  await initRepository(repoDir, join(work, 'staging'), keys, { now, expiryDays: DEFAULT_EXPIRY_DAYS, name: 'Bins' });
  // 2,000 targets in two edits: the first crosses afterTargets and moves everything into bins.
  for (const [from, count] of [[0, 1500], [1500, 500]] as const) {
    const tx = await RepositoryTransaction.open(repoDir, join(work, 'staging'), { now, expiryDays: DEFAULT_EXPIRY_DAYS, hashBins });
    tx.addTargets(synthetic(from, count));
    await tx.commit(online);
  }
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('status over hash bins', () => {
  it('reports 2,000 targets and every bin with its version and expiry', async () => {
    const status = await repositoryStatus(repoDir, now, 3);
    expect(status.targets).toBe(2000);
    expect(status.bins.map((b) => b.role)).toEqual(Array.from({ length: 16 }, (_, i) => `bins-${i.toString(16)}`));
    expect(status.bins.reduce((n, b) => n + b.targets, 0)).toBe(2000);
    const state = await new LocalRepository(repoDir).signedState();
    for (const b of status.bins) {
      expect(b.version).toBe(state.bins.get(b.role)!.signed.version);
      expect(b.expires).toBe(state.bins.get(b.role)!.signed.expires);
      expect(b.daysLeft).toBeGreaterThanOrEqual(DEFAULT_EXPIRY_DAYS.targets - 1);
      expect(b.warning).toBeUndefined();
    }
    expect(Object.keys(state.targets.signed.targets)).toEqual([]);
  });

  it('reads the bins once: later runs take their summary, and say the same', async () => {
    await rm(join(repoDir, BIN_SUMMARY_FILE), { force: true });
    const first = await repositoryStatus(repoDir, now, 3);
    const again = await repositoryStatus(repoDir, now, 3);
    expect(again).toEqual(first);
    expect(again.targets).toBe(2000);
  });

  it('names releases by the release directories the copy holds that a signed target is under', async () => {
    expect((await repositoryStatus(repoDir, now, 3)).releases).toEqual([]);
    for (const r of ['many/7', 'b/2.0.0', 'many/12', 'a/1.0.0']) {
      await mkdir(join(repoDir, 'releases', r), { recursive: true });
      await writeFile(join(repoDir, 'releases', r, 'file.txt'), r);
    }
    await writeFile(join(repoDir, 'releases', 'not-a-project'), '');
    try {
      expect(await repositoryStatus(repoDir, now, 3)).toMatchObject({ releases: ['many/12', 'many/7'], unsignedReleaseDirectories: ['a/1.0.0', 'b/2.0.0'] });
    } finally {
      await rm(join(repoDir, 'releases'), { recursive: true, force: true });
    }
  });

  it('warns on a bin near its expiry, and refresh plans targets (with every bin) as due', async () => {
    const later = new Date(now.getTime() + (DEFAULT_EXPIRY_DAYS.targets - 2) * 86_400_000);
    const status = await repositoryStatus(repoDir, later, 3);
    expect(status.bins.every((b) => b.warning === 'expires-soon')).toBe(true);
    const state = await new LocalRepository(repoDir).signedState();
    const plan = planRefresh(state, { now: later, expiryDays: DEFAULT_EXPIRY_DAYS, marginDays: 3 });
    expect(plan.resign).toEqual(['targets', 'snapshot', 'timestamp']);
  });

  it('refresh plans from the bins\' summary: the plan parsing every bin gives', async () => {
    const state = await new LocalRepository(repoDir).signedState();
    const summarised = { ...(await new LocalRepository(repoDir).current()), bins: await binExpiries(repoDir, state) };
    for (const at of [now, new Date(now.getTime() + (DEFAULT_EXPIRY_DAYS.targets - 2) * 86_400_000)]) {
      const options = { now: at, expiryDays: DEFAULT_EXPIRY_DAYS, marginDays: 3 };
      expect(planRefresh(summarised, options)).toEqual(planRefresh(state, options));
    }
  });

  it('a refresh that renews the timestamp alone reads no bin, yet refuses one that is gone (E_REPOSITORY_DAMAGED, nothing signed)', async () => {
    const { snapshot, timestamp } = await new LocalRepository(repoDir).current();
    await repositoryStatus(repoDir, now, 3);
    const bin = join(repoDir, 'metadata', metadataFileName('bins-7', snapshot.signed.meta['bins-7.json']!.version));
    const saved = await readFile(bin);
    const later = new Date(now.getTime() + 6 * 86_400_000);
    const refresh = () => refreshRepository(repoDir, join(work, 'staging'), online, { now: later, expiryDays: DEFAULT_EXPIRY_DAYS, marginDays: 3 });
    await rm(bin);
    try {
      await expect(refresh()).rejects.toMatchObject({ code: 'E_REPOSITORY_DAMAGED' });
      expect((await new LocalRepository(repoDir).current()).timestamp.signed.version).toBe(timestamp.signed.version);
      // Unreadable at the same length: only an lstat looks at it, so the plan stands.
      await writeFile(bin, Buffer.alloc(saved.length, 0x20));
      const r = await refresh();
      expect(r.plan.resign).toEqual(['timestamp']);
    } finally {
      await writeFile(bin, saved);
    }
  });
});
