// PKCS#11 token keys (issue 11): the dispatch point for `kind: "pkcs11"` key records.
// A token record holds only a reference (module path + RFC 7512 URI) and the public key;
// the private key never leaves the token. Whoever implements token signing replaces
// openTokenKey with one that opens a session, logs in with `pin`, finds the key by the
// URI, checks its CKA_EC_POINT against record.publicKey, and returns a KeyHandle whose
// signRaw uses CKM_EDDSA and whose close() logs out. The keystore wraps the handle in
// AuditedSigner, so role checks, signature checks and the audit log come for free.
import { AirlockError } from '../core/errors.js';
import type { Pkcs11KeyRecord } from './key-file.js';
import type { Passphrase } from './passphrase.js';
import type { KeyHandle } from './software-key.js';

export async function openTokenKey(record: Pkcs11KeyRecord, _pin: Passphrase): Promise<KeyHandle> {
  throw new AirlockError(
    'E_TOKEN_MODULE',
    `key ${record.keyId.slice(0, 16)} (${record.role}) lives in a PKCS#11 token (${record.token.uri}), and this airlock cannot use tokens yet; upgrade airlock`,
    { details: { keyId: record.keyId, module: record.token.module, uri: record.token.uri } },
  );
}
