// Software keys held in node:crypto KeyObjects: Ed25519 from a 32-byte seed (RFC 8032
// §5.1.5), ECDSA P-256 from its 32-byte private scalar (SEC 1 §3.2). The secret enters
// OpenSSL through a PKCS#8 wrapper (RFC 5208; RFC 8410 §7 for Ed25519, RFC 5915 for EC)
// built in a buffer we zero right after; JavaScript cannot reach the KeyObject's memory,
// so that is as briefly as the runtime lets us hold the secret.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { bigintOf, derSignature, mod, modInverse, P256, p256RawPublicKey } from '../core/ecdsa-p256.js';
import { ed25519RawPublicKey } from '../core/ed25519.js';
import type { KeyType } from '../core/key-type.js';
import { SEED_BYTES } from './sealed-seed.js';

/** DER of PrivateKeyInfo { v1, id-Ed25519, OCTET STRING { OCTET STRING (32) } }, then the seed. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/**
 * DER of PrivateKeyInfo { v0, id-ecPublicKey prime256v1, OCTET STRING { ECPrivateKey { 1,
 * OCTET STRING (32) } } }, then the scalar. The public point is left out; OpenSSL derives it.
 */
const P256_PKCS8_PREFIX = Buffer.from('3041020100301306072a8648ce3d020106082a8648ce3d030107042730250201010420', 'hex');
/** How OpenSSL exports a P-256 key as PKCS#8 (with the public point): the scalar follows this. */
const P256_PKCS8_EXPORT_PREFIX = Buffer.from('308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420', 'hex');

/** A fresh private key of `type` as its 32 secret bytes (seed or scalar). The caller zeroes it. */
export function newSecret(type: KeyType = 'ed25519'): Buffer {
  if (type === 'ed25519') return randomBytes(SEED_BYTES);
  // OpenSSL draws the scalar (uniform in [1, n−1]); we only take it out to seal it.
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return p256Scalar(privateKey);
}

/** The private scalar of a P-256 KeyObject, in a buffer the caller zeroes. */
function p256Scalar(privateKey: KeyObject): Buffer {
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  try {
    // OpenSSL exports the public point too when it knows it from the input; either way the scalar follows the prefix.
    const prefix = [P256_PKCS8_EXPORT_PREFIX, P256_PKCS8_PREFIX].find((p) => der.length >= p.length + SEED_BYTES && der.subarray(0, p.length).equals(p));
    if (prefix === undefined) throw new TypeError('not a P-256 private key in the expected PKCS#8 form');
    return Buffer.from(der.subarray(prefix.length, prefix.length + SEED_BYTES));
  } finally {
    der.fill(0);
  }
}

export function privateKeyFromSecret(secret: Uint8Array, type: KeyType = 'ed25519'): KeyObject {
  if (secret.length !== SEED_BYTES) throw new TypeError('a private key is 32 bytes');
  const prefix = type === 'ed25519' ? ED25519_PKCS8_PREFIX : P256_PKCS8_PREFIX;
  const der = Buffer.alloc(prefix.length + SEED_BYTES);
  try {
    prefix.copy(der);
    der.set(secret, prefix.length);
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

export function rawPublicKeyOf(privateKey: KeyObject, type: KeyType = 'ed25519'): Uint8Array {
  return type === 'ed25519' ? ed25519RawPublicKey(createPublicKey(privateKey)) : p256RawPublicKey(privateKey);
}

/** What a backend gives the keystore: a way to sign, and a way to let go. */
export interface KeyHandle {
  /** Ed25519: the 64-byte signature of `message`. ECDSA: DER signature of SHA-256(message). */
  signRaw(message: Uint8Array): Promise<Uint8Array>;
  /** ECDSA only: DER signature of a 32-byte digest used as the hash value (no further hashing). */
  signDigest?(digest: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

/**
 * ECDSA (SEC 1 §4.1.3) over a digest someone else computed, which node:crypto cannot do
 * (its EC signing always hashes). The secret nonce k and k·G come from OpenSSL's key
 * generation (uniform, constant-time); the few modular operations on secrets run on
 * values blinded by a fresh random factor, and the result is checked by the caller
 * (AuditedSigner) before it leaves.
 */
function p256SignDigest(privateKey: KeyObject, digest: Uint8Array): Uint8Array {
  if (digest.length !== 32) throw new TypeError('a P-256 digest signature takes a 32-byte digest');
  const { n } = P256;
  const dBytes = p256Scalar(privateKey);
  let d: bigint;
  try {
    d = bigintOf(dBytes);
  } finally {
    dBytes.fill(0);
  }
  const e = bigintOf(digest);
  for (;;) {
    const nonce = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const kBytes = p256Scalar(nonce.privateKey);
    let k: bigint;
    try {
      k = bigintOf(kBytes);
    } finally {
      kBytes.fill(0);
    }
    const r = mod(bigintOf(p256RawPublicKey(nonce.publicKey).subarray(1, 33)), n);
    const blind = mod(bigintOf(randomBytes(40)), n - 1n) + 1n;
    // s = k⁻¹ (e + r·d) = (b·k)⁻¹ · (b·e + b·r·d)
    const s = mod(modInverse(mod(blind * k, n), n) * mod(blind * e + mod(blind * r, n) * d, n), n);
    if (r !== 0n && s !== 0n) return derSignature(r, s);
  }
}

/** A software key: the KeyObject lives until close(), then is dropped for the collector. */
export function softwareKeyHandle(privateKey: KeyObject, type: KeyType = 'ed25519'): KeyHandle {
  let key: KeyObject | null = privateKey;
  const live = (): KeyObject => {
    if (key === null) throw new Error('software key used after close()');
    return key;
  };
  return {
    async signRaw(message) {
      if (type === 'ed25519') return new Uint8Array(cryptoSign(null, message, live()));
      return new Uint8Array(cryptoSign('sha256', message, { key: live(), dsaEncoding: 'der' }));
    },
    ...(type === 'ecdsa-p256'
      ? {
          async signDigest(digest: Uint8Array) {
            return p256SignDigest(live(), digest);
          },
        }
      : {}),
    async close() {
      key = null;
    },
  };
}
