// A Signer whose key lives only in test memory: for unit tests of signing paths that
// must not depend on the keystore. Production code never uses it.
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { ed25519RawPublicKey } from '../../lib/core/ed25519.js';
import { AirlockError } from '../../lib/core/errors.js';
import { ed25519TufKey, tufKeyId } from '../../lib/core/tuf-key.js';
import { ROLE_PURPOSES, type KeyRole, type SignRequest, type Signer } from '../../lib/keys/signer.js';

export interface MemorySigner extends Signer {
  /** Every request signed, for assertions. */
  readonly requests: SignRequest[];
}

export function memorySigner(role: KeyRole, createdAt = new Date('2026-01-01T00:00:00Z')): MemorySigner {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = ed25519RawPublicKey(publicKey);
  const tufKey = ed25519TufKey(raw);
  const requests: SignRequest[] = [];
  return {
    role,
    keyId: tufKeyId(tufKey),
    tufKey,
    publicKey: raw,
    createdAt,
    requests,
    async sign(request: SignRequest): Promise<Uint8Array> {
      if (!ROLE_PURPOSES[role].includes(request.purpose)) {
        throw new AirlockError('E_KEY_ROLE', `a ${role} key does not sign ${request.purpose}`);
      }
      requests.push(request);
      return new Uint8Array(cryptoSign(null, request.message, privateKey));
    },
    async close() {},
  };
}
