// What status counts as a release (security review): a releases/PROJECT/VERSION/ directory
// counts only when the signed metadata lists a target under it — one made by hand, empty
// or holding files nothing signed, is reported apart (unsignedReleaseDirectories). The
// releases the bins list come from .airlock-bins (bin-summary.ts), kept by each commit,
// made again from every bin when missing, from an older airlock, or not for these bins.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN_SUMMARY_FILE } from '../../lib/repo/bin-summary.js';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { importArchive } from '../../lib/repo/import.js';
import { importJournalPath } from '../../lib/repo/import-journal.js';
import { initRepository } from '../../lib/repo/init-repository.js';
import { repositoryStatus } from '../../lib/repo/status.js';
import { archiveOf, writeArchive } from '../support/import-archive.js';
import { memorySigner } from '../support/memory-signer.js';

const signers = { targets: memorySigner('targets'), snapshot: memorySigner('snapshot'), timestamp: memorySigner('timestamp') };
const now = new Date();
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'airlock-status-releases-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function repository(name: string, hashBins?: { afterTargets: number; layout: { bitLength: number; namePrefix: string }; maxBinBytes?: number }): Promise<{ repoDir: string; importInto: (archive: string, specs: Parameters<typeof writeArchive>[1]) => Promise<void> }> {
  const repoDir = join(work, name, 'repository');
  const staging = join(work, name, 'staging');
  await initRepository(repoDir, staging, { root: [memorySigner('root')], rootThreshold: 1, ...signers }, { now, expiryDays: DEFAULT_EXPIRY_DAYS, name: 'Releases' });
  const importInto = async (archive: string, specs: Parameters<typeof writeArchive>[1]): Promise<void> => {
    await writeArchive(archive, specs);
    const journal = await importJournalPath(join(work, name, 'imports'), archive);
    await importArchive(repoDir, staging, archive, signers, { now, expiryDays: DEFAULT_EXPIRY_DAYS, batchTargets: 100, compat: 'tuf', name: 'Releases', journal, ...(hashBins ? { hashBins } : {}) });
  };
  return { repoDir, importInto };
}

const status = (repoDir: string) => repositoryStatus(repoDir, now, 30);
const summaryFile = async (repoDir: string) => JSON.parse(await readFile(join(repoDir, BIN_SUMMARY_FILE), 'utf8')) as { bins: Record<string, unknown>; releases?: { bins: string; names: string[] } };

describe('status counts a release only when the signed metadata lists it', () => {
  it('with hash bins: hand-made directories are reported apart, from the summary, without it, from an older airlock, and after a later import', async () => {
    const { repoDir, importInto } = await repository('bins', { afterTargets: 4, layout: { bitLength: 3, namePrefix: 'bins' } });
    await importInto(join(work, 'archive-a'), archiveOf(2, 3, 2));
    const signed = ['proj0/1.0.0', 'proj0/1.1.0', 'proj0/1.2.0', 'proj1/1.0.0', 'proj1/1.1.0', 'proj1/1.2.0'];
    expect(await status(repoDir)).toMatchObject({ targets: 12, releases: signed, unsignedReleaseDirectories: [] });
    // The commit that signed every bin recorded their releases.
    expect((await summaryFile(repoDir)).releases?.names).toEqual(signed);

    await mkdir(join(repoDir, 'releases', 'proj0', '9.9.9'));
    await mkdir(join(repoDir, 'releases', 'handmade', '1.0'), { recursive: true });
    await writeFile(join(repoDir, 'releases', 'handmade', '1.0', 'evil.tar.gz'), 'not signed\n');
    const expected = { targets: 12, releases: signed, unsignedReleaseDirectories: ['handmade/1.0', 'proj0/9.9.9'] };
    expect(await status(repoDir)).toMatchObject(expected);

    // Without the summary: every bin read, the releases made again.
    await rm(join(repoDir, BIN_SUMMARY_FILE));
    expect(await status(repoDir)).toMatchObject(expected);
    expect((await summaryFile(repoDir)).releases?.names).toEqual(signed);

    // An older airlock's file (no releases), and one whose releases are not for these bins.
    const file = await summaryFile(repoDir);
    await writeFile(join(repoDir, BIN_SUMMARY_FILE), JSON.stringify({ format: 'airlock-bins 1', bins: file.bins }));
    expect(await status(repoDir)).toMatchObject(expected);
    await writeFile(join(repoDir, BIN_SUMMARY_FILE), JSON.stringify({ format: 'airlock-bins 1', bins: file.bins, releases: { bins: '0'.repeat(64), names: [...signed, 'handmade/1.0', 'proj0/9.9.9'] } }));
    expect(await status(repoDir)).toMatchObject(expected);

    // A later import re-signs some bins only: the file's releases grow by its releases.
    await importInto(join(work, 'archive-b'), [{ project: 'proj2', version: '2.0', files: { 'x.txt': 'x\n' } }]);
    expect((await summaryFile(repoDir)).releases?.names).toEqual([...signed, 'proj2/2.0'].sort());
    expect(await status(repoDir)).toMatchObject({ targets: 13, releases: [...signed, 'proj2/2.0'].sort(), unsignedReleaseDirectories: ['handmade/1.0', 'proj0/9.9.9'] });
  });

  it('across a re-binning: the commit that moves every target into new bins records every release', async () => {
    const { repoDir, importInto } = await repository('rebin', { afterTargets: 2, layout: { bitLength: 1, namePrefix: 'bins' }, maxBinBytes: 2500 });
    const names: string[] = [];
    const prefixes = new Set<string>();
    for (let round = 0; round < 4; round++) {
      const specs = archiveOf(2, 2, 2).map((r) => ({ ...r, project: `r${round}-${r.project}` }));
      await importInto(join(work, `archive-rebin-${round}`), specs);
      names.push(...specs.map((r) => `${r.project}/${r.version}`));
      const file = await summaryFile(repoDir);
      for (const role of Object.keys(file.bins)) prefixes.add(role.slice(0, role.lastIndexOf('-')));
      // Recorded by the commit itself: status has no bin to read for them.
      expect(file.releases?.names).toEqual([...names].sort());
      expect(await status(repoDir)).toMatchObject({ releases: [...names].sort(), unsignedReleaseDirectories: [] });
    }
    expect(prefixes.size).toBeGreaterThan(1); // it did re-bin
  });

  it('without hash bins: from targets.json', async () => {
    const { repoDir, importInto } = await repository('flat');
    await importInto(join(work, 'archive-c'), archiveOf(1, 2, 1));
    await mkdir(join(repoDir, 'releases', 'proj0', '0.0.1'));
    expect(await status(repoDir)).toMatchObject({ targets: 2, releases: ['proj0/1.0.0', 'proj0/1.1.0'], unsignedReleaseDirectories: ['proj0/0.0.1'] });
  });
});
