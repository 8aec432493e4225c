// The terminal's copy is read as it is, never through a link (security review): a
// metadata file or hash bin that is a symlink — even to the very bytes it should hold —
// or a FIFO is a damaged copy (E_REPOSITORY_DAMAGED), for signedState, for status with
// the bins' summary and for status without it (every bin read), and for commitStaged.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metadataFileName, type TargetFileInfo } from '../../lib/core/tuf-metadata.js';
import { BIN_SUMMARY_FILE } from '../../lib/repo/bin-summary.js';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { initRepository } from '../../lib/repo/init-repository.js';
import { commitStaged, LocalRepository } from '../../lib/repo/local-repository.js';
import { repositoryStatus } from '../../lib/repo/status.js';
import { RepositoryTransaction } from '../../lib/repo/transaction.js';
import { expectCode } from '../support/error-codes.js';
import { memorySigner } from '../support/memory-signer.js';
import { treeOnDisk } from '../support/tree-on-disk.js';

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

// commitStaged never replaces an immutable path, and so looks at what the copy holds
// there: a symlink planted in its place — to /dev/zero, to a file outside the copy with
// the very bytes staged, or to nothing at all — is damage, never followed (hashing
// /dev/zero never ends; an outside file would be taken for the published one) and never
// renamed over (a dangling link looked absent); nor is anything moved through a
// directory of the copy that is a symlink.
describe('commitStaged and a symlink in the copy', () => {
  const bytes = Buffer.from('the published bytes\n');
  const name = `${createHash('sha256').update(bytes).digest('hex')}.f.txt`;
  const path = `targets/p/1.0/${name}`;
  let copy: string;

  /** A fresh copy holding one committed file, and a staging directory with the same file again plus a new one. */
  async function setUp(): Promise<{ staging: string }> {
    const base = await mkdtemp(join(work, 'commit-'));
    copy = join(base, 'repository');
    // An initialised copy: its manifest lists the mutable timestamp.json, so it is trusted, not rebuilt by a walk.
    await initRepository(copy, join(base, 'init'), keys, { now, expiryDays: DEFAULT_EXPIRY_DAYS, name: 'Links' });
    const first = join(base, 'first');
    await mkdir(join(first, 'targets/p/1.0'), { recursive: true });
    await writeFile(join(first, path), bytes);
    await commitStaged(first, copy);
    const staging = join(base, 'staging');
    await mkdir(join(staging, 'targets/p/1.0'), { recursive: true });
    await writeFile(join(staging, path), bytes);
    await mkdir(join(staging, 'targets/p/2.0'), { recursive: true });
    await writeFile(join(staging, 'targets/p/2.0', name), bytes);
    return { staging };
  }

  it('takes the copy\'s own regular file as the one already published', async () => {
    const { staging } = await setUp();
    expect((await commitStaged(staging, copy)).moved).toEqual([`targets/p/2.0/${name}`]);
  });

  const plants: [string, (file: string) => Promise<void>][] = [
    ['a symlink to a file outside the copy with the same bytes', async (file) => {
      const outside = join(work, `outside-${Math.random()}`);
      await writeFile(outside, bytes);
      await symlink(outside, file);
    }],
    ['a symlink to /dev/zero', (file) => symlink('/dev/zero', file)],
    ['a dangling symlink', (file) => symlink(join(work, 'nothing-here'), file)],
    ['a FIFO', async (file) => void execFileSync('mkfifo', [file])],
  ];
  for (const [what, plant] of plants) {
    it(`refuses ${what} at an immutable path as damage, moving nothing`, async () => {
      const { staging } = await setUp();
      await rm(join(copy, path));
      await plant(join(copy, path));
      const before = await treeOnDisk(copy);
      await expectCode(commitStaged(staging, copy), 'E_REPOSITORY_DAMAGED');
      expect(await treeOnDisk(copy)).toEqual(before);
    }, 10_000);
  }

  it('refuses a directory of the copy that is a symlink, moving nothing through it', async () => {
    const { staging } = await setUp();
    const outside = await mkdtemp(join(work, 'outside-dir-'));
    await rm(join(copy, 'targets/p'), { recursive: true });
    await symlink(outside, join(copy, 'targets/p'));
    const before = await treeOnDisk(copy);
    await expectCode(commitStaged(staging, copy), 'E_REPOSITORY_DAMAGED');
    expect(await treeOnDisk(copy)).toEqual(before);
    expect(await readdir(outside)).toEqual([]);
  });
});
