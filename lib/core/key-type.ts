// The kinds of signing key airlock makes (docs/formats.md): Ed25519 by
// default, ECDSA P-256 for tokens that cannot hold Ed25519 (a YubiKey in PIV mode). One
// place maps a kind and its raw public key to the TUF key object and to a signature check,
// so the keystore, the metadata writers, DSSE and the ceremony agree on both.
//
// Raw public keys: Ed25519 the 32 bytes of RFC 8032; P-256 the uncompressed SEC 1 point.
// Signatures: Ed25519 the 64 bytes R ‖ S; P-256 DER over SHA-256 of the message, as
// securesystemslib writes them.
import { isP256Point, p256PointFromPem, p256PublicKeyObject, p256Verify, P256_POINT_BYTES } from './ecdsa-p256.js';
import { ed25519Verify } from './ed25519.js';
import { fromHex, isHex, toHex } from './hex.js';
import { ecdsaP256TufKey, ed25519TufKey, type TufKey } from './tuf-key.js';

export type KeyType = 'ed25519' | 'ecdsa-p256';
export const KEY_TYPES: readonly KeyType[] = ['ed25519', 'ecdsa-p256'];
export const DEFAULT_KEY_TYPE: KeyType = 'ed25519';

export function isKeyType(v: unknown): v is KeyType {
  return typeof v === 'string' && (KEY_TYPES as readonly string[]).includes(v);
}

/** Bytes of the raw public key of each kind. */
export const PUBLIC_KEY_BYTES: Readonly<Record<KeyType, number>> = { ed25519: 32, 'ecdsa-p256': P256_POINT_BYTES };

export function isRawPublicKey(type: KeyType, raw: Uint8Array): boolean {
  return type === 'ed25519' ? raw.length === 32 : isP256Point(raw);
}

export function tufKeyFor(type: KeyType, raw: Uint8Array): TufKey {
  return type === 'ed25519' ? ed25519TufKey(raw) : ecdsaP256TufKey(p256PublicKeyObject(raw));
}

/** True only for a valid signature of `message`; malformed input is false. */
export function verifyWithKey(type: KeyType, raw: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  return type === 'ed25519' ? ed25519Verify(raw, message, signature) : p256Verify(raw, message, signature);
}

export interface RawPublicKey {
  type: KeyType;
  raw: Uint8Array;
}

/**
 * A TUF key object of a kind airlock signs with → its kind and raw public key; undefined
 * for any other scheme or a malformed key (which then simply does not count).
 */
export function rawKeyOfTufKey(key: TufKey): RawPublicKey | undefined {
  const pub = key?.keyval?.public;
  if (typeof pub !== 'string') return undefined;
  if (key.keytype === 'ed25519' && key.scheme === 'ed25519' && isHex(pub, 32)) return { type: 'ed25519', raw: fromHex(pub.toLowerCase()) };
  if ((key.keytype === 'ecdsa' || key.keytype === 'ecdsa-sha2-nistp256') && key.scheme === 'ecdsa-sha2-nistp256') {
    const raw = p256PointFromPem(pub);
    return raw === undefined ? undefined : { type: 'ecdsa-p256', raw };
  }
  return undefined;
}

/** One string per distinct public key, whatever its encoding (thresholds count keys once). */
export function keyIdentity(key: RawPublicKey): string {
  return `${key.type}:${toHex(key.raw)}`;
}
