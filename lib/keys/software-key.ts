// Software keys held in node:crypto KeyObjects: Ed25519 from a 32-byte seed (RFC 8032
// §5.1.5), ECDSA P-256 from its 32-byte private scalar (SEC 1 §3.2). The secret enters
// OpenSSL through a PKCS#8 wrapper (RFC 5208; RFC 8410 §7 for Ed25519, RFC 5915 for EC)
// built in a buffer we zero right after; JavaScript cannot reach the KeyObject's memory,
// so that is as briefly as the runtime lets us hold the secret.
import { createHash, createPrivateKey, createPublicKey, createSign, generateKeyPairSync, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { p256RawPublicKey } from '../core/ecdsa-p256.js';
import { ed25519RawPublicKey } from '../core/ed25519.js';
import { AirlockError } from '../core/errors.js';
import type { KeyType } from '../core/key-type.js';
import type { Preimage } from './signer.js';
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
  /**
   * ECDSA only: DER signature of a 32-byte digest used as the hash value (no further
   * hashing). A token signs the digest (CKM_ECDSA); a software key needs `preimage`, the
   * bytes whose SHA-256 `digest` is (see p256SignPreimage).
   */
  signDigest?(digest: Uint8Array, preimage?: Preimage): Promise<Uint8Array>;
  close(): Promise<void>;
}

/**
 * An OpenPGP ECDSA signature (RFC 6637 §5: over the SHA-256 of document ‖ trailer) made by
 * OpenSSL. node:crypto signs only a hash it computed itself (crypto.sign(null, digest)
 * hashes the digest again), so the bytes are fed to createSign('sha256') — OpenSSL's
 * constant-time ECDSA with its own nonce, no secret ever in JavaScript numbers — and
 * SHA-256'd beside it, so a preimage other than the digest's is refused before the
 * signature is made.
 */
async function p256SignPreimage(privateKey: KeyObject, digest: Uint8Array, preimage: Preimage): Promise<Uint8Array> {
  const signing = createSign('sha256');
  const check = createHash('sha256');
  for await (const chunk of preimage()) {
    signing.update(chunk);
    check.update(chunk);
  }
  if (!check.digest().equals(digest)) {
    throw new AirlockError('E_IO', 'the bytes being signed changed between their two reads (the digest and the signature); make sure nothing writes the release files while it is signed, then run again');
  }
  return new Uint8Array(signing.sign({ key: privateKey, dsaEncoding: 'der' }));
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
          async signDigest(digest: Uint8Array, preimage?: Preimage) {
            if (preimage === undefined) throw new Error('a software P-256 key signs an OpenPGP digest from its preimage (SignRequest.preimage)');
            return p256SignPreimage(live(), digest, preimage);
          },
        }
      : {}),
    async close() {
      key = null;
    },
  };
}
