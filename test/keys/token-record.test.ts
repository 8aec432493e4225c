// A PKCS#11 key record (issue 11) holds only a reference and the public key; the
// keystore lists it, refuses a malformed reference, and dispatches unlock to the token
// side (here a module that is not installed: E_TOKEN_MODULE; test/keys/pkcs11/ covers real tokens).
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ed25519RawPublicKey } from '../../lib/core/ed25519.js';
import { tempKeystore, testPassphrase, type TempKeystore } from '../support/keys-fixtures.js';

let t: TempKeystore;
beforeEach(async () => {
  t = await tempKeystore();
});
afterEach(async () => {
  await t.cleanup();
});

const token = { module: '/usr/lib/airlock-test/no-such-pkcs11.so', uri: 'pkcs11:token=airlock;object=targets' };

describe('token key records', () => {
  it('stores only the reference and the public key, lists it, and audits the addition', async () => {
    const raw = ed25519RawPublicKey(generateKeyPairSync('ed25519').publicKey);
    const info = await t.keystore.addTokenKey('targets', raw, token);
    expect(info.kind).toBe('pkcs11');
    const json = JSON.parse(await readFile(info.file, 'utf8'));
    expect(Object.keys(json)).toEqual(['format', 'version', 'kind', 'keyType', 'keyId', 'role', 'publicKey', 'createdAt', 'token', 'checksum']);
    expect(json.token).toEqual(token);
    expect(await t.keystore.list()).toEqual([info]);
    expect((await t.keystore.audit.entries()).map((e) => e.event)).toEqual(['key-add']);
  });

  it('dispatches unlock to the token side and refuses a passphrase change', async () => {
    const raw = ed25519RawPublicKey(generateKeyPairSync('ed25519').publicKey);
    const info = await t.keystore.addTokenKey('root', raw, token);
    await expect(t.keystore.unlock(info.keyId, testPassphrase())).rejects.toMatchObject({ code: 'E_TOKEN_MODULE' });
    await expect(t.keystore.changePassphrase(info.keyId, testPassphrase(), testPassphrase('another one'))).rejects.toMatchObject({ code: 'E_USAGE' });
  });

  it('refuses a reference that is not a pkcs11: URI', async () => {
    const raw = ed25519RawPublicKey(generateKeyPairSync('ed25519').publicKey);
    await expect(t.keystore.addTokenKey('root', raw, { module: '/x.so', uri: 'file:///etc/passwd' })).rejects.toMatchObject({ code: 'E_TOKEN_KEY' });
  });
});
