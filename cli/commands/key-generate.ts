// `airlock key generate ROLE`: a new key in the keystore (made if missing), sealed
// under a passphrase read from the terminal (asked twice), --passphrase-fd or
// AIRLOCK_PASSPHRASE_FILE. Prints only public information.
import { AirlockError } from '../../lib/core/errors.js';
import { keyTypeForRole } from '../../lib/keys/key-type-choice.js';
import { Keystore } from '../../lib/keys/keystore.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import { readPassphrase } from '../../lib/keys/passphrase.js';
import { KEY_ROLES, type KeyRole } from '../../lib/keys/signer.js';
import { join } from 'node:path';
import { describeKeyIdentity, keyIdentityChange, publishedKeyIds } from '../../lib/repo/compat/key-history.js';
import { terminalPaths } from '../../lib/terminal/home.js';
import { signingKeyIds } from '../../lib/terminal/key-identity.js';
import { emit } from '../run.js';
import { describeKey } from '../key-description.js';

export interface KeyGenerateOptions {
  keystore?: string;
  passphraseFd?: number;
  keyType?: string;
  json?: boolean;
}

/** What the terminal's repository copy publishes under keys/, if this is a terminal home with one. */
async function publishedKeysOfTerminal(): Promise<{ openpgp?: string; minisign?: string } | undefined> {
  try {
    const ids = await publishedKeyIds(join(terminalPaths().repository, 'keys'));
    return ids.openpgp || ids.minisign ? ids : undefined;
  } catch {
    return undefined; // not a terminal home (yet): nothing published to compare with
  }
}

export async function keyGenerate(role: string, opts: KeyGenerateOptions): Promise<void> {
  if (!(KEY_ROLES as readonly string[]).includes(role)) {
    throw new AirlockError('E_USAGE', `unknown role "${role}"; roles are ${KEY_ROLES.join(', ')}`);
  }
  const keyType = keyTypeForRole(role as KeyRole, opts.keyType);
  const keystore = await Keystore.create(keystoreDirFor(opts));
  const passphrase = await readPassphrase({ fd: opts.passphraseFd }, `Passphrase for the new ${role} key: `, { confirm: true });
  try {
    const info = await keystore.generate(role as KeyRole, passphrase, keyType);
    const { fingerprintLines, ...key } = describeKey(info);
    const published = await publishedKeysOfTerminal();
    const change = published && (role === 'pgp' || role === 'minisign') ? keyIdentityChange(published, signingKeyIds([info])) : undefined;
    const changed = change?.openpgp?.changed || change?.minisign?.changed ? change : undefined;
    emit(opts, { ok: true, keystore: keystore.dir, key, ...(changed ? { publishedKeyChange: changed } : {}) }, () => [
      `generated ${role} key ${info.keyId}`,
      `keystore: ${keystore.dir}`,
      ...fingerprintLines,
      ...(changed ? describeKeyIdentity(changed, 'changes at the next release signed with this keystore, which publishes this key').filter((l) => l.startsWith('WARNING')) : []),
    ]);
  } finally {
    passphrase.wipe();
  }
}
