// TUF public key objects and key ids (TUF specification §4.2 "KEYS"; key id = hex
// SHA-256 of the canonical JSON of the key object, as securesystemslib's
// `compute_default_keyid` computes it). The encoders write keys exactly as
// securesystemslib does (`SSlibKey.from_crypto`): Ed25519 as raw hex, ECDSA as PEM
// SubjectPublicKeyInfo with keytype `ecdsa`, so python-tuf and tuf-js read them.
import type { KeyObject } from 'node:crypto';
import { canonicalBytes } from './canonical-json.js';
import { sha256Hex } from './digest.js';
import { toHex } from './hex.js';

export interface TufKey {
  keytype: string;
  scheme: string;
  keyval: { public: string; [k: string]: string };
}

export function ed25519TufKey(rawPublicKey: Uint8Array): TufKey {
  return { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: toHex(rawPublicKey) } };
}

/** PEM as pyca/cryptography writes a SubjectPublicKeyInfo: 64 base64 characters a line, final newline. */
export function spkiPem(spkiDer: Uint8Array): string {
  const b64 = Buffer.from(spkiDer).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN PUBLIC KEY-----\n${lines.join('\n')}\n-----END PUBLIC KEY-----\n`;
}

/**
 * An ECDSA P-256 public key as securesystemslib encodes it (keytype `ecdsa`, scheme
 * `ecdsa-sha2-nistp256`, PEM SPKI). Takes a node KeyObject or the SPKI DER; refuses
 * (TypeError, a programming error) anything that is not a P-256 public key.
 */
export function ecdsaP256TufKey(publicKey: KeyObject | Uint8Array): TufKey {
  const der = publicKey instanceof Uint8Array ? publicKey : exportP256(publicKey);
  // SPKI of a P-256 key: id-ecPublicKey + prime256v1, then an uncompressed point (65 bytes).
  const prefix = '3059301306072a8648ce3d020106082a8648ce3d030107034200';
  if (der.length !== 91 || Buffer.from(der.subarray(0, 26)).toString('hex') !== prefix || der[26] !== 0x04) {
    throw new TypeError('not the SubjectPublicKeyInfo of an uncompressed ECDSA P-256 public key');
  }
  return { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: spkiPem(der) } };
}

function exportP256(key: KeyObject): Uint8Array {
  if (key.type !== 'public' || key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new TypeError('not an ECDSA P-256 public key');
  }
  return new Uint8Array(key.export({ format: 'der', type: 'spki' }));
}

export function tufKeyId(key: TufKey): string {
  return sha256Hex(canonicalBytes(key));
}
