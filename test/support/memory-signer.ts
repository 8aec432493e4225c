// A Signer whose key lives only in test memory: for unit tests of signing paths that
// must not depend on the keystore. Production code never uses it.
import { generateKeyPairSync } from 'node:crypto';
import { AirlockError } from '../../lib/core/errors.js';
import { tufKeyFor, type KeyType } from '../../lib/core/key-type.js';
import { tufKeyId } from '../../lib/core/tuf-key.js';
import { ROLE_PURPOSES, type KeyRole, type SignRequest, type Signer } from '../../lib/keys/signer.js';
import { rawPublicKeyOf, softwareKeyHandle } from '../../lib/keys/software-key.js';

export interface MemorySigner extends Signer {
  /** Every request signed, for assertions. */
  readonly requests: SignRequest[];
}

export function memorySigner(role: KeyRole, createdAt = new Date('2026-01-01T00:00:00Z'), keyType: KeyType = 'ed25519'): MemorySigner {
  const { privateKey } = keyType === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const raw = rawPublicKeyOf(privateKey, keyType);
  const tufKey = tufKeyFor(keyType, raw);
  const handle = softwareKeyHandle(privateKey, keyType);
  const requests: SignRequest[] = [];
  return {
    role,
    keyId: tufKeyId(tufKey),
    tufKey,
    keyType,
    publicKey: raw,
    createdAt,
    requests,
    async sign(request: SignRequest): Promise<Uint8Array> {
      if (!ROLE_PURPOSES[role].includes(request.purpose)) {
        throw new AirlockError('E_KEY_ROLE', `a ${role} key does not sign ${request.purpose}`);
      }
      requests.push(request);
      // As AuditedSigner: an ECDSA OpenPGP signature covers the digest as the hash value.
      if (keyType === 'ecdsa-p256' && request.purpose === 'openpgp') return handle.signDigest!(request.message, request.preimage);
      return handle.signRaw(request.message);
    },
    async close() {},
  };
}
