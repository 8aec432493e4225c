// `airlock key passwd KEYID`: re-seal one key under a new passphrase. The old passphrase
// comes from --passphrase-fd / AIRLOCK_PASSPHRASE_FILE / the terminal; the new one from
// --new-passphrase-fd / AIRLOCK_NEW_PASSPHRASE_FILE / the terminal (asked twice). With
// only --passphrase-fd, its second line is the new passphrase.
//
// `airlock key passwd --all`: one passphrase for every key of the keystore. The current
// passphrases are asked until every key is open (at the terminal, three that open
// nothing end it; on --passphrase-fd, one line each, a line that opens nothing ends it);
// only then the new passphrase, and each key file is rewritten atomically.
import { AirlockError } from '../../lib/core/errors.js';
import { Keystore, type KeyInfo } from '../../lib/keys/keystore.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import { PASSPHRASE_FILE_ENV, PROMPT_TRIES, readPassphrase, type Passphrase } from '../../lib/keys/passphrase.js';
import { emit } from '../run.js';

export const NEW_PASSPHRASE_FILE_ENV = 'AIRLOCK_NEW_PASSPHRASE_FILE';

export interface KeyPasswdOptions {
  keystore?: string;
  passphraseFd?: number;
  newPassphraseFd?: number;
  all?: boolean;
  json?: boolean;
}

function readNew(opts: KeyPasswdOptions): Promise<Passphrase> {
  const newFd = opts.newPassphraseFd ?? (process.env[NEW_PASSPHRASE_FILE_ENV] ? undefined : opts.passphraseFd);
  return readPassphrase({ fd: newFd }, 'New passphrase: ', { confirm: true, fileEnv: NEW_PASSPHRASE_FILE_ENV });
}

const named = (keys: KeyInfo[]) => keys.map((k) => `${k.role} ${k.keyId.slice(0, 16)}`).join(', ');

async function passwdAll(keystore: Keystore, opts: KeyPasswdOptions): Promise<void> {
  // A passphrase file holds one line: it can open the keys that share it, no more.
  const fromFile = opts.passphraseFd === undefined && Boolean(process.env[PASSPHRASE_FILE_ENV]);
  const given: Passphrase[] = [];
  let wasted = 0;
  let before = Infinity;
  try {
    const infos = await keystore.changeAllPassphrases(async (locked) => {
      if (locked.length === before) wasted++;
      before = locked.length;
      const interactive = opts.passphraseFd === undefined && !fromFile;
      if (wasted >= (interactive ? PROMPT_TRIES : 1) || (fromFile && given.length > 0)) return undefined;
      const prompt = given.length === 0 ? `Current passphrase for ${keystore.dir}: ` : `Current passphrase for the keys it did not open (${named(locked)}): `;
      const p = await readPassphrase({ fd: opts.passphraseFd }, prompt);
      given.push(p);
      return p;
    }, () => readNew(opts));
    emit(opts, { ok: true, keystore: keystore.dir, keys: infos.map((k) => ({ keyId: k.keyId, role: k.role })) }, () => [
      `one passphrase now opens every key of ${keystore.dir}:`,
      ...infos.map((k) => `  ${k.role.padEnd(9)} ${k.keyId}`),
    ]);
  } finally {
    for (const p of given) p.wipe();
  }
}

export async function keyPasswd(keyId: string | undefined, opts: KeyPasswdOptions): Promise<void> {
  if (Boolean(opts.all) === (keyId !== undefined)) throw new AirlockError('E_USAGE', 'give a KEYID, or --all for every key of the keystore (not both)');
  const keystore = await Keystore.open(keystoreDirFor(opts));
  if (opts.all) return passwdAll(keystore, opts);
  const oldPassphrase = await readPassphrase({ fd: opts.passphraseFd }, `Current passphrase for key ${keyId}: `, { check: (p) => keystore.verifyPassphrase(keyId!, p) });
  try {
    const newPassphrase = await readNew(opts);
    try {
      const info = await keystore.changePassphrase(keyId!, oldPassphrase, newPassphrase);
      emit(opts, { ok: true, keystore: keystore.dir, keyId: info.keyId, role: info.role }, () => `passphrase changed for ${info.role} key ${info.keyId}`);
    } finally {
      newPassphrase.wipe();
    }
  } finally {
    oldPassphrase.wipe();
  }
}
