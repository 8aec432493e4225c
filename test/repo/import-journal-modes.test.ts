// What an import keeps under $AIRLOCK_HOME/imports is private (security review): the
// journal and its spill are 0600 files in 0700 directories, looked at mid-import (after
// a batch is staged, before the signing commit) and once the import is done, under a
// umask that would leave them readable by everyone.
import { readdir, rm, stat } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { importArchive } from '../../lib/repo/import.js';
import { importJournalPath } from '../../lib/repo/import-journal.js';
import { spillDirFor } from '../../lib/repo/import-spill.js';
import { initRepository } from '../../lib/repo/init-repository.js';
import { archiveOf, writeArchive } from '../support/import-archive.js';
import { memorySigner } from '../support/memory-signer.js';

let work: string;
let previousUmask: number;

beforeAll(async () => {
  previousUmask = process.umask(0o022);
  work = await mkdtemp(join(tmpdir(), 'airlock-import-modes-'));
});

afterAll(async () => {
  process.umask(previousUmask);
  await rm(work, { recursive: true, force: true });
});

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

describe('the import journal and spill', () => {
  it('are 0600 files in 0700 directories, mid-import and after', async () => {
    const repoDir = join(work, 'repository');
    const staging = join(work, 'staging');
    const archive = join(work, 'archive');
    const imports = join(work, 'home', 'imports');
    const signers = { targets: memorySigner('targets'), snapshot: memorySigner('snapshot'), timestamp: memorySigner('timestamp') };
    await initRepository(repoDir, staging, { root: [memorySigner('root')], rootThreshold: 1, ...signers }, { now: new Date(), expiryDays: DEFAULT_EXPIRY_DAYS, name: 'Modes' });
    await writeArchive(archive, archiveOf(2, 2, 2));
    const journal = await importJournalPath(imports, archive);
    const spill = spillDirFor(journal.path);
    const seen: Record<string, number> = {};
    const look = async (when: string): Promise<void> => {
      seen[`${when} imports/`] = await modeOf(imports);
      seen[`${when} journal`] = await modeOf(journal.path);
      seen[`${when} spill/`] = await modeOf(spill);
      const files = await readdir(spill);
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) seen[`${when} spill file`] = Math.max(seen[`${when} spill file`] ?? 0, await modeOf(join(spill, f)));
    };
    const r = await importArchive(repoDir, staging, archive, signers, {
      now: new Date(), expiryDays: DEFAULT_EXPIRY_DAYS, batchTargets: 2, compat: 'tuf', name: 'Modes', journal,
      onBatch: () => look('batch'),
      onSigning: () => look('signing'),
    });
    expect(r.signedTargets).toBe(8);
    expect(seen).toEqual({
      'batch imports/': 0o700, 'batch journal': 0o600, 'batch spill/': 0o700, 'batch spill file': 0o600,
      'signing imports/': 0o700, 'signing journal': 0o600, 'signing spill/': 0o700, 'signing spill file': 0o600,
    });
    expect(await modeOf(journal.path)).toBe(0o600);
  });
});
