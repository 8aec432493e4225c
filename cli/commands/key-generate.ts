// `airlock key generate ROLE`: a new key in the keystore (made if missing), sealed
// under a passphrase read from the terminal (asked twice), --passphrase-fd or
// AIRLOCK_PASSPHRASE_FILE. Prints only public information.
import { AirlockError } from '../../lib/core/errors.js';
import { keyTypeForRole } from '../../lib/keys/key-type-choice.js';
import { Keystore } from '../../lib/keys/keystore.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import { readPassphrase } from '../../lib/keys/passphrase.js';
import { KEY_ROLES, type KeyRole } from '../../lib/keys/signer.js';
import { emit } from '../run.js';
import { describeKey } from '../key-description.js';

export interface KeyGenerateOptions {
  keystore?: string;
  passphraseFd?: number;
  keyType?: string;
  json?: boolean;
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
    emit(opts, { ok: true, keystore: keystore.dir, key }, () => [`generated ${role} key ${info.keyId}`, `keystore: ${keystore.dir}`, ...fingerprintLines]);
  } finally {
    passphrase.wipe();
  }
}
