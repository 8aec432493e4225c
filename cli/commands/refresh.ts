// `airlock refresh`: re-signs the timestamp (and snapshot and targets when they would
// expire before the next refresh is due) and publishes the metadata. Run it at least
// once per timestamp period (7 days by default): past that, every client refuses the
// repository as frozen. --dry-run prints the plan and asks nothing.
import { AirlockError } from '../../lib/core/errors.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import { readPassphrase } from '../../lib/keys/passphrase.js';
import { aptReleasesDue, refreshRepository } from '../../lib/repo/refresh.js';
import { ONLINE_ROLES, type OnlineRole } from '../../lib/repo/transaction.js';
import { terminalPaths } from '../../lib/terminal/home.js';
import { hostNeedsKey, refuseStaleCopy } from '../../lib/terminal/observe-hosts.js';
import { listKeystore, observeTerminalExpiries } from '../../lib/terminal/observe.js';
import { describeKeys } from '../../lib/terminal/plan.js';
import { planRefresh } from '../../lib/terminal/plan-refresh.js';
import { aptSignersOf } from '../../lib/terminal/plan-apt-keys.js';
import { describeAptKeyTransition } from '../../lib/repo/compat/apt-key-transition.js';
import { SigningSession } from '../../lib/terminal/session.js';
import { emit, note } from '../run.js';
import { describeReports, exitCodeFor, hostsFor, publishTo, type PublishingOptions } from '../publishing.js';

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
  const { config, state } = await observeTerminalExpiries(paths);
  const keystore = await listKeystore(keystoreDirFor(opts));
  const hosts = await hostsFor(paths, opts);
  const now = new Date();
  const marginDays = opts.warnDays ?? config.warnDays;
  const apt = await aptReleasesDue(paths.repository);
  const plan = planRefresh({ state, config, keystore, hosts, force: (opts.resign ?? []) as OnlineRole[], marginDays, now, aptSuites: apt.length, aptSignedBy: apt.flatMap((a) => a.signedBy) });
  const rootWarning = plan.rootDue
    ? `root v${state.root.signed.version} expires at ${plan.rootDue.expires}: renew it with the ceremony (airlock root propose -o FILE, root sign, root publish)`
    : undefined;
  // A host ahead of this copy refuses the refresh (and its dry run) before anything is
  // signed: hosts that need no key are read before the passphrase, SFTP hosts once the
  // publish key is open (a dry run opens only that key, as `airlock publish --dry-run` does).
  const passphraseFor = (dir: string, keyIds: string[]) => readPassphrase({ fd: opts.passphraseFd }, `Passphrase for ${dir}: `, { check: keystore.keystore.passphraseCheckFor(keyIds) });
  const seen = await refuseStaleCopy(plan.timestamp, hosts, undefined);
  if (opts.dryRun) {
    if (hosts.some(hostNeedsKey)) {
      const publishKey = await SigningSession.open(plan.keys.filter((k) => k.role === 'publish'), passphraseFor, new Map([[keystore.dir, keystore.keystore]]));
      try {
        seen.push(...(await refuseStaleCopy(plan.timestamp, hosts, publishKey.required('publish'))));
      } finally {
        await publishKey.close();
      }
    }
    emit(opts, { ok: true, dryRun: true, plan, apt, hostsSeen: seen }, () => [
      ...plan.due.map((d) => `would re-sign ${d.role} (${REASONS[d.reason]}; now expires ${d.expires})`),
      ...apt.map((a) => `would re-sign apt ${a.dist} Release (Valid-Until ${a.validUntil?.toISOString() ?? 'none'})`),
      'keys to unlock:',
      ...describeKeys(plan.keys),
      'files, in publishing order:',
      ...plan.files.map((f) => `  ${f}`),
      `hosts: ${plan.hosts.length ? plan.hosts.map((h) => h.name).join(', ') : 'none (--no-publish)'}`,
      ...seen.map((o) => `  ${o.host}: timestamp ${o.timestamp ? `v${o.timestamp.version}` : 'none yet'}, this copy v${plan.timestamp.version}`),
      ...(rootWarning ? [rootWarning] : []),
      ...(plan.aptKeys ? describeAptKeyTransition(plan.aptKeys) : []),
    ]);
    return 0;
  }
  const session = await SigningSession.open(plan.keys, passphraseFor, new Map([[keystore.dir, keystore.keystore]]));
  try {
    if (hosts.some(hostNeedsKey)) await refuseStaleCopy(plan.timestamp, hosts, session.required('publish'));
    const aptPgp = apt.length > 0 ? aptSignersOf(session.signers('pgp'), plan.aptKeys) : undefined;
    const result = await refreshRepository(paths.repository, paths.staging, session.online(), { now, expiryDays: config.expiryDays, marginDays, force: plan.due.filter((d) => d.reason === 'forced').map((d) => d.role as OnlineRole), ...(aptPgp ? { aptPgp } : {}) });
    if (rootWarning && !opts.json) note(`warning: ${rootWarning}`);
    if (plan.aptKeys && !opts.json) for (const line of describeAptKeyTransition(plan.aptKeys)) note(line);
    const reports = await publishTo(paths, hosts, session.signer('publish'), opts);
    emit(opts, { ok: reports.every((r) => r.ok), ...(plan.aptKeys ? { aptKeys: plan.aptKeys } : {}), plan: result.plan, versions: result.versions, expires: result.expires, files: result.files, hosts: reports }, () => [
      ...result.plan.resign.map((r) => `re-signed ${r} as v${result.versions[r]}, valid until ${result.expires[r]}`),
      ...describeReports(reports),
    ]);
    return exitCodeFor(reports);
  } finally {
    await session.close();
  }
}
