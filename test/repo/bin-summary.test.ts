// The bins' summary (.airlock-bins) that lets `airlock status` skip parsing every bin:
// it is used only for the exact bytes the snapshot lists, so a stale or forged entry
// never reaches status, and a bin that is not what the snapshot lists is a damaged copy.
import { execFileSync } from 'node:child_process';
import { readFile, rm, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metadataFileName, type TargetFileInfo } from '../../lib/core/tuf-metadata.js';
import { BIN_SUMMARY_FILE, binExpiries, binSummaries } from '../../lib/repo/bin-summary.js';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { binNamesOf } from '../../lib/repo/hash-bins.js';
import { initRepository } from '../../lib/repo/init-repository.js';
import { LocalRepository } from '../../lib/repo/local-repository.js';
import { RepositoryTransaction } from '../../lib/repo/transaction.js';
import { memorySigner } from '../support/memory-signer.js';

const keys = { root: [memorySigner('root')], rootThreshold: 1, targets: memorySigner('targets'), snapshot: memorySigner('snapshot'), timestamp: memorySigner('timestamp') };
const online = { targets: [keys.targets], snapshot: [keys.snapshot], timestamp: [keys.timestamp] };
const hashBins = { afterTargets: 8, layout: { bitLength: 3, namePrefix: 'bins' } };
const now = new Date();
let work: string;
let repoDir: string;

function synthetic(from: number, count: number): Record<string, TargetFileInfo> {
  const out: Record<string, TargetFileInfo> = {};
  for (let i = from; i < from + count; i++) out[`many/${i}/file-${i}.txt`] = { length: i, hashes: { sha256: i.toString(16).padStart(64, '0') } };
  return out;
}

async function addTargets(from: number, count: number): Promise<void> {
  const tx = await RepositoryTransaction.open(repoDir, join(work, 'staging'), { now, expiryDays: DEFAULT_EXPIRY_DAYS, hashBins });
  tx.addTargets(synthetic(from, count));
  await tx.commit(online);
}

/** What parsing every bin says: the summary must agree with it. */
async function fromBins(): Promise<Map<string, { version: number; expires: string; targets: number }>> {
  const state = await new LocalRepository(repoDir).signedState();
  return new Map([...state.bins].map(([role, env]) => [role, { version: env.signed.version, expires: env.signed.expires, targets: Object.keys(env.signed.targets).length }]));
}

async function summaries() {
  const { snapshot, targets } = await new LocalRepository(repoDir).current();
  return binSummaries(repoDir, snapshot.signed, binNamesOf(targets.signed));
}

function plain(m: Awaited<ReturnType<typeof summaries>>) {
  return new Map([...m].map(([role, { version, expires, targets }]) => [role, { version, expires, targets }]));
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'airlock-bin-summary-'));
  repoDir = join(work, 'repository');
  await initRepository(repoDir, join(work, 'staging'), keys, { now, expiryDays: DEFAULT_EXPIRY_DAYS, name: 'Summary' });
  await addTargets(0, 40);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('the hash bins summary', () => {
  it('is written by the commit that signs the bins (crossing into bins: every one), so status reads none', async () => {
    const file = JSON.parse(await readFile(join(repoDir, BIN_SUMMARY_FILE), 'utf8'));
    const bins = await fromBins();
    expect(new Map(Object.entries(file.bins).map(([role, e]) => { const { version, expires, targets } = e as { version: number; expires: string; targets: number }; return [role, { version, expires, targets }]; }))).toEqual(bins);
    const { snapshot } = await new LocalRepository(repoDir).current();
    for (const [role, e] of Object.entries(file.bins) as [string, { length: number; sha256: string }][]) {
      expect(snapshot.signed.meta[`${role}.json`]).toMatchObject({ length: e.length, hashes: { sha256: e.sha256 } });
    }
  });

  it('is written on first use and says what the bins say', async () => {
    await rm(join(repoDir, BIN_SUMMARY_FILE), { force: true });
    expect(plain(await summaries())).toEqual(await fromBins());
    const file = JSON.parse(await readFile(join(repoDir, BIN_SUMMARY_FILE), 'utf8'));
    expect(Object.keys(file.bins)).toEqual(Array.from({ length: 8 }, (_, i) => `bins-${i}`));
  });

  it('is what status reads while the snapshot lists the same bytes, yet a bin gone, cut or a symlink is a damaged copy (as signedState says)', async () => {
    await summaries();
    const current = await new LocalRepository(repoDir).current();
    const bin0 = join(repoDir, 'metadata', metadataFileName('bins-0', current.snapshot.signed.meta['bins-0.json']!.version));
    const saved = await readFile(bin0);
    const damagedCopy = async (): Promise<void> => {
      await expect(summaries()).rejects.toMatchObject({ code: 'E_REPOSITORY_DAMAGED' });
      // Refresh plans from the same summary: it must not plan past a bin that is gone.
      await expect(binExpiries(repoDir, current)).rejects.toMatchObject({ code: 'E_REPOSITORY_DAMAGED' });
      await expect(new LocalRepository(repoDir).signedState()).rejects.toMatchObject({ code: 'E_REPOSITORY_DAMAGED' });
    };
    try {
      await rm(bin0);
      await damagedCopy();
      await writeFile(bin0, saved.subarray(0, saved.length - 1)); // garbled: cut short
      await damagedCopy();
      await writeFile(join(work, 'bin0-elsewhere'), saved);
      await rm(bin0);
      await symlink(join(work, 'bin0-elsewhere'), bin0);
      await damagedCopy();
      // Without the summary the bin is read: through no symlink either.
      await rm(join(repoDir, BIN_SUMMARY_FILE), { force: true });
      await expect(summaries()).rejects.toMatchObject({ code: 'E_REPOSITORY_DAMAGED' });
    } finally {
      await rm(bin0, { force: true });
      await writeFile(bin0, saved);
    }
    await summaries(); // written again from the bins
    // Garbled at the same length: an lstat cannot tell (publish --full-check and doctor read it).
    await writeFile(bin0, Buffer.alloc(saved.length, 0x20));
    try {
      expect(plain(await summaries()).get('bins-0')!.targets).toBeGreaterThan(0);
    } finally {
      await writeFile(bin0, saved);
    }
  });

  it('ignores an entry for other bytes than the snapshot lists: a forged expiry never reaches status', async () => {
    await summaries();
    const path = join(repoDir, BIN_SUMMARY_FILE);
    const file = JSON.parse(await readFile(path, 'utf8'));
    file.bins['bins-1'].expires = '2099-01-01T00:00:00Z';
    file.bins['bins-1'].sha256 = '0'.repeat(64);
    file.bins['bins-2'].targets = 9999;
    file.bins['bins-2'].version += 1;
    await writeFile(path, JSON.stringify(file));
    expect(plain(await summaries())).toEqual(await fromBins());
    // And the file is repaired.
    const repaired = JSON.parse(await readFile(path, 'utf8'));
    expect(repaired.bins['bins-1'].expires).not.toBe('2099-01-01T00:00:00Z');
  });

  it('a malformed summary is an empty one', async () => {
    await writeFile(join(repoDir, BIN_SUMMARY_FILE), '{"format":"airlock-bins 1","bins":{"bins-0":{"version":"x"}');
    expect(plain(await summaries())).toEqual(await fromBins());
    await writeFile(join(repoDir, BIN_SUMMARY_FILE), '{"format":"something else","bins":{}}');
    expect(plain(await summaries())).toEqual(await fromBins());
  });

  it('a summary that is a symlink (to /dev/zero) or a FIFO is not followed nor waited on: an empty one', async () => {
    await rm(join(repoDir, BIN_SUMMARY_FILE), { force: true });
    await symlink('/dev/zero', join(repoDir, BIN_SUMMARY_FILE));
    expect(plain(await summaries())).toEqual(await fromBins());
    await rm(join(repoDir, BIN_SUMMARY_FILE), { force: true });
    execFileSync('mkfifo', [join(repoDir, BIN_SUMMARY_FILE)]);
    expect(plain(await summaries())).toEqual(await fromBins());
  });

  it('a release records the bin it re-signed, and the summary agrees with the bins', async () => {
    await summaries();
    const before = await fromBins();
    await rm(join(repoDir, BIN_SUMMARY_FILE));
    await addTargets(40, 1);
    const after = await fromBins();
    const changed = [...after].filter(([role, s]) => before.get(role)!.version !== s.version).map(([role]) => role);
    expect(changed).toHaveLength(1);
    const file = JSON.parse(await readFile(join(repoDir, BIN_SUMMARY_FILE), 'utf8'));
    expect(Object.keys(file.bins)).toEqual(changed);
    expect(plain(await summaries())).toEqual(after);
    expect([...after.values()].reduce((n, s) => n + s.targets, 0)).toBe(41);
  });

  it('refuses a bin that is not the file the snapshot lists (E_REPOSITORY_DAMAGED)', async () => {
    await rm(join(repoDir, BIN_SUMMARY_FILE), { force: true });
    const { snapshot } = await new LocalRepository(repoDir).current();
    const bin3 = join(repoDir, 'metadata', metadataFileName('bins-3', snapshot.signed.meta['bins-3.json']!.version));
    const saved = await readFile(bin3);
    // Valid metadata, other bytes: a bin swapped for another version's file.
    await writeFile(bin3, `${saved.toString('utf8')}\n`);
    try {
      await expect(summaries()).rejects.toMatchObject({ code: 'E_REPOSITORY_DAMAGED' });
    } finally {
      await writeFile(bin3, saved);
    }
  });
});
