// `airlock import`'s library side: the archive walk refuses a bad layout naming the path,
// a batched import signs every release once (the signed state lists each target with the
// recorded commit and branch), an import interrupted after a batch resumes where it
// stopped and ends in the same targets as one run, and a journal left `pending` by a
// crash after the commit is read against the signed metadata.
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { importArchive, surveyArchive, type ImportOptions } from '../../lib/repo/import.js';
import { walkArchive } from '../../lib/repo/import-archive.js';
import { importJournalPath, readImportJournal, writeImportJournal } from '../../lib/repo/import-journal.js';
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

describe('importArchive', () => {
  it('imports every release in batches: each target signed once, with its recorded commit and branch', async () => {
    const specs = archiveOf(2, 3, 2);
    await writeArchive(archive, specs);
    const batches: number[] = [];
    const r = await importArchive(repoDir, staging, archive, signers, await options({ onBatch: (e) => void batches.push(e.targets) }));
    expect(r).toMatchObject({ releases: 6, targets: 12, batches: 2 });
    expect(batches).toEqual([6, 6]);
    const targets = await signedTargets();
    expect(Object.keys(targets)).toHaveLength(12);
    expect(targets['proj1/1.2.0/file-1.txt']).toMatch(/:12b{38}:release\/1\.2\.0$/);
    expect(await readFile(join(repoDir, 'releases', 'proj0', '1.1.0', 'file-0.txt'), 'utf8')).toBe('project 0 version 1 file 0\n');
    // Snapshot signed once per batch, after init's v1.
    expect(r.metadataVersions?.snapshot).toBe(3);
  });

  it('an import interrupted after a batch resumes after it and ends where one run ends', async () => {
    await writeArchive(archive, archiveOf(2, 3, 2));
    const stop = new Error('interrupted');
    await expect(importArchive(repoDir, staging, archive, signers, await options({ batchTargets: 2, onBatch: (e) => { if (e.batch === 2) throw stop; } }))).rejects.toBe(stop);
    expect(Object.keys(await signedTargets())).toHaveLength(4);
    const survey = await surveyArchive(repoDir, archive, (await options()).journal);
    expect(survey).toMatchObject({ releases: 4, targets: 8, resumedAfter: { project: 'proj0', version: '1.1.0' }, importedTargets: 4 });
    const r = await importArchive(repoDir, staging, archive, signers, await options({ batchTargets: 2 }));
    expect(r).toMatchObject({ releases: 4, targets: 8, resumedAfter: { project: 'proj0', version: '1.1.0' } });
    expect(Object.keys(await signedTargets())).toHaveLength(12);
    // Nothing left: a third run imports nothing and signs nothing.
    const again = await importArchive(repoDir, staging, archive, signers, await options());
    expect(again).toMatchObject({ releases: 0, batches: 0 });
  });

  it('a journal left pending by a crash after the commit resumes after that batch; before the commit, redoes it', async () => {
    await writeArchive(archive, archiveOf(1, 4, 1));
    const opts = await options({ batchTargets: 2 });
    await importArchive(repoDir, staging, archive, signers, { ...opts, onBatch: (e) => { if (e.batch === 1) throw new Error('stop'); } }).catch(() => undefined);
    const j = (await readImportJournal(opts.journal.path, opts.journal.source))!;
    expect(j.done).toEqual({ project: 'proj0', version: '1.1.0' });
    // As if the process died between the commit and the journal's second write.
    await writeImportJournal(opts.journal.path, { ...j, done: undefined, batches: 0, targets: 0, pending: { project: 'proj0', version: '1.1.0', lastTarget: 'proj0/1.1.0/file-0.txt', targets: 2 } });
    expect(await surveyArchive(repoDir, archive, opts.journal)).toMatchObject({ resumedAfter: { project: 'proj0', version: '1.1.0' }, releases: 2 });
    // As if it died before that commit reached the metadata: the pending batch is done again, not refused.
    await writeImportJournal(opts.journal.path, { ...j, pending: { project: 'proj0', version: '1.3.0', lastTarget: 'proj0/1.3.0/file-0.txt', targets: 4 } });
    await mkdir(join(repoDir, 'releases', 'proj0', '1.2.0'), { recursive: true });
    expect(await surveyArchive(repoDir, archive, opts.journal)).toMatchObject({ redoThrough: { project: 'proj0', version: '1.3.0' }, releases: 2 });
    const r = await importArchive(repoDir, staging, archive, signers, opts);
    expect(r.releases).toBe(2);
    expect(Object.keys(await signedTargets())).toHaveLength(4);
  });

  it('refuses a release the copy already holds before anything is signed (E_RELEASE_EXISTS)', async () => {
    await writeArchive(archive, archiveOf(1, 2, 1));
    await mkdir(join(repoDir, 'releases', 'proj0', '1.1.0'), { recursive: true });
    await expect(surveyArchive(repoDir, archive, (await options()).journal)).rejects.toMatchObject({ code: 'E_RELEASE_EXISTS' });
    const requests = (signers.snapshot as ReturnType<typeof memorySigner>).requests.length;
    await expect(importArchive(repoDir, staging, archive, signers, await options({ batchTargets: 1 }))).rejects.toMatchObject({ code: 'E_RELEASE_EXISTS' });
    // proj0/1.0.0 came first, in its own batch; the refused release signed nothing.
    expect((signers.snapshot as ReturnType<typeof memorySigner>).requests.length).toBe(requests + 1);
  });
});
