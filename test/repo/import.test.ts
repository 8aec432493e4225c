// `airlock import`'s library side: the archive walk refuses a bad layout naming the path;
// an import moves its files in batches and then signs every target once, each hash bin
// once (the metadata directory holds one version of each bin), with the recorded commit
// and branch; an import interrupted after a batch, before its signing commit, or after
// that commit landed resumes where it stopped and ends as one run does; a batch
// interrupted while moving is staged again; a later import fills the bins it touches, or
// re-bins, keeping every target.
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { importArchive, surveyArchive, type ImportOptions } from '../../lib/repo/import.js';
import { walkArchive } from '../../lib/repo/import-archive.js';
import { importJournalPath, readImportJournal, writeImportJournal, type ImportJournal } from '../../lib/repo/import-journal.js';
import { spillDirFor } from '../../lib/repo/import-spill.js';
import { initRepository } from '../../lib/repo/init-repository.js';
import { LocalRepository } from '../../lib/repo/local-repository.js';
import type { ReleaseSigners } from '../../lib/repo/release.js';
import { archiveOf, writeArchive } from '../support/import-archive.js';
import { memorySigner } from '../support/memory-signer.js';

let work: string;
let repoDir: string;
let staging: string;
let archive: string;
let signers: ReleaseSigners;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'airlock-import-'));
  repoDir = join(work, 'repository');
  staging = join(work, 'staging');
  archive = join(work, 'archive');
  signers = { targets: memorySigner('targets'), snapshot: memorySigner('snapshot'), timestamp: memorySigner('timestamp') };
  await initRepository(repoDir, staging, { root: [memorySigner('root')], rootThreshold: 1, ...signers }, { now: new Date(), expiryDays: DEFAULT_EXPIRY_DAYS, name: 'Import' });
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function options(extra: Partial<ImportOptions> = {}): Promise<ImportOptions> {
  return { now: new Date(), expiryDays: DEFAULT_EXPIRY_DAYS, hashBins: { afterTargets: 8, layout: { bitLength: 4, namePrefix: 'bins' } }, batchTargets: 6, compat: 'tuf', name: 'Import', journal: await importJournalPath(join(work, 'imports'), archive), ...extra };
}

/** Every target the signed state lists, with its commit. */
async function signedTargets(): Promise<Record<string, string>> {
  const state = await new LocalRepository(repoDir).signedState();
  const out: Record<string, string> = {};
  for (const t of [state.targets.signed, ...[...state.bins.values()].map((b) => b.signed)]) for (const [p, info] of Object.entries(t.targets)) out[p] = `${info.hashes.sha256}:${info.custom?.airlock?.commit}:${info.custom?.airlock?.branch}`;
  return out;
}

describe('the archive layout', () => {
  const refusals: [string, (dir: string) => Promise<void>][] = [
    ['a file where a project directory belongs', async (d) => writeFile(join(d, 'README'), 'x')],
    ['a version without release.json', async (d) => {
      await mkdir(join(d, 'p', '1.0'), { recursive: true });
      await writeFile(join(d, 'p', '1.0', 'a.txt'), 'x');
    }],
    ['a release.json with an unknown field', async (d) => writeArchive(d, [{ project: 'p', version: '1.0', files: { 'a.txt': 'x' } }]).then(() => writeFile(join(d, 'p', '1.0', 'release.json'), JSON.stringify({ commit: 'a'.repeat(40), branch: 'b', date: '2024-01-01T00:00:00Z', extra: 1 })))],
    ['a short commit id', async (d) => writeArchive(d, [{ project: 'p', version: '1.0', files: { 'a.txt': 'x' }, commit: 'abc123' }])],
    ['a symbolic link among the files', async (d) => writeArchive(d, [{ project: 'p', version: '1.0', files: { 'a.txt': 'x' } }]).then(() => symlink('/etc/passwd', join(d, 'p', '1.0', 'b.txt')))],
    ['a nested directory', async (d) => writeArchive(d, [{ project: 'p', version: '1.0', files: { 'a.txt': 'x' } }]).then(() => mkdir(join(d, 'p', '1.0', 'sub')))],
    ['a version name a target path cannot carry', async (d) => writeArchive(d, [{ project: 'p', version: '.hidden', files: { 'a.txt': 'x' } }])],
    ['a signature file name airlock writes itself', async (d) => writeArchive(d, [{ project: 'p', version: '1.0', files: { 'a.txt': 'x', 'a.txt.asc': 'sig' } }])],
  ];
  for (const [what, make] of refusals) {
    it(`refuses ${what} (E_IMPORT_LAYOUT)`, async () => {
      await mkdir(archive, { recursive: true });
      await make(archive);
      const walk = async (): Promise<void> => {
        for await (const _ of walkArchive(archive)) void _;
      };
      await expect(walk()).rejects.toMatchObject({ code: 'E_IMPORT_LAYOUT' });
    });
  }
});

/** Versions written of each bin (metadata/<N>.<bin>.json), by bin. */
async function binVersions(): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const name of await readdir(join(repoDir, 'metadata'))) {
    const m = /^(\d+)\.(bins\d*-[0-9a-f]+)\.json$/.exec(name);
    if (m) out.set(m[2]!, [...(out.get(m[2]!) ?? []), Number(m[1])]);
  }
  return out;
}

describe('importArchive', () => {
  it('moves the files in batches, then signs every target once — each bin once — with its recorded commit and branch', async () => {
    await writeArchive(archive, archiveOf(2, 3, 2));
    const batches: number[] = [];
    const r = await importArchive(repoDir, staging, archive, signers, await options({ onBatch: (e) => void batches.push(e.targets) }));
    expect(r).toMatchObject({ releases: 6, targets: 12, signedTargets: 12, batches: 2, bins: 16 });
    expect(batches).toEqual([6, 6]);
    const targets = await signedTargets();
    expect(Object.keys(targets)).toHaveLength(12);
    expect(targets['proj1/1.2.0/file-1.txt']).toMatch(/:12b{38}:release\/1\.2\.0$/);
    expect(await readFile(join(repoDir, 'releases', 'proj0', '1.1.0', 'file-0.txt'), 'utf8')).toBe('project 0 version 1 file 0\n');
    // One signing commit after init's v1, whatever the number of batches; every bin written once.
    expect(r.metadataVersions).toEqual({ targets: 2, snapshot: 2, timestamp: 2 });
    const versions = await binVersions();
    expect(versions.size).toBe(16);
    for (const v of versions.values()) expect(v).toEqual([1]);
    // The spill is gone once signed.
    expect(await readdir(join(work, 'imports'))).toEqual([expect.stringMatching(/^[0-9a-f]{16}\.json$/)]);
  });

  it('an import interrupted after a batch resumes after it, signs once, and ends where one run ends', async () => {
    await writeArchive(archive, archiveOf(2, 3, 2));
    const stop = new Error('interrupted');
    await expect(importArchive(repoDir, staging, archive, signers, await options({ batchTargets: 2, onBatch: (e) => { if (e.batch === 2) throw stop; } }))).rejects.toBe(stop);
    // The files of two batches are in the copy; nothing names them yet.
    expect(Object.keys(await signedTargets())).toHaveLength(0);
    expect(await readFile(join(repoDir, 'releases', 'proj0', '1.1.0', 'file-1.txt'), 'utf8')).toBe('project 0 version 1 file 1\n');
    const survey = await surveyArchive(repoDir, archive, (await options()).journal);
    expect(survey).toMatchObject({ releases: 4, targets: 8, resumedAfter: { project: 'proj0', version: '1.1.0' }, importedTargets: 4, unsigned: 4 });
    const r = await importArchive(repoDir, staging, archive, signers, await options({ batchTargets: 2 }));
    expect(r).toMatchObject({ releases: 4, targets: 8, signedTargets: 12, resumedAfter: { project: 'proj0', version: '1.1.0' } });
    expect(Object.keys(await signedTargets())).toHaveLength(12);
    for (const v of (await binVersions()).values()) expect(v).toEqual([1]);
    // Nothing left: a third run imports nothing and signs nothing.
    const again = await importArchive(repoDir, staging, archive, signers, await options());
    expect(again).toMatchObject({ releases: 0, batches: 0, signedTargets: 0 });
  });

  it('an import interrupted before its signing commit signs on the next run; one whose commit landed is not signed again', async () => {
    await writeArchive(archive, archiveOf(1, 5, 2));
    const opts = await options({ batchTargets: 2 });
    const stop = new Error('interrupted');
    await expect(importArchive(repoDir, staging, archive, signers, { ...opts, onSigning: () => { throw stop; } })).rejects.toBe(stop);
    expect(await surveyArchive(repoDir, archive, opts.journal)).toMatchObject({ releases: 0, unsigned: 10, importedTargets: 10 });
    const journal = (await readImportJournal(opts.journal.path, opts.journal.source))!;
    const r = await importArchive(repoDir, staging, archive, signers, opts);
    expect(r).toMatchObject({ releases: 0, signedTargets: 10, bins: 16 });
    expect(Object.keys(await signedTargets())).toHaveLength(10);
    // As if the process died after the signing commit, before the journal's last write.
    await writeImportJournal(opts.journal.path, { ...(journal as ImportJournal), signing: true });
    expect(await surveyArchive(repoDir, archive, opts.journal)).toMatchObject({ releases: 0, unsigned: 0, importedTargets: 10 });
    const again = await importArchive(repoDir, staging, archive, signers, opts);
    expect(again).toMatchObject({ releases: 0, signedTargets: 0 });
    for (const v of (await binVersions()).values()) expect(v).toEqual([1]);
  });

  it('a batch interrupted while its files moved into the copy is staged again, not refused', async () => {
    await writeArchive(archive, archiveOf(1, 4, 1));
    const opts = await options({ batchTargets: 2 });
    await importArchive(repoDir, staging, archive, signers, { ...opts, onBatch: (e) => { if (e.batch === 1) throw new Error('stop'); } }).catch(() => undefined);
    const j = (await readImportJournal(opts.journal.path, opts.journal.source)) as ImportJournal;
    expect(j.staged).toMatchObject({ through: { project: 'proj0', version: '1.1.0' }, spills: 1, targets: 2 });
    // As if it died moving the second batch: part of it is in the copy.
    await writeImportJournal(opts.journal.path, { ...j, pending: { project: 'proj0', version: '1.3.0' } });
    await mkdir(join(repoDir, 'releases', 'proj0', '1.2.0'), { recursive: true });
    expect(await surveyArchive(repoDir, archive, opts.journal)).toMatchObject({ redoThrough: { project: 'proj0', version: '1.3.0' }, releases: 2, unsigned: 2 });
    const r = await importArchive(repoDir, staging, archive, signers, opts);
    expect(r).toMatchObject({ releases: 2, signedTargets: 4 });
    expect(Object.keys(await signedTargets())).toHaveLength(4);
  });

  it('a batch to stage again survives a second interruption, also when it now spans several batches', async () => {
    await writeArchive(archive, archiveOf(1, 4, 1));
    const opts = await options({ batchTargets: 2 });
    await importArchive(repoDir, staging, archive, signers, { ...opts, onBatch: (e) => { if (e.batch === 1) throw new Error('stop'); } }).catch(() => undefined);
    const j = (await readImportJournal(opts.journal.path, opts.journal.source)) as ImportJournal;
    // It died moving the second batch (1.2.0 and 1.3.0): both are partly in the copy.
    await writeImportJournal(opts.journal.path, { ...j, pending: { project: 'proj0', version: '1.3.0' } });
    await mkdir(join(repoDir, 'releases', 'proj0', '1.2.0'), { recursive: true });
    await mkdir(join(repoDir, 'releases', 'proj0', '1.3.0'), { recursive: true });
    // The re-run, one release a batch, is stopped after moving 1.2.0 alone: 1.3.0 is still to redo.
    await importArchive(repoDir, staging, archive, signers, { ...opts, batchTargets: 1, onBatch: () => { throw new Error('stop again'); } }).catch(() => undefined);
    expect(((await readImportJournal(opts.journal.path, opts.journal.source)) as ImportJournal).pending).toEqual({ project: 'proj0', version: '1.3.0' });
    const r = await importArchive(repoDir, staging, archive, signers, { ...opts, batchTargets: 1 });
    expect(r).toMatchObject({ releases: 1, signedTargets: 4 });
    expect(Object.keys(await signedTargets())).toHaveLength(4);
  });

  it('a second import fills the bins it touches, each once; one that outgrows them re-bins, keeping every target', async () => {
    await writeArchive(archive, archiveOf(1, 6, 2));
    await importArchive(repoDir, staging, archive, signers, await options());
    const second = join(work, 'second');
    await writeArchive(second, archiveOf(1, 2, 1).map((r) => ({ ...r, project: 'other' })));
    const r = await importArchive(repoDir, staging, second, signers, { ...(await options()), journal: await importJournalPath(join(work, 'imports'), second) });
    expect(r.bins).toBeGreaterThan(0);
    expect(r.bins).toBeLessThanOrEqual(2);
    expect(Object.keys(await signedTargets())).toHaveLength(14);
    for (const v of (await binVersions()).values()) expect(Math.max(...v)).toBeLessThanOrEqual(2);
    // Bins of at most 300 bytes: 2 more targets force more bins; every target moves into them.
    const third = join(work, 'third');
    await writeArchive(third, archiveOf(1, 2, 1).map((r) => ({ ...r, project: 'third' })));
    const opts = await options({ hashBins: { afterTargets: 8, layout: { bitLength: 4, namePrefix: 'bins' }, maxBinBytes: 300 } });
    const rebinned = await importArchive(repoDir, staging, third, signers, { ...opts, journal: await importJournalPath(join(work, 'imports'), third) });
    expect(rebinned.bins).toBeGreaterThan(16);
    const state = await new LocalRepository(repoDir).signedState();
    expect(state.targets.signed.delegations?.succinct_roles?.bit_length).toBeGreaterThan(4);
    expect(Object.keys(await signedTargets())).toHaveLength(16);
  });

  it('a damaged spill is refused before anything is signed (E_IMPORT_JOURNAL)', async () => {
    await writeArchive(archive, archiveOf(1, 5, 2));
    const opts = await options({ batchTargets: 4 });
    await expect(importArchive(repoDir, staging, archive, signers, { ...opts, onSigning: () => { throw new Error('stop'); } })).rejects.toThrow('stop');
    const spill = spillDirFor(opts.journal.path);
    const first = join(spill, (await readdir(spill)).sort()[0]!);
    const lines = (await readFile(first, 'utf8')).split('\n');
    // A line whose path no longer matches the hash it is sorted by.
    lines[0] = lines[0]!.replace('proj0/', 'proj9/');
    await writeFile(first, lines.join('\n'));
    const requests = (signers.snapshot as ReturnType<typeof memorySigner>).requests.length;
    await expect(importArchive(repoDir, staging, archive, signers, opts)).rejects.toMatchObject({ code: 'E_IMPORT_JOURNAL' });
    expect((signers.snapshot as ReturnType<typeof memorySigner>).requests.length).toBe(requests);
    expect(Object.keys(await signedTargets())).toHaveLength(0);
  });

  it('an import interrupted by the format-1 journal of an earlier airlock resumes from it', async () => {
    await writeArchive(archive, archiveOf(1, 4, 1));
    const opts = await options({ batchTargets: 2 });
    // Format 1 committed (signed) each batch; its pending batch never reached the metadata here.
    await mkdir(join(work, 'imports'), { recursive: true });
    await writeFile(opts.journal.path, JSON.stringify({ formatVersion: 1, source: opts.journal.source, pending: { project: 'proj0', version: '1.1.0', lastTarget: 'proj0/1.1.0/file-0.txt', targets: 2 }, batches: 0, targets: 0 }));
    expect(await surveyArchive(repoDir, archive, opts.journal)).toMatchObject({ redoThrough: { project: 'proj0', version: '1.1.0' }, releases: 4, unsigned: 0 });
    const r = await importArchive(repoDir, staging, archive, signers, opts);
    expect(r).toMatchObject({ releases: 4, signedTargets: 4 });
    expect(((await readImportJournal(opts.journal.path, opts.journal.source)) as ImportJournal).formatVersion).toBe(2);
  });

  it('refuses a release the copy already holds before anything of it is staged or signed (E_RELEASE_EXISTS)', async () => {
    await writeArchive(archive, archiveOf(1, 2, 1));
    await mkdir(join(repoDir, 'releases', 'proj0', '1.1.0'), { recursive: true });
    await expect(surveyArchive(repoDir, archive, (await options()).journal)).rejects.toMatchObject({ code: 'E_RELEASE_EXISTS' });
    const requests = (signers.snapshot as ReturnType<typeof memorySigner>).requests.length;
    await expect(importArchive(repoDir, staging, archive, signers, await options({ batchTargets: 1 }))).rejects.toMatchObject({ code: 'E_RELEASE_EXISTS' });
    // proj0/1.0.0 came first, in its own batch, and is in the copy; nothing was signed.
    expect((signers.snapshot as ReturnType<typeof memorySigner>).requests.length).toBe(requests);
    expect(Object.keys(await signedTargets())).toHaveLength(0);
  });
});
