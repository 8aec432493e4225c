// `airlock refresh`: re-signs the timestamp (and snapshot and targets when they would
// expire before the next refresh is due) and publishes the metadata. Run it at least
// once per timestamp period (7 days by default): past that, every client refuses the
// repository as frozen. --dry-run prints the plan and asks nothing.
import { AirlockError } from '../../lib/core/errors.js';
import { Keystore } from '../../lib/keys/keystore.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import { readPassphrase } from '../../lib/keys/passphrase.js';
import type { Signer } from '../../lib/keys/signer.js';
import { LocalRepository } from '../../lib/repo/local-repository.js';
import { aptReleasesDue, planRefresh, refreshRepository, type RefreshOptions } from '../../lib/repo/refresh.js';
import { ONLINE_ROLES, type OnlineRole, type OnlineSigners } from '../../lib/repo/resign.js';
import { closeSigners, keysListedBy, unlockListed, unlockNewest, unlockPublishKey } from '../../lib/repo/role-keys.js';
import { readConfig, terminalPaths } from '../../lib/repo/terminal-home.js';
import { emit, note } from '../run.js';
import { describeReports, exitCodeFor, hostsFor, needsPublishKey, publishTo, type PublishingOptions } from '../publishing.js';

const REASONS = { timestamp: 'on every refresh', expiring: 'expires before the next refresh is due', forced: '--resign', dependent: 'points at a re-signed role' } as const;

export interface RefreshCommandOptions extends PublishingOptions {
  resign?: string[];
  warnDays?: number;
  dryRun?: boolean;
  keystore?: string;
  passphraseFd?: number;
}

export async function refresh(opts: RefreshCommandOptions): Promise<number> {
  for (const r of opts.resign ?? []) {
    if (!(ONLINE_ROLES as readonly string[]).includes(r)) throw new AirlockError('E_USAGE', `--resign takes targets, snapshot or timestamp; root is renewed by the ceremony (airlock root propose)`);
  }
  const paths = terminalPaths();
  const config = await readConfig(paths);
  const current = await new LocalRepository(paths.repository).current();
  const options: RefreshOptions = { now: new Date(), expiryDays: config.expiryDays, marginDays: opts.warnDays ?? config.warnDays, force: (opts.resign ?? []) as OnlineRole[] };
  const plan = planRefresh(current, options);
  const apt = await aptReleasesDue(paths.repository);
  const rootWarning = plan.rootDue
    ? `root v${current.root.signed.version} expires at ${plan.rootDue.expires}: renew it with the ceremony (airlock root propose -o FILE, root sign, root publish)`
    : undefined;
  if (opts.dryRun) {
    emit(opts, { ok: true, dryRun: true, plan, apt }, () => [
      ...plan.due.map((d) => `would re-sign ${d.role} (${REASONS[d.reason]}; now expires ${d.expires})`),
      ...apt.map((a) => `would re-sign apt ${a.dist} Release (Valid-Until ${a.validUntil?.toISOString() ?? 'none'})`),
      ...(rootWarning ? [rootWarning] : []),
    ]);
    return 0;
  }
  const hosts = await hostsFor(paths, opts);
  const keystore = await Keystore.open(keystoreDirFor(opts));
  // Public information only: a missing pgp key is found before the passphrase is asked.
  if (apt.length > 0 && !(await keystore.list()).some((k) => k.role === 'pgp')) {
    throw new AirlockError('E_KEY_NOT_FOUND', `${keystore.dir} has no pgp key to re-sign the apt Release; give --keystore with the one that does (airlock key list)`);
  }
  const firstKey = plan.resign[0] === undefined ? [] : (await keysListedBy(keystore, current.root.signed, plan.resign[0])).map((k) => k.keyId);
  const passphrase = await readPassphrase({ fd: opts.passphraseFd }, `Passphrase for ${keystore.dir}: `, { check: keystore.passphraseCheckFor(firstKey) });
  const unlocked: Signer[] = [];
  try {
    const signers: OnlineSigners = {};
    let publishSigner: Signer | undefined;
    let aptPgp: Signer | undefined;
    try {
      for (const role of plan.resign) unlocked.push(...(signers[role] = await unlockListed(keystore, current.root.signed, role, passphrase)));
      if (apt.length > 0) {
        aptPgp = await unlockNewest(keystore, 'pgp', passphrase);
        if (aptPgp) unlocked.push(aptPgp);
      }
      if (needsPublishKey(hosts)) unlocked.push((publishSigner = await unlockPublishKey(keystore, passphrase)));
    } finally {
      passphrase.wipe();
    }
    const result = await refreshRepository(paths.repository, paths.staging, signers, { ...options, ...(aptPgp ? { aptPgp } : {}) });
    if (rootWarning && !opts.json) note(`warning: ${rootWarning}`);
    const reports = await publishTo(paths, hosts, publishSigner, opts);
    emit(opts, { ok: reports.every((r) => r.ok), plan: result.plan, versions: result.versions, expires: result.expires, files: result.files, hosts: reports }, () => [
      ...result.plan.resign.map((r) => `re-signed ${r} as v${result.versions[r]}, valid until ${result.expires[r]}`),
      ...(aptPgp ? apt.map((a) => `re-signed apt ${a.dist} Release, valid until ${result.expires.timestamp ?? ''}`) : []),
      ...describeReports(reports),
    ]);
    return exitCodeFor(reports);
  } finally {
    await closeSigners(unlocked);
  }
}
