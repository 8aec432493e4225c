// Ed25519 keys from a 32-byte seed (RFC 8032 §5.1.5) held in node:crypto KeyObjects.
// The seed enters OpenSSL through a PKCS#8 wrapper (RFC 8410 §7) built in a buffer we
// zero right after; JavaScript cannot reach the KeyObject's memory, so that is as
// briefly as the runtime lets us hold the secret.
import { createPrivateKey, createPublicKey, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { ed25519RawPublicKey } from '../core/ed25519.js';
import { SEED_BYTES } from './sealed-seed.js';

/** DER of PrivateKeyInfo { v1, id-Ed25519, OCTET STRING { OCTET STRING (32) } }, then the seed. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** A fresh seed from the OS CSPRNG. The caller zeroes it. */
export function newSeed(): Buffer {
  return randomBytes(SEED_BYTES);
}

export function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (seed.length !== SEED_BYTES) throw new TypeError('an Ed25519 seed is 32 bytes');
  const der = Buffer.alloc(PKCS8_PREFIX.length + SEED_BYTES);
  try {
    PKCS8_PREFIX.copy(der);
    der.set(seed, PKCS8_PREFIX.length);
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

export function rawPublicKeyOf(privateKey: KeyObject): Uint8Array {
  return ed25519RawPublicKey(createPublicKey(privateKey));
}

/** What a backend gives the keystore: a way to sign raw bytes, and a way to let go. */
export interface KeyHandle {
  signRaw(message: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** A software key: the KeyObject lives until close(), then is dropped for the collector. */
export function softwareKeyHandle(privateKey: KeyObject): KeyHandle {
  let key: KeyObject | null = privateKey;
  return {
    async signRaw(message) {
      if (key === null) throw new Error('software key used after close()');
      return new Uint8Array(cryptoSign(null, message, key));
    },
    async close() {
      key = null;
    },
  };
}
