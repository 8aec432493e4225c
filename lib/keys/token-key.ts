// PKCS#11 token keys (issue 11): the dispatch point for `kind: "pkcs11"` key records.
// A token record holds only a reference (module path + RFC 7512 URI) and the public key;
// the private key never leaves the token. Opening one loads the module, finds the token,
// logs in with the PIN (asked for here, never the keystore passphrase), finds the key by
// the URI and checks its public key against the record; the KeyHandle signs with
// CKM_EDDSA (Ed25519) or CKM_ECDSA (P-256) and its close() logs out. The keystore wraps the handle in AuditedSigner, so
// role checks, signature checks and the audit log are the same as for software keys.
import { fromHex } from '../core/hex.js';
import { keyTypeOf, type Pkcs11KeyRecord } from './key-file.js';
import { pinSource, type PinSource } from './pkcs11/pin.js';
import { openTokenKeyHandle } from './pkcs11/token-keys.js';
import type { KeyHandle } from './software-key.js';

export interface TokenUnlockOptions {
  /**
   * Where the token PIN comes from. Default: the file AIRLOCK_PIN_FILE names, else a
   * no-echo prompt on the terminal. Asked only if the token is not already logged in
   * by another key of this process, and tried once.
   */
  pin?: PinSource;
}

export async function openTokenKey(record: Pkcs11KeyRecord, options: TokenUnlockOptions = {}): Promise<KeyHandle> {
  return openTokenKeyHandle(record.token, fromHex(record.publicKey), options.pin ?? pinSource(), `the ${record.role} key ${record.keyId.slice(0, 16)}…`, keyTypeOf(record));
}
