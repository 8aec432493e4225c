// `airlock status` and an unfinished import: the import moves each batch's releases into
// releases/PROJECT/VERSION/ before its one signing commit, so until that commit is in those
// directories are releases nothing has signed. Status names none of them and reports the
// import (to be re-run); once it finishes, every release is named and nothing is reported.
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { importArchive, type ImportOptions } from '../../lib/repo/import.js';
import { importJournalPath, readImportJournal, writeImportJournal, type ImportJournal } from '../../lib/repo/import-journal.js';
import { initRepository } from '../../lib/repo/init-repository.js';
import type { ReleaseSigners } from '../../lib/repo/release.js';
import { repositoryStatus } from '../../lib/repo/status.js';
import { archiveOf, writeArchive } from '../support/import-archive.js';
import { memorySigner } from '../support/memory-signer.js';

let work: string;
let repoDir: string;
let staging: string;
let archive: string;
let importsDir: string;
let signers: ReleaseSigners;
const now = new Date();

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'airlock-status-imports-'));
  repoDir = join(work, 'repository');
  staging = join(work, 'staging');
  archive = join(work, 'archive');
  importsDir = join(work, 'imports');
  signers = { targets: memorySigner('targets'), snapshot: memorySigner('snapshot'), timestamp: memorySigner('timestamp') };
  await initRepository(repoDir, staging, { root: [memorySigner('root')], rootThreshold: 1, ...signers }, { now, expiryDays: DEFAULT_EXPIRY_DAYS, name: 'Status' });
  await writeArchive(archive, archiveOf(2, 3, 2));
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function options(extra: Partial<ImportOptions> = {}): Promise<ImportOptions> {
  return { now, expiryDays: DEFAULT_EXPIRY_DAYS, hashBins: { afterTargets: 8, layout: { bitLength: 4, namePrefix: 'bins' } }, batchTargets: 2, compat: 'tuf', name: 'Status', journal: await importJournalPath(importsDir, archive), ...extra };
}

const status = () => repositoryStatus(repoDir, now, 3, { importsDir });
const all = ['proj0/1.0.0', 'proj0/1.1.0', 'proj0/1.2.0', 'proj1/1.0.0', 'proj1/1.1.0', 'proj1/1.2.0'];

describe('status during an unfinished import', () => {
  it('names no release an import moved in and has not signed, and reports the import until it is finished', async () => {
    // A directory made by hand, outside the import's range, is never a release: nothing signed lists it.
    await mkdir(join(repoDir, 'releases', 'other', '2.0'), { recursive: true });
    await writeFile(join(repoDir, 'releases', 'other', '2.0', 'a.txt'), 'a');
    await expect(importArchive(repoDir, staging, archive, signers, await options({ onBatch: (e) => { if (e.batch === 2) throw new Error('interrupted'); } }))).rejects.toThrow('interrupted');
    const during = await status();
    expect(during.targets).toBe(0);
    expect(during.releases).toEqual([]);
    expect(during.unsignedReleaseDirectories).toEqual(['other/2.0']);
    expect(during.unfinishedImports).toEqual([{ source: (await options()).journal.source, movedThrough: { project: 'proj0', version: '1.1.0' }, unsignedTargets: 4, archiveFound: true }]);

    // Without its archive, status cannot tell the import's releases from others in its range: it names none of them.
    await rm(`${archive}.away`, { recursive: true, force: true });
    await rename(archive, `${archive}.away`);
    expect((await status()).releases).toEqual([]);
    await rename(`${archive}.away`, archive);

    await importArchive(repoDir, staging, archive, signers, await options());
    const after = await status();
    expect(after.targets).toBe(12);
    expect(after.releases).toEqual(all);
    expect(after.unsignedReleaseDirectories).toEqual(['other/2.0']);
    expect(after.unfinishedImports).toEqual([]);
  });

  it('an import stopped before its signing commit holds every release it moved; one whose commit landed holds none', async () => {
    const opts = await options();
    await expect(importArchive(repoDir, staging, archive, signers, { ...opts, onSigning: () => { throw new Error('stop'); } })).rejects.toThrow('stop');
    const journal = (await readImportJournal(opts.journal.path, opts.journal.source)) as ImportJournal;
    const during = await status();
    expect(during.releases).toEqual([]);
    expect(during.unfinishedImports).toMatchObject([{ movedThrough: { project: 'proj1', version: '1.2.0' }, unsignedTargets: 12 }]);
    await importArchive(repoDir, staging, archive, signers, opts);
    // As if the process died after the signing commit, before the journal's last write: the metadata says it landed.
    await writeImportJournal(opts.journal.path, { ...journal, signing: true });
    const landed = await status();
    expect(landed.releases).toEqual(all);
    expect(landed.unfinishedImports).toEqual([]);
  });

  it('a damaged import journal is refused, not guessed around (E_IMPORT_JOURNAL)', async () => {
    await mkdir(importsDir, { recursive: true });
    await writeFile(join(importsDir, '0123456789abcdef.json'), '{"formatVersion":2');
    await expect(status()).rejects.toMatchObject({ code: 'E_IMPORT_JOURNAL' });
  });
});
