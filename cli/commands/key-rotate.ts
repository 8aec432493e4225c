// `airlock key rotate ROLE` (targets, snapshot, timestamp): a new key for ROLE in the
// terminal keystore, a new root listing it instead of the old key, signed here by the
// root keys in the terminal keystore and in each --root-keystore (at least the root
// threshold), and the role's metadata re-signed with the new key — co-signed by the
// outgoing key so clients still on the old root accept every state a host passes
// through; then published. For root keys held by people on other devices, use the
// ceremony instead: `airlock root propose --rotate ROLE`, `airlock root sign`,
// `airlock root publish`.
import { EXIT } from '../../lib/core/errors.js';
import { keyTypeForRole } from '../../lib/keys/key-type-choice.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import { rotateKey } from '../../lib/repo/rotation.js';
import { terminalPaths } from '../../lib/terminal/home.js';
import { hostNeedsKey, refuseStaleCopy } from '../../lib/terminal/observe-hosts.js';
import { listKeystore, observeTerminal } from '../../lib/terminal/observe.js';
import { describeKeys, localTimestamp } from '../../lib/terminal/plan.js';
import { planRotation } from '../../lib/terminal/plan-rotation.js';
import { SigningSession } from '../../lib/terminal/session.js';
import { emit, note } from '../run.js';
import { readKeystorePassphrases, wipeAll, type KeystorePassphraseOptions } from '../keystore-passphrases.js';
import { describeReports, exitCodeFor, hostsFor, publishTo, type PublishingOptions } from '../publishing.js';

export interface KeyRotateOptions extends KeystorePassphraseOptions, PublishingOptions {
  keystore?: string;
  dryRun?: boolean;
  keyType?: string;
}

export async function keyRotate(role: string, opts: KeyRotateOptions): Promise<number> {
  const paths = terminalPaths();
  const { config, state } = await observeTerminal(paths);
  const main = await listKeystore(keystoreDirFor(opts));
  const rootKeystores = await Promise.all((opts.rootKeystore ?? []).map((d) => listKeystore(d)));
  const hosts = await hostsFor(paths, opts);
  // Enough root keys at hand, every online key, the hosts: checked before a passphrase or a new key.
  const plan = planRotation({ state, role, keystore: main, rootKeystores, hosts });
  const keyType = keyTypeForRole(plan.role, opts.keyType);
  // A host ahead of this copy refuses the rotation before a passphrase is read or a key made.
  const seen = await refuseStaleCopy(localTimestamp(state), hosts, undefined);
  for (const w of plan.warnings) note(w);
  if (opts.dryRun) {
    emit(opts, { ok: true, dryRun: true, plan, hostsSeen: seen }, () => [
      `would rotate the ${plan.role} key: root v${plan.rootVersion} lists a new key (generated in ${plan.newKeyIn}) instead of ${plan.oldKeyIds.map((k) => k.slice(0, 16)).join(', ')}`,
      'keys to unlock:',
      ...describeKeys(plan.keys),
      'files, in publishing order:',
      ...plan.files.map((f) => `  ${f}`),
      `hosts: ${plan.hosts.length ? plan.hosts.map((h) => h.name).join(', ') : 'none (--no-publish)'}`,
    ]);
    return EXIT.ok;
  }

  const passphrases = await readKeystorePassphrases(main.dir, opts);
  const byDir = new Map([[main.dir, passphrases.main!], ...rootKeystores.map((l, i) => [l.dir, passphrases.roots[i]!.passphrase] as const)]);
  const keystores = new Map([main, ...rootKeystores].map((l) => [l.dir, l.keystore]));
  let session: SigningSession | undefined;
  try {
    session = await SigningSession.open(plan.keys, async (dir) => byDir.get(dir)!, keystores, { keepPassphrases: true });
    if (hosts.some(hostNeedsKey)) await refuseStaleCopy(localTimestamp(state), hosts, session.required('publish'));
    // The passphrase opened the keys above, so the new key is sealed under the one the user
    // meant. It is written to the keystore by its first signature, which the transaction
    // makes only once every check passed: a refused rotation leaves no orphan key.
    const newKey = await main.keystore.prepare(plan.role, passphrases.main!, keyType);
    session.adopt(newKey);
    const result = await rotateKey(paths.repository, paths.staging, {
      role: plan.role,
      newKey,
      rootSigners: session.signers('root'),
      online: { ...session.online(), [plan.role]: session.signers(plan.role).filter((s) => s.keyId !== newKey.keyId) },
      now: new Date(),
      expiryDays: config.expiryDays,
    });
    const reports = await publishTo(paths, hosts, session.signer('publish'), opts);
    emit(opts, { ok: reports.every((r) => r.ok), ...result, warnings: plan.warnings, hosts: reports }, () => [
      `rotated the ${plan.role} key: root v${result.version} trusts ${result.newKeyId} only`,
      `  signatures by ${result.oldKeyIds.join(', ')} no longer count for clients that have root v${result.version}`,
      ...Object.entries(result.resigned).map(([r, v]) => `  re-signed ${r} as v${v}${result.transition.includes(r as never) ? ' (co-signed by the outgoing key for clients still on the old root)' : ''}`),
      `new root fingerprint (keys/root.json): ${result.rootFingerprint}`,
      ...describeReports(reports),
    ]);
    return exitCodeFor(reports);
  } finally {
    await session?.close();
    wipeAll(passphrases);
  }
}
