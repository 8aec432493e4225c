// ECDSA P-256 keys in the software keystore: sealed like Ed25519 ones (the 32-byte scalar
// instead of the seed), the type recorded in the key file and bound into the AEAD, files
// from before the type existed still opening, and the roles whose formats have only
// Ed25519 (minisign, publish) refused an ECDSA key.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { p256Verify, p256VerifyDigest } from '../../lib/core/ecdsa-p256.js';
import { ed25519Verify } from '../../lib/core/ed25519.js';
import { toHex } from '../../lib/core/hex.js';
import { tufKeyId } from '../../lib/core/tuf-key.js';
import { KEY_FILE_FORMAT, KEY_FILE_VERSION, keyFileName, keyIdOf, serializeKeyRecord } from '../../lib/keys/key-file.js';
import { sealSeed } from '../../lib/keys/sealed-seed.js';
import { newSecret, privateKeyFromSecret, rawPublicKeyOf } from '../../lib/keys/software-key.js';
import { createSecretFile } from '../../lib/keys/secret-file.js';
import { codeOf } from '../support/error-codes.js';
import { tempKeystore, testPassphrase, TEST_ONLY_KDF, type TempKeystore } from '../support/keys-fixtures.js';

let t: TempKeystore;
beforeEach(async () => {
  t = await tempKeystore();
});
afterEach(async () => {
  await t.cleanup();
});

describe('ECDSA P-256 keys in the keystore', () => {
  it('generates, lists and unlocks a P-256 key whose signatures are DER over SHA-256, and whose TUF key id is securesystemslib\'s', async () => {
    const info = await t.keystore.generate('targets', testPassphrase(), 'ecdsa-p256');
    expect(info.keyType).toBe('ecdsa-p256');
    expect(info.publicKey).toMatch(/^04[0-9a-f]{128}$/);
    const file = JSON.parse(await readFile(info.file, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(file).slice(0, 4)).toEqual(['format', 'version', 'kind', 'keyType']);
    expect(file.keyType).toBe('ecdsa-p256');
    const signer = await t.keystore.unlock('targets', testPassphrase());
    expect(signer.keyType).toBe('ecdsa-p256');
    expect(signer.tufKey.keytype).toBe('ecdsa');
    expect(signer.tufKey.scheme).toBe('ecdsa-sha2-nistp256');
    expect(signer.tufKey.keyval.public).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(tufKeyId(signer.tufKey)).toBe(info.keyId);
    const message = new TextEncoder().encode('{"signed":1}');
    const sig = await signer.sign({ purpose: 'tuf-metadata', message, subject: { kind: 'metadata', name: 'targets.json', version: 1 } });
    expect(sig[0]).toBe(0x30);
    expect(p256Verify(signer.publicKey, message, sig)).toBe(true);
    await signer.close();
  });

  it('signs an OpenPGP digest as the hash value (RFC 6637), not hashed again', async () => {
    await t.keystore.generate('pgp', testPassphrase(), 'ecdsa-p256');
    const signer = await t.keystore.unlock('pgp', testPassphrase());
    const hashed = Buffer.from('data, hashed fields and trailer');
    const digest = createHash('sha256').update(hashed).digest();
    const sig = await signer.sign({ purpose: 'openpgp', message: digest, preimage: () => [hashed], subject: { kind: 'artifact', name: 'x' } });
    expect(p256VerifyDigest(signer.publicKey, digest, sig)).toBe(true);
    expect(p256Verify(signer.publicKey, digest, sig)).toBe(false);
    await signer.close();
  });

  it('binds the key type into the sealed file: changing it is E_KEY_CORRUPT, not a different key', async () => {
    const info = await t.keystore.generate('snapshot', testPassphrase(), 'ecdsa-p256');
    const json = JSON.parse(await readFile(info.file, 'utf8')) as Record<string, unknown>;
    json.keyType = 'ed25519';
    await writeFile(info.file, `${JSON.stringify(json, null, 2)}\n`);
    expect(await codeOf(t.keystore.list())).toBe('E_KEY_CORRUPT');
    json.keyType = 'rsa';
    await writeFile(info.file, `${JSON.stringify(json, null, 2)}\n`);
    expect(await codeOf(t.keystore.list())).toBe('E_KEY_CORRUPT');
  });

  it('still opens an Ed25519 key file written before the type was recorded', async () => {
    const seed = newSecret('ed25519');
    const publicKey = toHex(rawPublicKeyOf(privateKeyFromSecret(seed)));
    const record = await sealSeed(seed, testPassphrase(), TEST_ONLY_KDF.kdf, {
      format: KEY_FILE_FORMAT,
      version: KEY_FILE_VERSION,
      kind: 'software',
      keyId: keyIdOf(publicKey),
      role: 'timestamp',
      publicKey,
      createdAt: '2025-06-01T00:00:00Z',
    });
    seed.fill(0);
    const bytes = serializeKeyRecord(record);
    expect(Object.keys(JSON.parse(bytes.toString('utf8')))).not.toContain('keyType');
    await createSecretFile(join(t.keystore.dir, keyFileName(record.keyId)), bytes);
    const [info] = await t.keystore.list();
    expect(info?.keyType).toBe('ed25519');
    const signer = await t.keystore.unlock(record.keyId, testPassphrase());
    const message = new TextEncoder().encode('{"signed":2}');
    expect(ed25519Verify(signer.publicKey, message, await signer.sign({ purpose: 'tuf-metadata', message, subject: { kind: 'metadata', name: 'timestamp.json' } }))).toBe(true);
    // A new passphrase keeps the file's form (no type added, so the AEAD still binds the same fields).
    await t.keystore.changePassphrase(record.keyId, testPassphrase(), testPassphrase('another passphrase entirely'));
    expect((await t.keystore.unlock(record.keyId, testPassphrase('another passphrase entirely'))).keyType).toBe('ed25519');
  });

  it('refuses an ECDSA key for minisign, ssh and publish (their formats are Ed25519 only) with E_USAGE, before anything is written', async () => {
    expect(await codeOf(t.keystore.generate('minisign', testPassphrase(), 'ecdsa-p256'))).toBe('E_USAGE');
    expect(await codeOf(t.keystore.generate('publish', testPassphrase(), 'ecdsa-p256'))).toBe('E_USAGE');
    expect(await codeOf(t.keystore.generate('ssh', testPassphrase(), 'ecdsa-p256'))).toBe('E_USAGE');
    expect(await t.keystore.list()).toEqual([]);
  });
});
