// A publish plans from the terminal's own copy and compares its timestamp with the host's
// (E_PUBLISH_STALE when the host is ahead): both read the copy through lib/core's one
// reader of it (local-copy-file.ts). A local timestamp.json that is not the metadata
// airlock writes was taken as "no timestamp", and the host-ahead check skipped — a plan
// to upload it over a host that is ahead; a timestamp.json linked to /dev/zero, or a
// manifest that is a FIFO, hung the plan. Each is E_REPOSITORY_DAMAGED now, before
// anything is planned, and the host is left as it was.
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { TargetFileInfo } from '../../lib/core/tuf-metadata.js';
import { DirectoryTransport } from '../../lib/publish/directory-transport.js';
import { planPublish } from '../../lib/publish/index.js';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { initRepository } from '../../lib/repo/init-repository.js';
import { RepositoryTransaction } from '../../lib/repo/transaction.js';
import { expectCode } from '../support/error-codes.js';
import { memorySigner } from '../support/memory-signer.js';

const keys = { root: [memorySigner('root')], rootThreshold: 1, targets: memorySigner('targets'), snapshot: memorySigner('snapshot'), timestamp: memorySigner('timestamp') };
const now = new Date();
let work: string;
/** The copy of a terminal that has not released since; `ahead`: another terminal's copy, one release further. */
let behind: string;
let ahead: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'airlock-plan-local-'));
  behind = join(work, 'behind');
  await initRepository(behind, join(work, 'staging'), keys, { now, expiryDays: DEFAULT_EXPIRY_DAYS, name: 'Local copy' });
  ahead = join(work, 'ahead');
  await cp(behind, ahead, { recursive: true });
  const tx = await RepositoryTransaction.open(ahead, join(work, 'staging'), { now, expiryDays: DEFAULT_EXPIRY_DAYS });
  const info: TargetFileInfo = { length: 1, hashes: { sha256: '1'.padStart(64, '0') } };
  tx.addTargets({ 'p/1.0/f.txt': info });
  await tx.commit({ targets: [keys.targets], snapshot: [keys.snapshot], timestamp: [keys.timestamp] });
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A copy of `behind`, damaged by `damage`, and a host holding `ahead`'s tree. */
async function damagedCopyAndAheadHost(name: string, damage: (copy: string) => Promise<void>): Promise<{ copy: string; host: DirectoryTransport }> {
  const copy = join(work, `copy-${name}`);
  await cp(behind, copy, { recursive: true });
  await damage(copy);
  const hostDir = join(work, `host-${name}`);
  await cp(ahead, hostDir, { recursive: true });
  return { copy, host: await DirectoryTransport.open('test-host', hostDir) };
}

describe('a publish plan and the copy it plans from', () => {
  it('refuses a host ahead of the copy (E_PUBLISH_STALE)', async () => {
    const { copy, host } = await damagedCopyAndAheadHost('sound', async () => {});
    await expectCode(planPublish(copy, host), 'E_PUBLISH_STALE');
  });

  const damages: [string, (copy: string) => Promise<void>][] = [
    ['a local timestamp.json that is no timestamp metadata', (copy) => writeFile(join(copy, 'metadata', 'timestamp.json'), 'not metadata\n')],
    ['a local timestamp.json linked to /dev/zero', async (copy) => {
      await rm(join(copy, 'metadata', 'timestamp.json'));
      await symlink('/dev/zero', join(copy, 'metadata', 'timestamp.json'));
    }],
    ['no local timestamp.json', (copy) => rm(join(copy, 'metadata', 'timestamp.json'))],
    ['metadata/ linked to its own copy outside the copy', async (copy) => {
      await rename(join(copy, 'metadata'), `${copy}-metadata`);
      await symlink(`${copy}-metadata`, join(copy, 'metadata'));
    }],
    ['a manifest that is a FIFO', async (copy) => {
      await rm(join(copy, '.airlock-manifest'));
      execFileSync('mkfifo', [join(copy, '.airlock-manifest')]);
    }],
  ];
  for (const [what, damage] of damages) {
    it(`is refused as damage with ${what} (E_REPOSITORY_DAMAGED), not planned past`, async () => {
      const { copy, host } = await damagedCopyAndAheadHost(what.replace(/\W+/g, '-'), damage);
      await expectCode(planPublish(copy, host), 'E_REPOSITORY_DAMAGED');
    }, 10_000);
  }
});
