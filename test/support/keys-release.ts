// `airlock init` and `airlock release` (after the build) over a keystore, as the CLI signs:
// Keystore.unlock with the keystore passphrase (a token key takes its PIN from
// AIRLOCK_PIN_FILE), the release signers chosen by what root lists. For the tests that
// put keys somewhere else than the default (tokens, other key types) and check the result
// with real verifiers.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { signProvenance } from '../../lib/builder/index.js';
import { BUILDER_RELEASE, buildStatement } from '../../lib/builder/provenance.js';
import type { Keystore } from '../../lib/keys/keystore.js';
import type { KeyRole, Signer } from '../../lib/keys/signer.js';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { initRepository } from '../../lib/repo/init-repository.js';
import { LocalRepository } from '../../lib/repo/local-repository.js';
import { releaseToRepository } from '../../lib/repo/release.js';
import { closeSigners, unlockListed } from '../../lib/terminal/keys.js';
import { testPassphrase } from './keys-fixtures.js';

/** `keystore.unlock(role, passphrase)` exactly as the CLI calls it: no PIN source given. */
export async function unlockByRole(keystore: Keystore, roles: readonly KeyRole[]): Promise<Record<string, Signer & { close(): Promise<void> }>> {
  const out: Record<string, Signer & { close(): Promise<void> }> = {};
  const pass = testPassphrase();
  try {
    for (const role of roles) out[role] = await keystore.unlock(role, pass);
  } catch (err) {
    await closeSigners(Object.values(out));
    throw err;
  } finally {
    pass.wipe();
  }
  return out;
}

export interface TestRelease {
  keystore: Keystore;
  repoDir: string;
  staging: string;
  project: string;
  version: string;
  artifacts: { name: string; path: string }[];
  name: string;
}

/** Repository version 1, signed by the keystore's one key of each role. */
export async function initWithKeystore(r: Pick<TestRelease, 'keystore' | 'repoDir' | 'staging' | 'name'>): Promise<void> {
  const init = await unlockByRole(r.keystore, ['root', 'targets', 'snapshot', 'timestamp', 'pgp', 'minisign']);
  try {
    const s = init as Record<'root' | 'targets' | 'snapshot' | 'timestamp' | 'pgp' | 'minisign', Signer>;
    await initRepository(r.repoDir, r.staging, { root: [s.root], rootThreshold: 1, targets: s.targets, snapshot: s.snapshot, timestamp: s.timestamp, pgp: s.pgp, minisign: s.minisign }, {
      now: new Date(),
      expiryDays: DEFAULT_EXPIRY_DAYS,
      name: r.name,
    });
  } finally {
    await closeSigners(Object.values(init));
  }
}

/** A release of `artifacts` with its signed provenance, signed by the keys root lists. */
export async function releaseWithKeystore(r: TestRelease): Promise<void> {
  const root = (await new LocalRepository(r.repoDir).current()).root.signed;
  const pass = testPassphrase();
  const held: Signer[] = [];
  try {
    const listed = async (role: 'targets' | 'snapshot' | 'timestamp') => {
      const [signer] = await unlockListed(r.keystore, root, role, pass);
      held.push(signer!);
      return signer!;
    };
    const byRole = async (role: 'pgp' | 'minisign') => {
      const signer = await r.keystore.unlock(role, pass);
      held.push(signer);
      return signer;
    };
    const signers = { targets: await listed('targets'), snapshot: await listed('snapshot'), timestamp: await listed('timestamp'), pgp: await byRole('pgp'), minisign: await byRole('minisign') };
    const digests = await Promise.all(
      r.artifacts.map(async (f) => {
        const b = await readFile(f.path);
        return { name: f.name, digests: { sha256: createHash('sha256').update(b).digest('hex'), sha512: createHash('sha512').update(b).digest('hex') } };
      }),
    );
    const now = new Date();
    const statement = buildStatement({
      builderId: BUILDER_RELEASE,
      builderVersion: 'test',
      repository: join('/src', r.project),
      branch: `release/${r.version}`,
      commit: 'c'.repeat(40),
      releasePattern: 'release/*',
      recipePath: 'airlock.recipe.json',
      recipeSha256: 'd'.repeat(64),
      allowNetwork: false,
      network: 'isolated',
      project: r.project,
      version: r.version,
      sourceDateEpoch: 1768478400,
      lockfiles: [],
      artifacts: digests,
      invocationId: 'keys-release-test',
      startedOn: now,
      finishedOn: now,
    });
    const provenance = await signProvenance(statement, signers.targets);
    await releaseToRepository(
      r.repoDir,
      r.staging,
      { project: r.project, version: r.version, commit: 'c'.repeat(40), branch: `release/${r.version}`, sourceDateEpoch: 1768478400, artifacts: r.artifacts, provenance },
      signers,
      { now, expiryDays: DEFAULT_EXPIRY_DAYS, name: r.name },
    );
  } finally {
    pass.wipe();
    await closeSigners(held);
  }
}
