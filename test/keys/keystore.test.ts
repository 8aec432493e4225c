import { mkdir, readdir, readFile, stat, chmod, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ed25519Verify } from '../../lib/core/ed25519.js';
import { Keystore } from '../../lib/keys/keystore.js';
import { tempKeystore, testPassphrase, TEST_ONLY_KDF, type TempKeystore } from '../support/keys-fixtures.js';
import { codeOf } from '../support/error-codes.js';

let t: TempKeystore;
beforeEach(async () => {
  t = await tempKeystore();
});
afterEach(async () => {
  await t.cleanup();
});

describe('Keystore', () => {
  it('generates a key, lists it, unlocks it and signs what its public key verifies', async () => {
    const info = await t.keystore.generate('targets', testPassphrase());
    expect(info.role).toBe('targets');
    expect(info.kind).toBe('software');
    expect(await t.keystore.list()).toEqual([info]);
    const signer = await t.keystore.unlock('targets', testPassphrase());
    expect(signer.keyId).toBe(info.keyId);
    const message = new TextEncoder().encode('{"signed":1}');
    const sig = await signer.sign({ purpose: 'tuf-metadata', message, subject: { kind: 'metadata', name: 'targets.json', version: 1 } });
    expect(sig).toHaveLength(64);
    expect(ed25519Verify(signer.publicKey, message, sig)).toBe(true);
    expect(signer.createdAt.toISOString().replace('.000Z', 'Z')).toBe(info.createdAt);
  });

  it('makes a 0700 directory and 0600 key files', async () => {
    const info = await t.keystore.generate('root', testPassphrase());
    expect((await stat(t.keystore.dir)).mode & 0o777).toBe(0o700);
    expect((await stat(info.file)).mode & 0o777).toBe(0o600);
    for (const name of await readdir(t.keystore.dir)) {
      expect((await stat(join(t.keystore.dir, name))).mode & 0o077, name).toBe(0);
    }
  });

  it('refuses a wrong passphrase with E_KEY_PASSPHRASE', async () => {
    await t.keystore.generate('snapshot', testPassphrase());
    expect(await codeOf(t.keystore.unlock('snapshot', testPassphrase('not the passphrase')))).toBe('E_KEY_PASSPHRASE');
  });

  it('unlocks by key id and by unique prefix; refuses unknown and ambiguous names', async () => {
    const a = await t.keystore.generate('root', testPassphrase());
    const b = await t.keystore.generate('root', testPassphrase());
    expect((await t.keystore.unlock(a.keyId, testPassphrase())).keyId).toBe(a.keyId);
    expect((await t.keystore.unlock(b.keyId.slice(0, 12), testPassphrase())).keyId).toBe(b.keyId);
    expect(await codeOf(t.keystore.unlock('root', testPassphrase()))).toBe('E_USAGE');
    expect(await codeOf(t.keystore.unlock('timestamp', testPassphrase()))).toBe('E_KEY_NOT_FOUND');
    expect(await codeOf(t.keystore.unlock('deadbeefdeadbeef', testPassphrase()))).toBe('E_KEY_NOT_FOUND');
    expect(await codeOf(t.keystore.unlock('nonsense', testPassphrase()))).toBe('E_USAGE');
  });

  it('refuses a signing purpose outside the key role (cross-protocol confusion)', async () => {
    await t.keystore.generate('minisign', testPassphrase());
    const signer = await t.keystore.unlock('minisign', testPassphrase());
    const req = { message: new Uint8Array(64), subject: { kind: 'artifact', name: 'x' } };
    expect(await codeOf(signer.sign({ ...req, purpose: 'tuf-metadata' }))).toBe('E_KEY_ROLE');
    expect(await codeOf(signer.sign({ ...req, purpose: 'openpgp' }))).toBe('E_KEY_ROLE');
    expect(await signer.sign({ ...req, purpose: 'minisign' })).toHaveLength(64);
  });

  it('refuses to sign a DSSE PAE as TUF metadata, or JSON as DSSE, with the targets key (both its formats)', async () => {
    await t.keystore.generate('targets', testPassphrase());
    const signer = await t.keystore.unlock('targets', testPassphrase());
    const subject = { kind: 'metadata', name: 'targets.json' };
    const paeBytes = new TextEncoder().encode('DSSEv1 28 application/vnd.in-toto+json 2 {}');
    const json = new TextEncoder().encode('{"_type":"targets"}');
    expect(await codeOf(signer.sign({ purpose: 'tuf-metadata', message: paeBytes, subject }))).toBe('E_KEY_ROLE');
    expect(await codeOf(signer.sign({ purpose: 'dsse', message: json, subject }))).toBe('E_KEY_ROLE');
    expect(await signer.sign({ purpose: 'tuf-metadata', message: json, subject })).toHaveLength(64);
    expect(await signer.sign({ purpose: 'dsse', message: paeBytes, subject })).toHaveLength(64);
    // A refused request leaves no audit entry.
    expect((await t.keystore.audit.entries()).filter((e) => e.event === 'sign')).toHaveLength(2);
  });

  it('refuses a passphrase too short for a new key', async () => {
    expect(await codeOf(t.keystore.generate('root', testPassphrase('short')))).toBe('E_PASSPHRASE_WEAK');
  });

  it('open refuses a missing keystore (E_NOT_INITIALISED) and a loose one (E_KEYSTORE_PERMISSIONS)', async () => {
    expect(await codeOf(Keystore.open(join(t.home, 'nope')))).toBe('E_NOT_INITIALISED');
    const info = await t.keystore.generate('root', testPassphrase());
    await chmod(t.keystore.dir, 0o755);
    expect(await codeOf(Keystore.open(t.keystore.dir, TEST_ONLY_KDF))).toBe('E_KEYSTORE_PERMISSIONS');
    expect(await codeOf(Keystore.create(t.keystore.dir, TEST_ONLY_KDF))).toBe('E_KEYSTORE_PERMISSIONS');
    await chmod(t.keystore.dir, 0o700);
    await chmod(info.file, 0o644);
    expect(await codeOf(Keystore.open(t.keystore.dir, TEST_ONLY_KDF))).toBe('E_KEYSTORE_PERMISSIONS');
    expect(await codeOf(t.keystore.unlock('root', testPassphrase()))).toBe('E_KEYSTORE_PERMISSIONS');
    await chmod(info.file, 0o600);
    await Keystore.open(t.keystore.dir, TEST_ONLY_KDF);
  });

  it('open refuses a directory that is not a keystore', async () => {
    const dir = join(t.home, 'plain');
    await mkdir(dir, { mode: 0o700 });
    expect(await codeOf(Keystore.open(dir))).toBe('E_NOT_INITIALISED');
    await writeFile(join(dir, 'x'), 'x', { mode: 0o600 });
    expect(await codeOf(Keystore.create(dir))).toBe('E_USAGE');
  });

  it('create is idempotent on an existing keystore', async () => {
    const info = await t.keystore.generate('root', testPassphrase());
    const again = await Keystore.create(t.keystore.dir, TEST_ONLY_KDF);
    expect(await again.list()).toEqual([info]);
  });

  it('refuses a key file that is a symlink', async () => {
    const info = await t.keystore.generate('root', testPassphrase());
    const real = join(t.home, 'elsewhere.key');
    await writeFile(real, await readFile(info.file), { mode: 0o600 });
    const { rm } = await import('node:fs/promises');
    await rm(info.file);
    await symlink(real, info.file);
    expect(await codeOf(t.keystore.unlock(info.keyId, testPassphrase()))).toBe('E_KEYSTORE_PERMISSIONS');
    expect(await codeOf(Keystore.open(t.keystore.dir, TEST_ONLY_KDF))).toBe('E_KEYSTORE_PERMISSIONS');
  });

  it('changes a passphrase: the new one unlocks the same key, the old one no longer does', async () => {
    const info = await t.keystore.generate('timestamp', testPassphrase());
    const before = await readFile(info.file, 'utf8');
    await t.keystore.changePassphrase(info.keyId, testPassphrase(), testPassphrase('a new passphrase'));
    const after = await readFile(info.file, 'utf8');
    expect(after).not.toBe(before);
    expect(JSON.parse(after).kdf.salt).not.toBe(JSON.parse(before).kdf.salt);
    expect((await stat(info.file)).mode & 0o777).toBe(0o600);
    expect(await codeOf(t.keystore.unlock(info.keyId, testPassphrase()))).toBe('E_KEY_PASSPHRASE');
    const signer = await t.keystore.unlock(info.keyId, testPassphrase('a new passphrase'));
    expect(signer.keyId).toBe(info.keyId);
    expect((await readdir(t.keystore.dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('a wrong old passphrase leaves the key file untouched', async () => {
    const info = await t.keystore.generate('timestamp', testPassphrase());
    const before = await readFile(info.file);
    expect(await codeOf(t.keystore.changePassphrase(info.keyId, testPassphrase('wrong wrong'), testPassphrase('a new passphrase')))).toBe('E_KEY_PASSPHRASE');
    expect(await readFile(info.file)).toEqual(before);
  });
});
