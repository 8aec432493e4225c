// Token keys against a real PKCS#11 implementation (SoftHSM2): made inside the token and
// never readable from it, adopted when made by another tool (OpenSC's pkcs11-tool),
// opened through Keystore.unlock, and every way it can go wrong refused with its code,
// before a PIN is asked for where possible and with the PIN tried exactly once.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ed25519Verify } from '../../../lib/core/ed25519.js';
import { toHex } from '../../../lib/core/hex.js';
import type { KeyInfo } from '../../../lib/keys/keystore.js';
import { Passphrase } from '../../../lib/keys/passphrase.js';
import { loadedModuleCount } from '../../../lib/keys/pkcs11/cryptoki.js';
import { adoptTokenKey, generateTokenKey, parsePkcs11Uri, pinSource, type PinSource, type TokenKey } from '../../../lib/keys/pkcs11/index.js';
import { tempKeystore, testPassphrase, type TempKeystore } from '../../support/keys-fixtures.js';
import { probePrivateKey } from '../../support/pkcs11-inspect.js';
import { pinFile, softHsm, SOFTHSM_MODULE, USER_PIN, type SoftHsm } from '../../support/pkcs11-softhsm.js';

const TOKEN = 'airlock-test';
const OTHER_TOKEN = 'second-token';
let hsm: SoftHsm;
let t: TempKeystore;
let made: TokenKey;
let info: KeyInfo;

/** A PIN source that counts how often it is asked. */
function countingPin(pin = USER_PIN): PinSource & { asked: number } {
  const source = Object.assign(
    async () => {
      source.asked += 1;
      return Passphrase.fromString(pin);
    },
    { asked: 0 },
  );
  return source;
}

const at = (uri: Parameters<typeof generateTokenKey>[0]['uri'], module = SOFTHSM_MODULE) => ({ module, uri });
const message = new TextEncoder().encode('{"signed":"canonical json"}');
const request = { purpose: 'tuf-metadata' as const, message, subject: { kind: 'metadata', name: 'targets.json', version: 2 } };

beforeAll(async () => {
  hsm = await softHsm();
  hsm.initToken(TOKEN);
  hsm.initToken(OTHER_TOKEN, '13579135');
  hsm.use();
  t = await tempKeystore();
  made = await generateTokenKey(at({ token: TOKEN }), { label: 'airlock-targets', pin: countingPin(), purpose: 'a new targets key' });
  info = await t.keystore.addTokenKey('targets', made.publicKey, made.reference);
});

afterAll(async () => {
  await t?.cleanup();
  await hsm?.cleanup();
});

describe('a key made inside the token', () => {
  it('is recorded as a reference (module, token, serial, label, id) and its public key only', async () => {
    expect(made.bornInToken).toBe(true);
    expect(made.reference.module).toBe(SOFTHSM_MODULE);
    const uri = parsePkcs11Uri(made.reference.uri);
    expect(uri).toMatchObject({ token: TOKEN, serial: made.token.serial, object: 'airlock-targets', type: 'private' });
    expect(toHex(uri.id!)).toBe(made.id);
    const json = JSON.parse(await readFile(info.file, 'utf8'));
    expect(Object.keys(json)).toEqual(['format', 'version', 'kind', 'keyType', 'keyId', 'role', 'publicKey', 'createdAt', 'token', 'checksum']);
    expect(json).toMatchObject({ kind: 'pkcs11', role: 'targets', publicKey: toHex(made.publicKey), token: made.reference });
    expect((await stat(info.file)).mode & 0o777).toBe(0o600);
  });

  it('signs through Keystore.unlock with CKM_EDDSA, audited, and the signature verifies under the recorded key', async () => {
    const pin = countingPin();
    const signer = await t.keystore.unlock('targets', testPassphrase(), { pin });
    try {
      const signature = await signer.sign(request);
      expect(ed25519Verify(made.publicKey, message, signature)).toBe(true);
      expect(signer.keyId).toBe(info.keyId);
      await expect(signer.sign({ ...request, purpose: 'minisign' })).rejects.toMatchObject({ code: 'E_KEY_ROLE' });
    } finally {
      await signer.close();
    }
    expect(pin.asked).toBe(1);
    const last = (await t.keystore.audit.entries()).at(-1)!;
    expect(last).toMatchObject({ event: 'sign', keyId: info.keyId, role: 'targets', purpose: 'tuf-metadata' });
    expect(loadedModuleCount()).toBe(0);
  });

  it('cannot be read out: CKA_VALUE is CKR_ATTRIBUTE_SENSITIVE; sensitive, never extractable, on the token', () => {
    const probe = probePrivateKey(SOFTHSM_MODULE, TOKEN, USER_PIN, 'airlock-targets');
    expect(probe).toEqual({ value: 'CKR_ATTRIBUTE_SENSITIVE', sensitive: true, extractable: false, alwaysSensitive: true, neverExtractable: true, onToken: true });
  });

  it('leaves nothing secret in the keystore: no PIN in any encoding, no private key fields', async () => {
    const needles = [USER_PIN, Buffer.from(USER_PIN).toString('hex'), Buffer.from(USER_PIN).toString('base64')];
    for (const name of await readdir(t.keystore.dir)) {
      const text = await readFile(join(t.keystore.dir, name), 'utf8');
      for (const n of needles) expect(text.includes(n), `${name} holds the PIN`).toBe(false);
      expect(text).not.toMatch(/"(seed|private|privateKey|cipher|kdf|pin)"/i);
    }
  });

  it('refuses a second key under a label already in use', async () => {
    const pin = countingPin();
    await expect(generateTokenKey(at({ token: TOKEN }), { label: 'airlock-targets', pin, purpose: 'x' })).rejects.toMatchObject({ code: 'E_TOKEN_KEY' });
    expect(loadedModuleCount()).toBe(0);
  });
});

describe('adopting a key already in the token', () => {
  it('takes an Ed25519 key made by pkcs11-tool, with the public key pkcs11-tool shows', async () => {
    const gen = hsm.pkcs11Tool(['--token-label', TOKEN, '--login', '--pin', USER_PIN, '--keypairgen', '--key-type', 'EC:edwards25519', '--label', 'made-elsewhere', '--id', '0a0b']);
    expect(gen.status, gen.stderr).toBe(0);
    const point = /EC_POINT:\s+([0-9a-f]+)/.exec(gen.stdout)?.[1];
    const adopted = await adoptTokenKey(at({ token: TOKEN, object: 'made-elsewhere' }), { pin: countingPin(), purpose: 'x' });
    expect(`0420${toHex(adopted.publicKey)}`).toBe(point);
    expect(adopted).toMatchObject({ label: 'made-elsewhere', id: '0a0b', bornInToken: true });
    // The reference it records opens the same key by id and label.
    const again = await adoptTokenKey(at(parsePkcs11Uri(adopted.reference.uri)), { pin: countingPin(), purpose: 'x' });
    expect(again.publicKey).toEqual(adopted.publicKey);
  });

  it('refuses a key that is not Ed25519, a label with no key, a label on two keys, an extractable key, and a key that wants the PIN per signature', async () => {
    const tool = (label: string, type: string, id: string, ...extra: string[]) =>
      expect(hsm.pkcs11Tool(['--token-label', TOKEN, '--login', '--pin', USER_PIN, '--keypairgen', '--key-type', type, '--label', label, '--id', id, ...extra]).status).toBe(0);
    tool('p256', 'EC:prime256v1', '20');
    tool('twice', 'EC:edwards25519', '21');
    tool('twice', 'EC:edwards25519', '22');
    tool('extractable', 'EC:edwards25519', '23', '--extractable');
    tool('pin-per-signature', 'EC:edwards25519', '24', '--always-auth');
    for (const object of ['p256', 'nothing-here', 'twice', 'extractable', 'pin-per-signature']) {
      await expect(adoptTokenKey(at({ token: TOKEN, object }), { pin: countingPin(), purpose: 'x' }), object).rejects.toMatchObject({ code: 'E_TOKEN_KEY' });
    }
    // An id picks one of the two.
    await expect(adoptTokenKey(at({ token: TOKEN, object: 'twice', id: Uint8Array.of(0x22) }), { pin: countingPin(), purpose: 'x' })).resolves.toMatchObject({ id: '22' });
    expect(loadedModuleCount()).toBe(0);
  });
});

describe('refusals', () => {
  it('a module that is not installed by root (a key record on another medium naming its own library): E_TOKEN_MODULE, never loaded', async () => {
    const { copyFile, chmod, mkdtemp, realpath, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'airlock-planted-module-'));
    try {
      const planted = join(dir, 'libplanted.so');
      await copyFile(await realpath(SOFTHSM_MODULE), planted);
      await chmod(dir, 0o777);
      const t2 = await tempKeystore();
      try {
        const k = await t2.keystore.addTokenKey('targets', made.publicKey, { module: planted, uri: made.reference.uri });
        const pin = countingPin();
        await expect(t2.keystore.unlock(k.keyId, testPassphrase(), { pin })).rejects.toMatchObject({ code: 'E_TOKEN_MODULE' });
        expect(pin.asked).toBe(0);
        expect(loadedModuleCount()).toBe(0);
      } finally {
        await t2.cleanup();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a wrong PIN: E_TOKEN_PIN after one login attempt, never retried; the right PIN still works', async () => {
    const spy = await hsm.spy();
    const wrong = countingPin('000000');
    const t2 = await tempKeystore();
    try {
      const k = await t2.keystore.addTokenKey('targets', made.publicKey, { module: spy.module, uri: made.reference.uri });
      await expect(t2.keystore.unlock(k.keyId, testPassphrase(), { pin: wrong })).rejects.toMatchObject({ code: 'E_TOKEN_PIN' });
      expect(wrong.asked).toBe(1);
      const calls = await spy.calls();
      expect(calls.filter((c) => c.startsWith('C_Login'))).toEqual(['C_Login CKR_PIN_INCORRECT']);
      expect(calls.slice(-2)).toEqual(['C_CloseSession CKR_OK', 'C_Finalize CKR_OK']);
      expect(loadedModuleCount()).toBe(0);
      // That one attempt did not lock the token: the right PIN opens it.
      const right = countingPin();
      const signer = await t2.keystore.unlock(k.keyId, testPassphrase(), { pin: right });
      await signer.close();
      expect(right.asked).toBe(1);
    } finally {
      await t2.cleanup();
    }
  });

  it('logs out and closes its session after use; two keys on one token share one login and one PIN', async () => {
    const spy = await hsm.spy();
    const t2 = await tempKeystore();
    try {
      const other = await adoptTokenKey(at({ token: TOKEN, object: 'made-elsewhere' }), { pin: countingPin(), purpose: 'x' });
      const a = await t2.keystore.addTokenKey('targets', made.publicKey, { module: spy.module, uri: made.reference.uri });
      const b = await t2.keystore.addTokenKey('minisign', other.publicKey, { module: spy.module, uri: other.reference.uri });
      const pin = countingPin();
      const first = await t2.keystore.unlock(a.keyId, testPassphrase(), { pin });
      const second = await t2.keystore.unlock(b.keyId, testPassphrase(), { pin });
      expect(pin.asked).toBe(1);
      await first.close();
      // The other key still signs after the first let go.
      const digest = new Uint8Array(64).fill(7);
      expect(ed25519Verify(other.publicKey, digest, await second.sign({ purpose: 'minisign', message: digest, subject: { kind: 'artifact', name: 'x' } }))).toBe(true);
      await second.close();
      const calls = await spy.calls();
      expect(calls.filter((c) => c.startsWith('C_Login'))).toEqual(['C_Login CKR_OK']);
      expect(calls.filter((c) => /^C_(Sign|SignInit) /.test(c))).toEqual(['C_SignInit CKR_OK', 'C_Sign CKR_OK']);
      expect(calls.slice(-3)).toEqual(['C_Logout CKR_OK', 'C_CloseSession CKR_OK', 'C_Finalize CKR_OK']);
      expect(loadedModuleCount()).toBe(0);
    } finally {
      await t2.cleanup();
    }
  });

  it('a token that is not there: E_TOKEN_ABSENT, without asking for a PIN', async () => {
    const pin = countingPin();
    await expect(generateTokenKey(at({ token: 'not-plugged-in' }), { label: 'x', pin, purpose: 'x' })).rejects.toMatchObject({ code: 'E_TOKEN_ABSENT' });
    // The recorded token, by serial, while another token with the same label is present.
    const t2 = await tempKeystore();
    try {
      const uri = made.reference.uri.replace(`serial=${made.token.serial}`, 'serial=0000000000000000');
      const k = await t2.keystore.addTokenKey('targets', made.publicKey, { module: SOFTHSM_MODULE, uri });
      await expect(t2.keystore.unlock(k.keyId, testPassphrase(), { pin })).rejects.toMatchObject({ code: 'E_TOKEN_ABSENT' });
    } finally {
      await t2.cleanup();
    }
    expect(pin.asked).toBe(0);
    expect(loadedModuleCount()).toBe(0);
  });

  it('a module that is not there or is no PKCS#11 module: E_TOKEN_MODULE', async () => {
    const pin = countingPin();
    for (const module of ['/usr/lib/no-such-pkcs11.so', '/etc/hostname', 'relative/module.so']) {
      await expect(adoptTokenKey(at({ token: TOKEN, object: 'made-elsewhere' }, module), { pin, purpose: 'x' }), module).rejects.toMatchObject({ code: 'E_TOKEN_MODULE' });
    }
    expect(pin.asked).toBe(0);
  });

  it('a token without EdDSA: E_TOKEN_MECHANISM for signing and for making a key, without asking for a PIN', async () => {
    hsm.use(await hsm.confOffering(['CKM_ECDSA', 'CKM_EC_KEY_PAIR_GEN', 'CKM_SHA256']));
    const pin = countingPin();
    try {
      await expect(t.keystore.unlock('targets', testPassphrase(), { pin })).rejects.toMatchObject({ code: 'E_TOKEN_MECHANISM' });
      await expect(generateTokenKey(at({ token: TOKEN }), { label: 'new', pin, purpose: 'x' })).rejects.toMatchObject({ code: 'E_TOKEN_MECHANISM' });
    } finally {
      hsm.use();
    }
    expect(pin.asked).toBe(0);
    expect(loadedModuleCount()).toBe(0);
  });

  it('a token key that is not the recorded one: E_TOKEN_KEY', async () => {
    const other = await adoptTokenKey(at({ token: TOKEN, object: 'made-elsewhere' }), { pin: countingPin(), purpose: 'x' });
    const t2 = await tempKeystore();
    try {
      // A record whose public key is another key's, pointing at this key.
      const k = await t2.keystore.addTokenKey('targets', other.publicKey, made.reference);
      await expect(t2.keystore.unlock(k.keyId, testPassphrase(), { pin: countingPin() })).rejects.toMatchObject({ code: 'E_TOKEN_KEY' });
    } finally {
      await t2.cleanup();
    }
    expect(loadedModuleCount()).toBe(0);
  });

  it('no PIN source: AIRLOCK_PIN_FILE is read, and without it or a terminal E_NO_TTY', async () => {
    const file = await pinFile(hsm.dir, USER_PIN);
    const fromFile = pinSource({ env: { AIRLOCK_PIN_FILE: file }, terminal: () => null });
    const signer = await t.keystore.unlock('targets', testPassphrase(), { pin: fromFile });
    await signer.close();
    await expect(t.keystore.unlock('targets', testPassphrase(), { pin: pinSource({ env: {}, terminal: () => null }) })).rejects.toMatchObject({ code: 'E_NO_TTY' });
    expect(loadedModuleCount()).toBe(0);
  });
});
