// The identities users compare (the OpenPGP fingerprint, the minisign key id) of the keys
// a keystore signs with now — the newest key of each role — from its public listing, so
// `status` and `key generate` can say, without a passphrase, when the next release
// publishes another key than keys/ does.
import { fromHex, toHex } from '../core/hex.js';
import { newestKeyOf, type KeyInfo } from '../keys/keystore.js';
import { minisignKeyIdHex, minisignKeyNumber } from '../repo/compat/minisign.js';
import { pgpPublicKey } from '../repo/compat/openpgp-packet.js';

/** The OpenPGP v4 fingerprint of a keystore's pgp key, upper case, from its public listing. */
export function pgpFingerprintOf(k: Pick<KeyInfo, 'publicKey' | 'createdAt' | 'keyType'>): string {
  return toHex(pgpPublicKey(fromHex(k.publicKey), new Date(k.createdAt), k.keyType).fingerprint).toUpperCase();
}

/** The OpenPGP fingerprint and minisign key id the next release signs with (absent roles: absent fields). */
export function signingKeyIds(keys: readonly KeyInfo[]): { openpgp?: string; minisign?: string } {
  const pgp = newestKeyOf(keys, 'pgp');
  const mini = newestKeyOf(keys, 'minisign');
  return { ...(pgp ? { openpgp: pgpFingerprintOf(pgp) } : {}), ...(mini ? { minisign: minisignKeyIdHex(minisignKeyNumber(fromHex(mini.publicKey))) } : {}) };
}
