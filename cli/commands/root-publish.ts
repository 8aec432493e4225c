// `airlock root publish FILE…`: makes a signed root proposal the repository's root once
// the thresholds of the old and the new root have signed it (signed copies from holders
// who signed in parallel are merged). Writes metadata/N+1.root.json, makes keys/root.json
// the new root, re-signs targets/snapshot/timestamp with their new keys when root changed
// them, and publishes. The keystore passphrase is asked only when keys are needed.
import { Keystore } from '../../lib/keys/keystore.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import { readPassphrase } from '../../lib/keys/passphrase.js';
import type { Signer } from '../../lib/keys/signer.js';
import { LocalRepository } from '../../lib/repo/local-repository.js';
import { withDependents, type RoleSigners } from '../../lib/repo/transaction.js';
import { closeSigners, unlockListed, unlockPublishKey } from '../../lib/terminal/keys.js';
import { assertRootPublishable, publishRoot, rolesNeedingResign } from '../../lib/repo/root-ceremony.js';
import { readConfig, terminalPaths } from '../../lib/terminal/home.js';
import { emit } from '../run.js';
import { loadProposal } from './root-show.js';
import { describeReports, exitCodeFor, hostsFor, needsPublishKey, publishTo, type PublishingOptions } from '../publishing.js';

export interface RootPublishOptions extends PublishingOptions {
  keystore?: string;
  passphraseFd?: number;
}

export async function rootPublish(files: string[], opts: RootPublishOptions): Promise<number> {
  const paths = terminalPaths();
  const config = await readConfig(paths);
  const now = new Date();
  const { proposal } = await loadProposal(files, undefined);
  const current = await new LocalRepository(paths.repository).current();
  // Refused here, before any passphrase, when a threshold is not met.
  assertRootPublishable(current.root.signed, proposal, now);
  const resign = withDependents(rolesNeedingResign(current, proposal.signed));
  const hosts = await hostsFor(paths, opts);

  const online: RoleSigners = {};
  let publishSigner: Signer | undefined;
  const unlocked: Signer[] = [];
  try {
    if (resign.length > 0 || needsPublishKey(hosts)) {
      const keystore = await Keystore.open(keystoreDirFor(opts));
      const passphrase = await readPassphrase({ fd: opts.passphraseFd }, `Passphrase for ${keystore.dir}: `);
      try {
        // The keys the NEW root lists: after a rotation the keystore may hold the retired key too.
        for (const role of resign) unlocked.push(...(online[role] = await unlockListed(keystore, proposal.signed, role, passphrase)));
        if (needsPublishKey(hosts)) unlocked.push((publishSigner = await unlockPublishKey(keystore, passphrase)));
      } finally {
        passphrase.wipe();
      }
    }
    const result = await publishRoot(paths.repository, paths.staging, proposal, online, { now, expiryDays: config.expiryDays });
    const reports = await publishTo(paths, hosts, publishSigner, opts);
    emit(opts, { ok: reports.every((r) => r.ok), ...result, hosts: reports }, () => [
      `root v${result.version} is the repository's root`,
      ...Object.entries(result.resigned).map(([role, v]) => `  re-signed ${role} as v${v} with its new key`),
      `new root fingerprint (keys/root.json): ${result.rootFingerprint}`,
      '  clients that trust an older root follow to it by themselves; publish this fingerprint for new users',
      ...describeReports(reports),
      ...(hosts.length === 0 ? ['not published (--no-publish): run `airlock refresh` or a release with --to to publish'] : []),
    ]);
    return exitCodeFor(reports);
  } finally {
    await closeSigners(unlocked);
  }
}
