// `airlock status` as a user sees it, built CLI (security review): an import interrupted
// after moving a batch into the copy, before signing it, gives a WARNING line naming the
// archive to import again (--json: unfinishedImports) and its releases are not named;
// once `airlock import` finishes, they are and the warning is gone. A hash bin deleted
// from the copy makes status exit 3 with E_REPOSITORY_DAMAGED, as every signing command.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { importArchive } from '../../lib/repo/import.js';
import { importJournalPath } from '../../lib/repo/import-journal.js';
import { readConfig, writeConfig } from '../../lib/terminal/config.js';
import { terminalPaths, type TerminalPaths } from '../../lib/terminal/home.js';
import { ensureBuilt, runAirlock } from '../support/e2e-cli.js';
import { archiveOf, writeArchive } from '../support/import-archive.js';
import { TEST_PASSPHRASE } from '../support/keys-fixtures.js';
import { memorySigner } from '../support/memory-signer.js';

let work: string;
let paths: TerminalPaths;
let passFile: string;
let archive: string;
const SLOW = 180_000;

const airlock = (args: string[], withPassphrase = false) => runAirlock([...args, ...(withPassphrase ? ['--passphrase-fd', '3'] : [])], { env: { AIRLOCK_HOME: paths.home }, fds: withPassphrase ? { 3: passFile } : {} });

beforeAll(async () => {
  await ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'airlock-status-import-'));
  paths = terminalPaths(join(work, 'home'));
  await mkdir(paths.home, { recursive: true, mode: 0o700 });
  passFile = join(work, 'pass');
  await writeFile(passFile, `${TEST_PASSPHRASE}\n`, { mode: 0o600 });
  const init = airlock(['init', '--name', 'Status', '--json'], true);
  expect(init.status, init.stderr).toBe(0);
  await writeConfig(paths, { ...(await readConfig(paths)), hashBins: { afterTargets: 4, bitLength: 3 } });
  archive = join(work, 'archive');
  await writeArchive(archive, archiveOf(2, 3, 2));
}, SLOW);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('airlock status', () => {
  it('warns of an import interrupted before signing, names none of its releases, and not once the import is finished', async () => {
    // Interrupted after its first batch moved in: nothing is signed yet, so no key is used.
    const journal = await importJournalPath(join(paths.home, 'imports'), archive);
    const signers = { targets: memorySigner('targets'), snapshot: memorySigner('snapshot'), timestamp: memorySigner('timestamp') };
    await expect(
      importArchive(paths.repository, paths.staging, archive, signers, { now: new Date(), expiryDays: DEFAULT_EXPIRY_DAYS, hashBins: { afterTargets: 4, layout: { bitLength: 3, namePrefix: 'bins' } }, batchTargets: 4, compat: 'tuf', name: 'Status', journal, onBatch: () => { throw new Error('interrupted'); } }),
    ).rejects.toThrow('interrupted');
    expect(await readdir(join(paths.repository, 'releases', 'proj0'))).toContain('1.0.0');

    const human = airlock(['status']);
    expect(human.status, human.stderr).toBe(0);
    const warning = human.stdout.split('\n').filter((l) => l.startsWith('WARNING: an unfinished import'));
    expect(warning).toHaveLength(1);
    expect(warning[0]).toContain(`airlock import ${journal.source}`);
    expect(human.stdout).toContain('0 targets in 0 releases');
    const json = airlock(['status', '--json']);
    expect(json.json).toMatchObject({ ok: true, releases: [], unfinishedImports: [{ source: journal.source, movedThrough: { project: 'proj0', version: '1.1.0' }, unsignedTargets: 4, archiveFound: true }] });

    const finish = airlock(['import', archive, '--json'], true);
    expect(finish.status, finish.stderr).toBe(0);
    const after = airlock(['status', '--json']);
    expect(after.json).toMatchObject({ ok: true, targets: 12, unfinishedImports: [] });
    expect((after.json as { releases: string[] }).releases).toHaveLength(6);
    expect(airlock(['status']).stdout).not.toContain('WARNING: an unfinished import');
  }, SLOW);

  it('exits 3 with E_REPOSITORY_DAMAGED when a bin the snapshot lists is gone', async () => {
    const metadata = join(paths.repository, 'metadata');
    const bins = (await readdir(metadata)).filter((n) => /^\d+\.bins-/.test(n)).sort();
    expect(bins.length).toBeGreaterThan(0);
    await rm(join(metadata, bins[0]!));
    const r = airlock(['status', '--json']);
    expect(r.status, r.stderr).toBe(3);
    expect(r.code).toBe('E_REPOSITORY_DAMAGED');
  }, SLOW);
});
