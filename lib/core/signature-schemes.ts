// Signature schemes of TUF public keys (TUF specification §4.2 "KEYS"; the schemes and
// encodings securesystemslib defines in `signer/_key.py` `SSlibKey._verify`, which
// python-tuf uses), checked with node:crypto only so the standalone verifier stays one
// file with no dependency:
// - `ed25519` (keytype `ed25519`): keyval.public is the raw 32-byte key in hex.
// - `ecdsa-sha2-nistp256|384|521` (keytype `ecdsa`, or the legacy keytype equal to the
//   scheme): keyval.public is PEM SubjectPublicKeyInfo, the signature is DER
//   (ECDSA-Sig-Value) over SHA-256|384|512 of the message; the curve must match.
// - `rsassa-pss-sha224|256|384|512` and `rsa-pkcs1v15-sha…` (keytype `rsa`): PEM SPKI.
//   securesystemslib signs PSS with salt length = digest length and verifies with
//   `PSS.AUTO` (any salt length the signature encodes); we accept what it accepts.
// A key whose scheme we do not know, whose encoding is wrong, or whose material does not
// match its scheme yields no verification key: it simply cannot count toward a threshold
// (python-tuf does the same), and nothing here throws on untrusted input.
import { constants, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { fromHex, isHex } from './hex.js';
import type { TufKey } from './tuf-key.js';

/** A public key ready to check signatures, and what makes two keys the same key. */
export interface VerificationKey {
  /** Hex of the key's SubjectPublicKeyInfo DER: equal for one key however it is encoded. */
  readonly identity: string;
  /** True only for a valid signature; anything malformed is false, never a throw. */
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

/** RSA moduli below this many bits are refused: 1024-bit RSA is within reach of a well-funded attacker. */
export const MIN_RSA_BITS = 2048;

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PEM_SPKI = /^-----BEGIN PUBLIC KEY-----\r?\n((?:[A-Za-z0-9+/=]+\r?\n)+)-----END PUBLIC KEY-----\r?\n?$/;

const EC_SCHEMES: Readonly<Record<string, { curve: string; hash: string }>> = {
  'ecdsa-sha2-nistp256': { curve: 'prime256v1', hash: 'sha256' },
  'ecdsa-sha2-nistp384': { curve: 'secp384r1', hash: 'sha384' },
  'ecdsa-sha2-nistp521': { curve: 'secp521r1', hash: 'sha512' },
};

const RSA_SCHEME = /^(rsassa-pss|rsa-pkcs1v15)-(sha224|sha256|sha384|sha512)$/;

/** The DER of a PEM SubjectPublicKeyInfo, or undefined (a private key, a certificate, junk). */
function spkiFromPem(pem: string): KeyObject | undefined {
  const m = PEM_SPKI.exec(pem);
  if (!m) return undefined;
  const der = Buffer.from(m[1]!.replace(/\r?\n/g, ''), 'base64');
  try {
    return createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

function identityOf(key: KeyObject): string {
  return key.export({ format: 'der', type: 'spki' }).toString('hex');
}

function keyObjectFor(key: TufKey): { object: KeyObject; hash: string | null; rsa?: 'pss' | 'pkcs1' } | undefined {
  const { keytype, scheme } = key;
  const pub = key.keyval?.public;
  if (typeof pub !== 'string') return undefined;
  if (scheme === 'ed25519') {
    if (keytype !== 'ed25519' || !isHex(pub, 32)) return undefined;
    try {
      return { object: createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, fromHex(pub)]), format: 'der', type: 'spki' }), hash: null };
    } catch {
      return undefined;
    }
  }
  const ec = Object.hasOwn(EC_SCHEMES, scheme) ? EC_SCHEMES[scheme] : undefined;
  if (ec !== undefined) {
    if (keytype !== 'ecdsa' && keytype !== scheme) return undefined;
    const object = spkiFromPem(pub);
    if (object?.asymmetricKeyType !== 'ec' || object.asymmetricKeyDetails?.namedCurve !== ec.curve) return undefined;
    return { object, hash: ec.hash };
  }
  const rsa = RSA_SCHEME.exec(scheme);
  if (rsa !== null) {
    if (keytype !== 'rsa') return undefined;
    const object = spkiFromPem(pub);
    if (object?.asymmetricKeyType !== 'rsa' || (object.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) return undefined;
    return { object, hash: rsa[2]!, rsa: rsa[1] === 'rsassa-pss' ? 'pss' : 'pkcs1' };
  }
  return undefined;
}

/** Parsed keys by key object; the fields are compared again on a hit, so a mutated object is parsed afresh. */
const cache = new WeakMap<TufKey, { fields: string; key: VerificationKey | undefined }>();

/** The verification key of a TUF key object, or undefined when it cannot be used. */
export function verificationKey(key: TufKey): VerificationKey | undefined {
  const fields = `${String(key.keytype)}\n${String(key.scheme)}\n${String(key.keyval?.public)}`;
  const known = cache.get(key);
  if (known !== undefined && known.fields === fields) return known.key;
  const found = keyObjectFor(key);
  let result: VerificationKey | null = null;
  if (found !== undefined) {
    const { object, hash, rsa } = found;
    const padding = rsa === 'pss' ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO } : rsa === 'pkcs1' ? { padding: constants.RSA_PKCS1_PADDING } : {};
    result = {
      identity: identityOf(object),
      verify(message, signature) {
        if (signature.length === 0) return false;
        try {
          // ECDSA signatures are DER (node's default dsaEncoding), as securesystemslib writes them.
          return cryptoVerify(hash, message, { key: object, ...padding }, signature);
        } catch {
          return false;
        }
      },
    };
  }
  cache.set(key, { fields, key: result ?? undefined });
  return result ?? undefined;
}
