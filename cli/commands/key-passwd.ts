// `airlock key passwd KEYID`: re-seal one key under a new passphrase. The old passphrase
// comes from --passphrase-fd / AIRLOCK_PASSPHRASE_FILE / the terminal; the new one from
// --new-passphrase-fd / AIRLOCK_NEW_PASSPHRASE_FILE / the terminal (asked twice). With
// only --passphrase-fd, its second line is the new passphrase.
import { Keystore } from '../../lib/keys/keystore.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import { readPassphrase } from '../../lib/keys/passphrase.js';
import { emit } from '../run.js';

export const NEW_PASSPHRASE_FILE_ENV = 'AIRLOCK_NEW_PASSPHRASE_FILE';

export interface KeyPasswdOptions {
  keystore?: string;
  passphraseFd?: number;
  newPassphraseFd?: number;
  json?: boolean;
}

export async function keyPasswd(keyId: string, opts: KeyPasswdOptions): Promise<void> {
  const keystore = await Keystore.open(keystoreDirFor(opts));
  const oldPassphrase = await readPassphrase({ fd: opts.passphraseFd }, `Current passphrase for key ${keyId}: `);
  try {
    const newFd = opts.newPassphraseFd ?? (process.env[NEW_PASSPHRASE_FILE_ENV] ? undefined : opts.passphraseFd);
    const newPassphrase = await readPassphrase({ fd: newFd }, 'New passphrase: ', { confirm: true, fileEnv: NEW_PASSPHRASE_FILE_ENV });
    try {
      const info = await keystore.changePassphrase(keyId, oldPassphrase, newPassphrase);
      emit(opts, { ok: true, keystore: keystore.dir, keyId: info.keyId, role: info.role }, () => `passphrase changed for ${info.role} key ${info.keyId}`);
    } finally {
      newPassphrase.wipe();
    }
  } finally {
    oldPassphrase.wipe();
  }
}
