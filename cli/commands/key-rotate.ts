// `airlock key rotate ROLE` (targets, snapshot, timestamp): a new key for ROLE in the
// terminal keystore, a new root listing it instead of the old key, signed here by the
// root keys in the terminal keystore and in each --root-keystore (at least the root
// threshold), and the role's metadata re-signed with the new key; then published. For
// root keys held by people on other devices, use the ceremony instead:
// `airlock root propose --rotate ROLE`, `airlock root sign`, `airlock root publish`.
import { AirlockError } from '../../lib/core/errors.js';
import { keyTypeForRole } from '../../lib/keys/key-type-choice.js';
import { Keystore } from '../../lib/keys/keystore.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import type { Signer } from '../../lib/keys/signer.js';
import { LocalRepository } from '../../lib/repo/local-repository.js';
import { ONLINE_ROLES, withDependents, type OnlineRole, type OnlineSigners } from '../../lib/repo/resign.js';
import { closeSigners, unlockListed, unlockPublishKey } from '../../lib/repo/role-keys.js';
import { assertCanRotate, rotateKey } from '../../lib/repo/rotation.js';
import { readConfig, terminalPaths } from '../../lib/repo/terminal-home.js';
import { emit } from '../run.js';
import { readKeystorePassphrases, wipeAll, type KeystorePassphraseOptions } from './root-keystores.js';
import { describeReports, exitCodeFor, hostsFor, needsPublishKey, publishTo, type PublishingOptions } from '../publishing.js';

export interface KeyRotateOptions extends KeystorePassphraseOptions, PublishingOptions {
  keystore?: string;
  keyType?: string;
}

export async function keyRotate(role: string, opts: KeyRotateOptions): Promise<number> {
  if (!(ONLINE_ROLES as readonly string[]).includes(role)) {
    throw new AirlockError('E_USAGE', `key rotate takes targets, snapshot or timestamp; root keys change through the ceremony (airlock root propose --add-key/--remove-key)`);
  }
  const rotating = role as OnlineRole;
  const keyType = keyTypeForRole(rotating, opts.keyType);
  const paths = terminalPaths();
  const config = await readConfig(paths);
  const root = (await new LocalRepository(paths.repository).current()).root.signed;
  const main = await Keystore.open(keystoreDirFor(opts));
  const rootKeystores = await Promise.all((opts.rootKeystore ?? []).map((d) => Keystore.open(d)));
  const hosts = await hostsFor(paths, opts);

  const passphrases = await readKeystorePassphrases(main.dir, opts);
  const unlocked: Signer[] = [];
  try {
    const mainPass = passphrases.main!;
    const rootSigners: Signer[] = [];
    const seen = new Set([main.dir]);
    rootSigners.push(...(await unlockListed(main, root, 'root', mainPass)));
    for (const [i, ks] of rootKeystores.entries()) {
      if (seen.has(ks.dir)) continue;
      seen.add(ks.dir);
      rootSigners.push(...(await unlockListed(ks, root, 'root', passphrases.roots[i]!.passphrase)));
    }
    unlocked.push(...rootSigners);
    // Enough root keys at hand? Checked before the new key is generated.
    await assertCanRotate(paths.repository, rootSigners);
    const online: OnlineSigners = {};
    for (const r of withDependents([rotating])) {
      if (r !== rotating) unlocked.push(...(online[r] = await unlockListed(main, root, r, mainPass)));
    }
    const publishSigner = needsPublishKey(hosts) ? await unlockPublishKey(main, mainPass) : undefined;
    if (publishSigner) unlocked.push(publishSigner);

    const info = await main.generate(rotating, mainPass, keyType);
    const newKey = await main.unlock(info.keyId, mainPass);
    unlocked.push(newKey);
    const result = await rotateKey(paths.repository, paths.staging, { role: rotating, newKey, rootSigners, online, now: new Date(), expiryDays: config.expiryDays });
    const reports = await publishTo(paths, hosts, publishSigner, opts);
    emit(opts, { ok: reports.every((r) => r.ok), ...result, hosts: reports }, () => [
      `rotated the ${rotating} key: root v${result.version} trusts ${result.newKeyId} only`,
      `  signatures by ${result.oldKeyIds.join(', ')} no longer count for clients that have root v${result.version}`,
      ...Object.entries(result.resigned).map(([r, v]) => `  re-signed ${r} as v${v}`),
      `new root fingerprint (keys/root.json): ${result.rootFingerprint}`,
      ...describeReports(reports),
    ]);
    return exitCodeFor(reports);
  } finally {
    await closeSigners(unlocked);
    wipeAll(passphrases);
  }
}
