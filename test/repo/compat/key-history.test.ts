// Key history a downloader can follow (issue 16.3): after the pgp or minisign key
// changes, a release signed by the old key still verifies with what keys/ publishes —
// real gpgv with the published keyring (current key first, every earlier one after),
// real minisign with keys/minisign-<KEYID>.pub.
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyringWith, minisignKeyId, writeKeyHistory } from '../../../lib/repo/compat/key-history.js';
import { openpgpCertificate, openpgpDetachedSignature, openpgpFingerprint } from '../../../lib/repo/compat/index.js';
import { parseKeysFile } from '../../../lib/repo/compat/keys-file.js';
import { updateKeysFile } from '../../../lib/repo/compat/published-keys.js';
import { minisignSignature } from '../../../lib/repo/compat/minisign.js';
import { memorySigner } from '../../support/memory-signer.js';
import { run, tempDir } from '../../support/compat-tools.js';

const when = new Date('2026-03-01T00:00:00Z');
const data = Buffer.from('hello 1.0.0 tarball bytes\n');
let dir: { path: string; remove(): Promise<void> };

beforeAll(async () => {
  dir = await tempDir('airlock-key-history-');
});
afterAll(async () => {
  await dir?.remove();
});

describe('keys/ history across a key change', () => {
  it('gpgv verifies a release signed by the old pgp key, and the new one, with the published keyring', async () => {
    const oldKey = memorySigner('pgp');
    const newKey = memorySigner('pgp');
    const repoKeys = join(dir.path, 'pgp', 'repo-keys');
    const staged = join(dir.path, 'pgp', 'staged');
    await mkdir(repoKeys, { recursive: true });
    // Release 1 published the old key; the key was replaced before release 2.
    expect((await writeKeyHistory(repoKeys, repoKeys, { pgpCertificate: await openpgpCertificate(oldKey, 'Demo Releases') })).pgpChanged).toBe(true);
    const same = await writeKeyHistory(repoKeys, staged, { pgpCertificate: await openpgpCertificate(oldKey, 'Demo Releases') });
    expect(same.pgpChanged).toBe(false);
    const changed = await writeKeyHistory(repoKeys, staged, { pgpCertificate: await openpgpCertificate(newKey, 'Demo Releases') });
    expect(changed.pgpChanged).toBe(true);

    const work = join(dir.path, 'pgp');
    await writeFile(join(work, 'hello.tar.gz'), data);
    await writeFile(join(work, 'old.asc'), await openpgpDetachedSignature(oldKey, data, when, { kind: 'test', name: 'hello.tar.gz' }));
    await writeFile(join(work, 'new.asc'), await openpgpDetachedSignature(newKey, data, when, { kind: 'test', name: 'hello.tar.gz' }));
    const home = join(work, 'gnupg');
    await mkdir(home, { mode: 0o700 });
    const dearmored = run('gpg', ['--homedir', home, '--batch', '--yes', '--dearmor', '-o', join(work, 'keyring.gpg'), join(staged, 'release-signing.asc')]);
    expect(dearmored.status, dearmored.stderr).toBe(0);
    for (const [sig, key] of [['old.asc', oldKey], ['new.asc', newKey]] as const) {
      const v = run('gpgv', ['--homedir', home, '--keyring', join(work, 'keyring.gpg'), '--status-fd', '1', join(work, sig), join(work, 'hello.tar.gz')]);
      expect(v.status, v.stderr).toBe(0);
      expect(v.stdout).toContain(`VALIDSIG ${openpgpFingerprint(key)}`);
    }
    // Current key first, as the layout promises.
    const shown = run('gpg', ['--homedir', home, '--batch', '--with-colons', '--show-keys', join(staged, 'release-signing.asc')]);
    const fprs = shown.stdout.split('\n').filter((l) => l.startsWith('fpr:')).map((l) => l.split(':')[9]);
    expect(fprs).toEqual([openpgpFingerprint(newKey), openpgpFingerprint(oldKey)]);
    // The same key again changes nothing; an old key coming back moves to the front once.
    await cp(join(staged, 'release-signing.asc'), join(repoKeys, 'release-signing.asc'));
    const back = keyringWith(await openpgpCertificate(oldKey, 'Demo Releases'), await readFile(join(repoKeys, 'release-signing.asc'), 'utf8'));
    const backShown = run('gpg', ['--homedir', home, '--batch', '--with-colons', '--show-keys'], { input: back.text });
    expect(backShown.stdout.split('\n').filter((l) => l.startsWith('fpr:')).map((l) => l.split(':')[9])).toEqual([openpgpFingerprint(oldKey), openpgpFingerprint(newKey)]);
  });

  it('minisign verifies a release signed by the old key with keys/minisign-<KEYID>.pub', async () => {
    const oldKey = memorySigner('minisign');
    const newKey = memorySigner('minisign');
    const keys = join(dir.path, 'minisign', 'keys');
    await mkdir(keys, { recursive: true });
    await writeKeyHistory(keys, keys, { minisign: oldKey });
    const r = await writeKeyHistory(keys, keys, { minisign: newKey });
    expect(r.minisignChanged).toBe(true);
    expect((await readdir(keys)).sort()).toEqual([`minisign-${minisignKeyId(newKey)}.pub`, `minisign-${minisignKeyId(oldKey)}.pub`, 'minisign.pub'].sort());
    expect(await readFile(join(keys, 'minisign.pub'), 'utf8')).toBe(await readFile(join(keys, `minisign-${minisignKeyId(newKey)}.pub`), 'utf8'));

    const file = join(dir.path, 'minisign', 'hello.tar.gz');
    await writeFile(file, data);
    const prehash = createHash('blake2b512').update(data).digest();
    await writeFile(`${file}.minisig`, await minisignSignature(oldKey, prehash, 'timestamp:1772323200\tfile:hello.tar.gz', { kind: 'test', name: 'hello.tar.gz' }));
    const withOld = run('minisign', ['-V', '-m', file, '-p', join(keys, `minisign-${minisignKeyId(oldKey)}.pub`)]);
    expect(withOld.status, withOld.stderr).toBe(0);
    // The current key alone does not verify it: the per-id file is what makes it possible.
    expect(run('minisign', ['-V', '-m', file, '-p', join(keys, 'minisign.pub')]).status).not.toBe(0);
  });

  it('a new user id on the same key replaces its block in release-signing.asc and KEYS: gpg sees one key, with the new user id', async () => {
    const earlier = memorySigner('pgp');
    const key = memorySigner('pgp');
    const base = join(dir.path, 'uid');
    const repoKeys = join(base, 'repo-keys');
    const staged = join(base, 'staged');
    await mkdir(repoKeys, { recursive: true });
    await mkdir(staged, { recursive: true });
    // Published so far: the earlier key, then the current key under its first user id.
    for (const [k, uid] of [[earlier, 'Demo Releases'], [key, 'Demo Releases']] as const) {
      const cert = await openpgpCertificate(k, uid);
      await writeKeyHistory(repoKeys, repoKeys, { pgpCertificate: cert });
      await updateKeysFile(repoKeys, repoKeys, k, uid, cert);
    }
    const newUid = 'Demo Releases <releases@example.org>';
    const cert = await openpgpCertificate(key, newUid);
    const r = await writeKeyHistory(repoKeys, staged, { pgpCertificate: cert });
    // Same key material: not a key change users must act on.
    expect(r.pgpChanged).toBe(false);
    expect(r.openpgp).toEqual({ fingerprint: openpgpFingerprint(key) });
    await updateKeysFile(repoKeys, staged, key, newUid, cert);
    expect(parseKeysFile(await readFile(join(staged, 'KEYS'), 'utf8')).map((e) => [e.fingerprint, e.userId])).toEqual([
      [openpgpFingerprint(key), newUid],
      [openpgpFingerprint(earlier), 'Demo Releases'],
    ]);
    for (const file of ['release-signing.asc', 'KEYS']) {
      const home = join(base, `gnupg-${file}`);
      await mkdir(home, { mode: 0o700 });
      const shown = run('gpg', ['--homedir', home, '--batch', '--with-colons', '--show-keys', join(staged, file)]);
      expect(shown.stdout.split('\n').filter((l) => l.startsWith('fpr:')).map((l) => l.split(':')[9])).toEqual([openpgpFingerprint(key), openpgpFingerprint(earlier)]);
      const imported = run('gpg', ['--homedir', home, '--batch', '--import', join(staged, file)]);
      expect(imported.status, imported.stderr).toBe(0);
      const listed = run('gpg', ['--homedir', home, '--batch', '--with-colons', '--list-keys', openpgpFingerprint(key)]);
      expect(listed.stdout.split('\n').filter((l) => l.startsWith('pub:'))).toHaveLength(1);
      expect(listed.stdout.split('\n').filter((l) => l.startsWith('uid:')).map((l) => l.split(':')[9])).toEqual([newUid]);
    }
    // Written again with the same certificate: nothing changes.
    await cp(join(staged, 'release-signing.asc'), join(repoKeys, 'release-signing.asc'));
    expect(keyringWith(cert, await readFile(join(repoKeys, 'release-signing.asc'), 'utf8')).changed).toBe(false);
  });
});
