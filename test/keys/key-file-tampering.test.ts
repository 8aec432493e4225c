// Each way a key file can be damaged or altered is refused with the right code, and a
// refusal never hands out a signer or rewrites the file.
import { readFile, truncate, writeFile, copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAirlockError } from '../../lib/core/errors.js';
import { Keystore, type KeyInfo } from '../../lib/keys/keystore.js';
import { tempKeystore, testPassphrase, TEST_ONLY_KDF, type TempKeystore } from '../support/keys-fixtures.js';
import { editKeyFile, flipHexByte } from '../support/keys-tamper.js';

async function unlockCode(ks: Keystore, id: string, pass = testPassphrase()): Promise<string> {
  try {
    await ks.unlock(id, pass);
  } catch (err) {
    if (isAirlockError(err)) return err.code;
    throw err;
  }
  return 'UNLOCKED';
}

let t: TempKeystore;
let key: KeyInfo;
beforeEach(async () => {
  t = await tempKeystore();
  key = await t.keystore.generate('targets', testPassphrase());
});
afterEach(async () => {
  await t.cleanup();
});

describe.each([false, true])('key file tampering (checksum recomputed: %s)', (recomputeChecksum) => {
  const corrupt = async (edit: Parameters<typeof editKeyFile>[1]) => {
    await editKeyFile(key.file, edit, { recomputeChecksum });
    return unlockCode(t.keystore, key.keyId);
  };

  it('refuses a flipped ciphertext byte', async () => {
    expect(await corrupt((j) => (j.cipher.ciphertext = flipHexByte(j.cipher.ciphertext, 7)))).toBe('E_KEY_CORRUPT');
  });
  it('refuses a flipped GCM tag byte', async () => {
    expect(await corrupt((j) => (j.cipher.tag = flipHexByte(j.cipher.tag, 15)))).toBe('E_KEY_CORRUPT');
  });
  it('refuses a flipped nonce byte', async () => {
    expect(await corrupt((j) => (j.cipher.nonce = flipHexByte(j.cipher.nonce, 3)))).toBe('E_KEY_CORRUPT');
  });
  it('refuses a swapped role field (a targets key dressed as root)', async () => {
    expect(await corrupt((j) => (j.role = 'root'))).toBe('E_KEY_CORRUPT');
  });
  it('refuses a changed creation time', async () => {
    expect(await corrupt((j) => (j.createdAt = '2020-01-01T00:00:00Z'))).toBe('E_KEY_CORRUPT');
  });
  it('refuses an altered passphrase check value', async () => {
    expect(await corrupt((j) => (j.passphraseCheck = flipHexByte(j.passphraseCheck, 0)))).toBe('E_KEY_CORRUPT');
  });
  it('refuses a KDF cost lowered below the keystore minimum', async () => {
    expect(await corrupt((j) => (j.kdf.N = 2 ** 9))).toBe('E_KEY_CORRUPT');
  });
  it('refuses a KDF cost raised beyond what airlock writes (memory exhaustion)', async () => {
    expect(await corrupt((j) => (j.kdf.N = 2 ** 24))).toBe('E_KEY_CORRUPT');
  });
  it('refuses a KDF cost that is not a power of two', async () => {
    expect(await corrupt((j) => (j.kdf.N = 3000))).toBe('E_KEY_CORRUPT');
  });
  it('refuses an unknown format version', async () => {
    expect(await corrupt((j) => (j.version = 2))).toBe('E_KEY_CORRUPT');
  });
  it('refuses an unexpected extra field', async () => {
    expect(await corrupt((j) => (j.export = 'yes'))).toBe('E_KEY_CORRUPT');
  });
  it('refuses another key id than the public key has', async () => {
    expect(await corrupt((j) => (j.keyId = flipHexByte(j.keyId, 0)))).toBe('E_KEY_CORRUPT');
  });
  it('refuses a public key replaced by another (with its matching key id)', async () => {
    const other = await t.keystore.generate('targets', testPassphrase());
    expect(await corrupt((j) => ((j.publicKey = other.publicKey), (j.keyId = key.keyId)))).toBe('E_KEY_CORRUPT');
  });
  it('refuses a changed KDF parameter', async () => {
    // Without the checksum recomputed this is caught before the KDF runs. With it
    // recomputed, nothing that does not know the passphrase can tell the change from a
    // wrong passphrase (docs/keys.md): the key is still refused, as E_KEY_PASSPHRASE.
    const code = await corrupt((j) => (j.kdf.N = j.kdf.N * 2));
    expect(code).toBe(recomputeChecksum ? 'E_KEY_PASSPHRASE' : 'E_KEY_CORRUPT');
  });
  it('refuses a changed salt', async () => {
    const code = await corrupt((j) => (j.kdf.salt = flipHexByte(j.kdf.salt, 0)));
    expect(code).toBe(recomputeChecksum ? 'E_KEY_PASSPHRASE' : 'E_KEY_CORRUPT');
  });
});

describe('key file damage', () => {
  it('refuses a truncated file at every length', async () => {
    const whole = await readFile(key.file);
    for (const len of [0, 1, 20, Math.floor(whole.length / 2), whole.length - 3]) {
      await writeFile(key.file, whole.subarray(0, len), { mode: 0o600 });
      expect(await unlockCode(t.keystore, key.keyId), `length ${len}`).toBe('E_KEY_CORRUPT');
    }
    await truncate(key.file, 0);
    expect(await unlockCode(t.keystore, key.keyId)).toBe('E_KEY_CORRUPT');
  });

  it('refuses a key file copied under another key id', async () => {
    const other = await t.keystore.generate('targets', testPassphrase());
    await copyFile(key.file, other.file);
    expect(await unlockCode(t.keystore, other.keyId)).toBe('E_KEY_CORRUPT');
  });

  it('an untouched file still unlocks (the tests above would pass vacuously otherwise)', async () => {
    expect(await unlockCode(t.keystore, key.keyId)).toBe('UNLOCKED');
    expect(await unlockCode(t.keystore, key.keyId, testPassphrase('wrong passphrase'))).toBe('E_KEY_PASSPHRASE');
  });

  it('list refuses a damaged key file rather than skipping it', async () => {
    await truncate(key.file, 10);
    await expect(t.keystore.list()).rejects.toMatchObject({ code: 'E_KEY_CORRUPT' });
  });

  it('a production keystore refuses a key sealed with test-cost KDF parameters', async () => {
    const prod = await Keystore.open(t.keystore.dir);
    expect(await unlockCode(prod, key.keyId)).toBe('E_KEY_CORRUPT');
  });

  it('a refused unlock does not rewrite the file', async () => {
    const before = await readFile(key.file);
    await unlockCode(t.keystore, key.keyId, testPassphrase('wrong passphrase'));
    expect(await readFile(key.file)).toEqual(before);
  });
});

describe('production KDF parameters', () => {
  it('a production keystore seals with scrypt N=2^17, r=8, p=1 (OWASP minimum) and reads it back', async () => {
    const dir = join(t.home, 'prod');
    const prod = await Keystore.create(dir);
    const info = await prod.generate('root', testPassphrase());
    const json = JSON.parse(await readFile(info.file, 'utf8'));
    expect(json.kdf).toMatchObject({ name: 'scrypt', N: 2 ** 17, r: 8, p: 1 });
    expect(json.cipher.name).toBe('aes-256-gcm');
    // A test keystore reads production files: the file carries its own parameters.
    const testKs = await Keystore.open(dir, TEST_ONLY_KDF);
    expect(await unlockCode(testKs, info.keyId)).toBe('UNLOCKED');
    await rm(dir, { recursive: true });
  });
});
