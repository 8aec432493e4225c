// The import's spill read back: batches merged into one stream in hash order, past the
// fan-in through merged runs that are removed once read (the batches' own files stay
// until the commit is in); a damaged line is refused naming its batch's file; a line
// longer than the read buffer comes back whole. An import whose spill is pre-merged
// signs the same metadata bytes as one merged at once, and as one transaction given the
// same targets in memory (addTargets): streaming changes no byte.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TargetFileInfo } from '../../lib/core/tuf-metadata.js';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { importArchive } from '../../lib/repo/import.js';
import { importJournalPath } from '../../lib/repo/import-journal.js';
import { readSpill, writeSpill } from '../../lib/repo/import-spill.js';
import { initRepository } from '../../lib/repo/init-repository.js';
import { LocalRepository } from '../../lib/repo/local-repository.js';
import type { ReleaseSigners } from '../../lib/repo/release.js';
import { RepositoryTransaction } from '../../lib/repo/transaction.js';
import { targetPathHash } from '../../lib/verify/delegations.js';
import { archiveOf, writeArchive } from '../support/import-archive.js';
import { memorySigner } from '../support/memory-signer.js';

let work: string;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'airlock-spill-'));
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

function info(i: number, custom?: string): TargetFileInfo {
  const sha256 = createHash('sha256').update(`content ${i}`).digest('hex');
  return { length: i, hashes: { sha256, sha512: createHash('sha512').update(`content ${i}`).digest('hex') }, ...(custom ? { custom: { note: custom } } : {}) };
}

/** `batches` spill files of `per` targets each; every target, by path. */
async function spillOf(dir: string, batches: number, per: number): Promise<Map<string, TargetFileInfo>> {
  const all = new Map<string, TargetFileInfo>();
  for (let b = 1; b <= batches; b++) {
    const adds: Record<string, TargetFileInfo> = {};
    for (let i = 0; i < per; i++) {
      const n = b * 1000 + i;
      adds[`p${b}/1.${i}/file-${n}.bin`] = info(n);
    }
    for (const [p, v] of Object.entries(adds)) all.set(p, v);
    await writeSpill(dir, b, adds);
  }
  return all;
}

async function readAll(dir: string, spills: number, count: number, fanIn?: number): Promise<[string, TargetFileInfo][]> {
  const out: [string, TargetFileInfo][] = [];
  for await (const [p, v] of readSpill(dir, spills, count, fanIn).entries()) out.push([p, v]);
  return out;
}

describe('readSpill', () => {
  it('merges every batch in hash order, through merged runs past the fan-in, and leaves only the batches’ files', async () => {
    const dir = join(work, 'spill');
    const all = await spillOf(dir, 7, 25);
    const files = (await readdir(dir)).sort();
    const before = await Promise.all(files.map((f) => readFile(join(dir, f))));
    const expected = [...all.keys()].sort((a, b) => (targetPathHash(a) < targetPathHash(b) ? -1 : 1));
    for (const fanIn of [2, 3, 64]) {
      const got = await readAll(dir, 7, all.size, fanIn);
      expect(got.map(([p]) => p)).toEqual(expected);
      for (const [p, v] of got) expect(v).toEqual(all.get(p));
      expect((await readdir(dir)).sort()).toEqual(files);
    }
    expect(await Promise.all(files.map((f) => readFile(join(dir, f))))).toEqual(before);
  });

  it('removes its merged runs when the reader stops half-way', async () => {
    const dir = join(work, 'spill');
    const all = await spillOf(dir, 5, 10);
    const files = (await readdir(dir)).sort();
    let seen = 0;
    for await (const _ of readSpill(dir, 5, all.size, 2).entries()) {
      void _;
      // Past the pre-merge: the merged runs exist while the last merge reads them.
      if (++seen === 1) expect((await readdir(dir)).some((f) => f.startsWith('merged-'))).toBe(true);
      if (seen === 20) break;
    }
    expect((await readdir(dir)).sort()).toEqual(files);
  });

  it('refuses a damaged line of a batch merged into a run, naming the batch’s file (E_IMPORT_JOURNAL)', async () => {
    const dir = join(work, 'spill');
    const all = await spillOf(dir, 4, 10);
    const first = join(dir, (await readdir(dir)).sort()[0]!);
    const lines = (await readFile(first, 'utf8')).split('\n');
    lines[3] = lines[3]!.replace('file-', 'filf-');
    await writeFile(first, lines.join('\n'));
    await expect(readAll(dir, 4, all.size, 2)).rejects.toMatchObject({ code: 'E_IMPORT_JOURNAL', details: { path: first } });
    expect((await readdir(dir)).some((f) => f.startsWith('merged-'))).toBe(false);
  });

  it('refuses a file cut short in its last line (E_IMPORT_JOURNAL)', async () => {
    const dir = join(work, 'spill');
    const all = await spillOf(dir, 2, 5);
    const second = join(dir, (await readdir(dir)).sort()[1]!);
    const text = await readFile(second, 'utf8');
    await writeFile(second, text.slice(0, -1));
    await expect(readAll(dir, 2, all.size)).rejects.toMatchObject({ code: 'E_IMPORT_JOURNAL', details: { path: second } });
  });

  it('reads a spill as earlier versions wrote it, a path staged twice in the order of the merge passes', async () => {
    // Bytes spelled out, not through writeSpill: an import interrupted before an upgrade resumes after it.
    const dir = join(work, 'spill');
    await mkdir(dir, { recursive: true });
    const line = (path: string, i: number): string => `${createHash('sha256').update(path).digest('hex')}\t${JSON.stringify([path, info(i)])}\n`;
    const batch = (...lines: string[]): string => lines.sort().join('');
    await writeFile(join(dir, '000001.jsonl'), batch(line('p/1/a.bin', 1), line('p/1/twice.bin', 11)));
    await writeFile(join(dir, '000002.jsonl'), batch(line('p/1/b.bin', 2), line('p/1/twice.bin', 12)));
    await writeFile(join(dir, '000003.jsonl'), batch(line('p/1/c.bin', 3), line('p/1/twice.bin', 13)));
    const twice = async (fanIn: number): Promise<number[]> => (await readAll(dir, 3, 6, fanIn)).filter(([p]) => p === 'p/1/twice.bin').map(([, v]) => v.length);
    const all = await readAll(dir, 3, 6);
    expect(all.map(([p]) => p)).toEqual(['p/1/a.bin', 'p/1/b.bin', 'p/1/c.bin', 'p/1/twice.bin', 'p/1/twice.bin', 'p/1/twice.bin'].sort((a, b) => (targetPathHash(a) < targetPathHash(b) ? -1 : 1)));
    expect(all.find(([p]) => p === 'p/1/a.bin')?.[1]).toEqual(info(1));
    // Equal hashes come by file; batches merged into a run first go after the batches left.
    expect(await twice(3)).toEqual([11, 12, 13]);
    expect(await twice(2)).toEqual([13, 11, 12]);
  });

  it('reads back a line longer than its read buffer whole', async () => {
    const dir = join(work, 'spill');
    const long = 'é'.repeat(50_000);
    await writeSpill(dir, 1, { 'p/1/a.bin': info(1, long), 'p/1/b.bin': info(2) });
    await writeSpill(dir, 2, { 'p/1/c.bin': info(3, long) });
    const got = new Map(await readAll(dir, 2, 3));
    expect(got.size).toBe(3);
    expect(got.get('p/1/a.bin')?.custom).toEqual({ note: long });
    expect(got.get('p/1/c.bin')?.custom).toEqual({ note: long });
    expect(got.get('p/1/b.bin')).toEqual(info(2));
  });
});

describe('an import’s signed bytes', () => {
  it('are the same merged at once, through merged runs, and from one transaction given the targets in memory', async () => {
    const now = new Date('2026-06-01T00:00:00Z');
    const signers: ReleaseSigners = { targets: memorySigner('targets'), snapshot: memorySigner('snapshot'), timestamp: memorySigner('timestamp') };
    const root = memorySigner('root');
    const archive = join(work, 'archive');
    await writeArchive(archive, archiveOf(3, 4, 3));
    const hashBins = { afterTargets: 8, layout: { bitLength: 3, namePrefix: 'bins' } };
    /** The metadata/ files of a fresh repository after `fill`, by name. */
    const metadataAfter = async (name: string, fill: (repoDir: string, staging: string) => Promise<void>): Promise<Map<string, string>> => {
      const repoDir = join(work, name, 'repository');
      const staging = join(work, name, 'staging');
      await initRepository(repoDir, staging, { root: [root], rootThreshold: 1, ...signers }, { now, expiryDays: DEFAULT_EXPIRY_DAYS, name: 'Import' });
      await fill(repoDir, staging);
      const out = new Map<string, string>();
      for (const f of (await readdir(join(repoDir, 'metadata'))).sort()) out.set(f, await readFile(join(repoDir, 'metadata', f), 'utf8'));
      return out;
    };
    const imported = (fanIn: number) => async (repoDir: string, staging: string) => {
      const journal = await importJournalPath(join(work, `imports-${fanIn}`), archive);
      const r = await importArchive(repoDir, staging, archive, signers, { now, expiryDays: DEFAULT_EXPIRY_DAYS, hashBins, batchTargets: 3, compat: 'tuf', name: 'Import', journal, mergeFanIn: fanIn });
      expect(r).toMatchObject({ batches: 12, signedTargets: 36 });
    };
    const atOnce = await metadataAfter('at-once', imported(64));
    const runs = await metadataAfter('runs', imported(2));
    expect([...atOnce.keys()].filter((f) => f.includes('.bins-')).length).toBeGreaterThanOrEqual(8);
    expect(runs).toEqual(atOnce);

    // The same targets in memory: one transaction, no stream.
    const state = await new LocalRepository(join(work, 'at-once', 'repository')).signedState();
    const targets: Record<string, TargetFileInfo> = {};
    for (const b of state.bins.values()) Object.assign(targets, b.signed.targets);
    expect(Object.keys(targets)).toHaveLength(36);
    const inMemory = await metadataAfter('in-memory', async (repoDir, staging) => {
      const tx = await RepositoryTransaction.open(repoDir, staging, { now, expiryDays: DEFAULT_EXPIRY_DAYS, hashBins });
      tx.addTargets(targets);
      await tx.commit({ targets: [signers.targets], snapshot: [signers.snapshot], timestamp: [signers.timestamp] });
    });
    expect(inMemory).toEqual(atOnce);
  });
});
