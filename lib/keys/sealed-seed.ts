// Sealing a 32-byte private key (an Ed25519 seed or a P-256 scalar) under a passphrase,
// and opening it again, telling a wrong passphrase apart from a damaged or altered file.
//
//   scrypt(passphrase, salt, N, r, p) -> 64 bytes  (RFC 7914; node 20 has no Argon2id)
//     bytes  0..31  AES-256-GCM key: seals the seed, AAD = key-file.ts associatedData()
//     bytes 32..63  check key: passphraseCheck = HMAC-SHA256(check key, CHECK_LABEL)
//
// The check value depends only on the passphrase and the KDF parameters, never on the
// other fields, so with the right passphrase it always matches and any other alteration
// (role, key id, date, nonce, ciphertext, tag) then fails the GCM tag: E_KEY_CORRUPT.
// A wrong passphrase fails the check: E_KEY_PASSPHRASE. A failed check whose GCM tag
// nevertheless verifies means the check value itself was altered: E_KEY_CORRUPT.
// Storing the check adds no cheaper guessing oracle: it costs one full scrypt, as does
// trying the GCM tag.
import { createCipheriv, createDecipheriv, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { AirlockError } from '../core/errors.js';
import { fromHex, toHex } from '../core/hex.js';
import { associatedData, type AesGcmBox, type ScryptParams, type SoftwareKeyRecord } from './key-file.js';
import type { Passphrase } from './passphrase.js';

export type ScryptCost = Pick<ScryptParams, 'N' | 'r' | 'p'>;

/** OWASP Password Storage Cheat Sheet minimum for scrypt (2^17, 8, 1): the production default. */
export const SCRYPT_MINIMUM: ScryptCost = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });
/** The most any key file may ask of us (1 GiB of memory), so a doctored file cannot exhaust the machine. */
export const SCRYPT_MAX_MEMORY = 1024 * 1024 * 1024;
export const SCRYPT_MAX_N = 2 ** 20;

const CHECK_LABEL = 'airlock-key passphrase check v1';
export const SEED_BYTES = 32;

/** What KDF costs a keystore writes and accepts. */
export interface KdfPolicy {
  /** Parameters for newly sealed keys. */
  write: ScryptCost;
  /** The least a file may carry; below it the file was not written by this policy. */
  floor: ScryptCost;
}

export const PRODUCTION_KDF_POLICY: KdfPolicy = Object.freeze({ write: SCRYPT_MINIMUM, floor: SCRYPT_MINIMUM });

function scryptMemory(c: ScryptCost): number {
  return 128 * c.N * c.r * c.p;
}

/** Problems with a file's KDF cost: too low for the policy, or too high to be honest. */
export function kdfCostProblems(c: ScryptCost, policy: KdfPolicy): string[] {
  const problems: string[] = [];
  if (c.N < 2 || (c.N & (c.N - 1)) !== 0) problems.push('kdf.N is not a power of two');
  if (c.N < policy.floor.N || c.r < policy.floor.r || c.p < policy.floor.p) {
    problems.push(`kdf cost (N=${c.N}, r=${c.r}, p=${c.p}) is below the minimum this keystore writes (N=${policy.floor.N}, r=${policy.floor.r}, p=${policy.floor.p})`);
  }
  if (c.N > SCRYPT_MAX_N || c.r > 64 || c.p > 16 || scryptMemory(c) > SCRYPT_MAX_MEMORY) {
    problems.push(`kdf cost (N=${c.N}, r=${c.r}, p=${c.p}) is beyond what airlock ever writes`);
  }
  return problems;
}

function deriveKeys(passphrase: Passphrase, salt: Uint8Array, c: ScryptCost): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // scrypt refuses by default past 32 MiB; N=2^17, r=8 needs 128 MiB.
    scrypt(passphrase.bytes, salt, 64, { N: c.N, r: c.r, p: c.p, maxmem: 2 * scryptMemory(c) + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

function checkValue(checkKey: Buffer): Buffer {
  return createHmac('sha256', checkKey).update(CHECK_LABEL).digest();
}

/**
 * Seals `seed` into the secret fields of a key record. `head` holds the public fields
 * that are bound as associated data. The caller keeps ownership of `seed`.
 */
export async function sealSeed(
  seed: Uint8Array,
  passphrase: Passphrase,
  cost: ScryptCost,
  head: Omit<SoftwareKeyRecord, 'kdf' | 'cipher' | 'passphraseCheck'>,
): Promise<SoftwareKeyRecord> {
  if (seed.length !== SEED_BYTES) throw new TypeError('a sealed private key is 32 bytes');
  const salt = randomBytes(32);
  const nonce = randomBytes(12);
  const kdf: ScryptParams = { name: 'scrypt', N: cost.N, r: cost.r, p: cost.p, salt: toHex(salt) };
  const derived = await deriveKeys(passphrase, salt, cost);
  try {
    const record: SoftwareKeyRecord = {
      ...head,
      kdf,
      cipher: { name: 'aes-256-gcm', nonce: toHex(nonce), ciphertext: '', tag: '' },
      passphraseCheck: toHex(checkValue(derived.subarray(32))),
    };
    const cipher = createCipheriv('aes-256-gcm', derived.subarray(0, 32), nonce);
    cipher.setAAD(associatedData(record));
    const ct = Buffer.concat([cipher.update(seed), cipher.final()]);
    const box: AesGcmBox = { name: 'aes-256-gcm', nonce: toHex(nonce), ciphertext: toHex(ct), tag: toHex(cipher.getAuthTag()) };
    return { ...record, cipher: box };
  } finally {
    derived.fill(0);
  }
}

/** Decrypts with the GCM tag checked; returns null (never partial plaintext) on a bad tag. */
function openBox(record: SoftwareKeyRecord, key: Buffer): Buffer | null {
  const decipher = createDecipheriv('aes-256-gcm', key, fromHex(record.cipher.nonce));
  decipher.setAAD(associatedData(record));
  decipher.setAuthTag(fromHex(record.cipher.tag));
  const seed = decipher.update(fromHex(record.cipher.ciphertext));
  try {
    decipher.final();
  } catch {
    seed.fill(0);
    return null;
  }
  return seed;
}

/**
 * Opens a sealed seed. The caller must zero the returned buffer as soon as it has made
 * a key object from it. `file` is only for messages.
 */
export async function openSeed(record: SoftwareKeyRecord, passphrase: Passphrase, policy: KdfPolicy, file: string): Promise<Buffer> {
  const costProblems = kdfCostProblems(record.kdf, policy);
  if (costProblems.length > 0) {
    throw new AirlockError('E_KEY_CORRUPT', `key file ${file} is damaged or was altered (${costProblems.join('; ')}); restore it from your backup`, {
      details: { file, problems: costProblems },
    });
  }
  let derived: Buffer;
  try {
    derived = await deriveKeys(passphrase, fromHex(record.kdf.salt), record.kdf);
  } catch (err) {
    throw new AirlockError('E_KEY_CORRUPT', `key file ${file}: its KDF parameters cannot be used; restore it from your backup`, { cause: err, details: { file } });
  }
  try {
    const expected = Buffer.from(fromHex(record.passphraseCheck));
    const passphraseOk = timingSafeEqual(checkValue(derived.subarray(32)), expected);
    const seed = openBox(record, derived.subarray(0, 32));
    if (seed !== null && passphraseOk) return seed;
    seed?.fill(0);
    if (!passphraseOk && seed === null) {
      throw new AirlockError('E_KEY_PASSPHRASE', `wrong passphrase for the ${record.role} key ${record.keyId.slice(0, 16)}; try again (if this keystore's keys have different passphrases since \`airlock key passwd KEYID\`, give them one with \`airlock key passwd --all\`)`, {
        details: { keyId: record.keyId, role: record.role },
      });
    }
    const what = passphraseOk ? 'its sealed key or a field bound to it was changed' : 'its passphrase check value was changed';
    throw new AirlockError('E_KEY_CORRUPT', `key file ${file} is damaged or was altered (${what}); restore it from your backup`, {
      details: { file, problems: [what] },
    });
  } finally {
    derived.fill(0);
  }
}
