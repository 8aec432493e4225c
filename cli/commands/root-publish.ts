// `airlock root publish FILE…`: makes a signed root proposal the repository's root once
// the thresholds of the old and the new root have signed it (signed copies from holders
// who signed in parallel are merged). Writes metadata/N+1.root.json, makes keys/root.json
// the new root, re-signs targets/snapshot/timestamp with their new keys when root changed
// them, and publishes. The keystore passphrase is asked only when keys are needed.
import { keystoreDirFor } from '../../lib/keys/location.js';
import { readPassphrase } from '../../lib/keys/passphrase.js';
import { publishRoot } from '../../lib/repo/root-ceremony.js';
import { terminalPaths } from '../../lib/terminal/home.js';
import { hostNeedsKey, refuseStaleCopy } from '../../lib/terminal/observe-hosts.js';
import { listKeystore, observeTerminal } from '../../lib/terminal/observe.js';
import { localTimestamp } from '../../lib/terminal/plan.js';
import { planRootPublish } from '../../lib/terminal/plan-rotation.js';
import { SigningSession } from '../../lib/terminal/session.js';
import { emit, note } from '../run.js';
import { loadProposal } from '../root-proposals.js';
import { describeReports, exitCodeFor, hostsFor, publishTo, type PublishingOptions } from '../publishing.js';

export interface RootPublishOptions extends PublishingOptions {
  keystore?: string;
  passphraseFd?: number;
}

export async function rootPublish(files: string[], opts: RootPublishOptions): Promise<number> {
  const paths = terminalPaths();
  const { config, state } = await observeTerminal(paths);
  const now = new Date();
  const { proposal } = await loadProposal(files, undefined);
  const keystore = await listKeystore(keystoreDirFor(opts));
  const hosts = await hostsFor(paths, opts);
  const plan = planRootPublish({ state, proposal, keystore, hosts, now });
  // A host ahead of this copy refuses the change before a passphrase is read.
  await refuseStaleCopy(localTimestamp(state), hosts, undefined);
  for (const w of plan.warnings) note(w);
  // The keystore passphrase is asked only when keys are needed.
  const session = await SigningSession.open(plan.keys, (dir) => readPassphrase({ fd: opts.passphraseFd }, `Passphrase for ${dir}: `), new Map([[keystore.dir, keystore.keystore]]));
  try {
    if (hosts.some(hostNeedsKey)) await refuseStaleCopy(localTimestamp(state), hosts, session.required('publish'));
    const result = await publishRoot(paths.repository, paths.staging, proposal, session.online(), { now, expiryDays: config.expiryDays });
    const reports = await publishTo(paths, hosts, session.signer('publish'), opts);
    emit(opts, { ok: reports.every((r) => r.ok), ...result, warnings: plan.warnings, hosts: reports }, () => [
      `root v${result.version} is the repository's root`,
      ...Object.entries(result.resigned).map(([role, v]) => `  re-signed ${role} as v${v} with its new key${result.transition.includes(role as never) ? ' (co-signed by the outgoing key)' : ''}`),
      `new root fingerprint (keys/root.json): ${result.rootFingerprint}`,
      '  clients that trust an older root follow to it by themselves; publish this fingerprint for new users',
      ...describeReports(reports),
      ...(hosts.length === 0 ? ['not published (--no-publish): run `airlock refresh` or a release with --to to publish'] : []),
    ]);
    return exitCodeFor(reports);
  } finally {
    await session.close();
  }
}
