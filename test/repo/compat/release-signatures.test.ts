import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { minisignPublicKey, openpgpCertificate, openpgpFingerprint, writeReleaseSignatures } from '../../../lib/repo/compat/index.js';
import { flipByte, gpgStatus, run, tempDir } from '../../support/compat-tools.js';
import { memorySigner } from '../../support/memory-signer.js';
import { expectCode } from '../../support/error-codes.js';

const pgp = memorySigner('pgp');
const mini = memorySigner('minisign');
const files = ['demo-1.0.0.tar.gz', 'demo_1.0.0_all.deb', 'notes with space.txt', 'empty'];
const signedAt = new Date('2026-02-03T04:05:06Z');
let dir: { path: string; remove(): Promise<void> };
let keys: string;
let written: string[];

beforeAll(async () => {
  dir = await tempDir('compat-sigs');
  keys = join(dir.path, 'keys');
  await writeFile(join(dir.path, files[0]!), randomBytes(3 * 1024 * 1024 + 17));
  await writeFile(join(dir.path, files[1]!), randomBytes(4096));
  await writeFile(join(dir.path, files[2]!), '-----BEGIN not armor\nline with trailing space \n');
  await writeFile(join(dir.path, files[3]!), '');
  run('mkdir', ['-p', keys]);
  await writeFile(join(keys, 'release-signing.asc'), await openpgpCertificate(pgp, 'Demo Releases <releases@example.org>'));
  await writeFile(join(keys, 'minisign.pub'), minisignPublicKey(mini));
  written = await writeReleaseSignatures({ dir: dir.path, files, project: 'demo', version: '1.0.0', pgp, minisign: mini, date: signedAt });
});

afterAll(async () => {
  await dir.remove();
});

describe('the OpenPGP certificate', () => {
  it('is imported by GnuPG 2.2 as a usable v4 EdDSA signing key (status output, not exit code)', async () => {
    const home = await tempDir('gnupg');
    try {
      const r = run('gpg', ['--homedir', home.path, '--batch', '--status-fd', '1', '--import', join(keys, 'release-signing.asc')]);
      const status = gpgStatus(r.stdout);
      expect(status.find((s) => s[0] === 'IMPORT_OK')?.[2]).toBe(openpgpFingerprint(pgp));
      // IMPORT_RES <count> <no_user_id> <imported> …: exactly one key imported.
      const res = status.find((s) => s[0] === 'IMPORT_RES')!;
      expect([res[1], res[3]]).toEqual(['1', '1']);
      const list = run('gpg', ['--homedir', home.path, '--batch', '--with-colons', '--list-keys']).stdout.split('\n');
      const pub = list.find((l) => l.startsWith('pub:'))!.split(':');
      expect(pub[3]).toBe('22'); // EdDSA
      expect(pub[11]).toContain('s');
      expect(pub[16]).toBe('ed25519');
      expect(list.find((l) => l.startsWith('fpr:'))!.split(':')[9]).toBe(openpgpFingerprint(pgp));
      expect(list.find((l) => l.startsWith('uid:'))).toContain('Demo Releases <releases@example.org>');
    } finally {
      await home.remove();
    }
  });

  it('is the same bytes every time for the same key', async () => {
    expect(await openpgpCertificate(pgp, 'Demo Releases <releases@example.org>')).toBe(await readFile(join(keys, 'release-signing.asc'), 'utf8'));
  });

  it('parses and self-verifies with openpgp.js', async () => {
    const key = await openpgp.readKey({ armoredKey: await readFile(join(keys, 'release-signing.asc'), 'utf8') });
    expect(key.getFingerprint().toUpperCase()).toBe(openpgpFingerprint(pgp));
    expect(key.getAlgorithmInfo()).toMatchObject({ algorithm: 'eddsaLegacy', curve: 'ed25519Legacy' });
    await expect(key.verifyPrimaryKey(signedAt)).resolves.toBeUndefined();
  });

  it('refuses a user ID with a line break', async () => {
    await expectCode(openpgpCertificate(pgp, 'a\nb'), 'E_USAGE');
  });
});

describe('writeReleaseSignatures', () => {
  it('writes a .asc, .minisig and .sha512 per file, then SHA256SUMS and its signatures', () => {
    expect(written).toEqual([...files.flatMap((f) => [`${f}.asc`, `${f}.minisig`, `${f}.sha512`]), 'SHA256SUMS', 'SHA256SUMS.asc', 'SHA256SUMS.minisig']);
  });

  it('gpgv accepts every .asc with the dearmored published key', () => {
    run('gpg', ['--batch', '--yes', '--output', join(keys, 'release-signing.gpg'), '--dearmor', join(keys, 'release-signing.asc')]);
    for (const f of [...files, 'SHA256SUMS']) {
      const r = run('gpgv', ['--status-fd', '1', '--keyring', join(keys, 'release-signing.gpg'), `${f}.asc`, f], { cwd: dir.path });
      expect(r.status, r.stderr).toBe(0);
      const validsig = gpgStatus(r.stdout).find((s) => s[0] === 'VALIDSIG')!;
      expect(validsig[1]).toBe(openpgpFingerprint(pgp));
      expect(validsig[3]).toBe(String(signedAt.getTime() / 1000));
    }
  });

  it('minisign accepts every .minisig and shows the trusted comment', () => {
    for (const f of [...files, 'SHA256SUMS']) {
      const r = run('minisign', ['-V', '-p', join(keys, 'minisign.pub'), '-m', f], { cwd: dir.path });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(`Trusted comment: timestamp:${signedAt.getTime() / 1000}\tfile:${f}\tproject:demo\tversion:1.0.0\thashed`);
    }
  });

  it('sha256sum -c accepts SHA256SUMS, which is sorted by name', async () => {
    const r = run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir.path });
    expect(r.status, r.stderr).toBe(0);
    const names = (await readFile(join(dir.path, 'SHA256SUMS'), 'utf8')).trimEnd().split('\n').map((l) => l.slice(66));
    expect(names).toEqual([...files].sort());
  });

  it('openpgp.js verifies the detached signatures independently', async () => {
    const verificationKeys = await openpgp.readKey({ armoredKey: await readFile(join(keys, 'release-signing.asc'), 'utf8') });
    for (const f of [files[1]!, 'SHA256SUMS']) {
      const message = await openpgp.createMessage({ binary: await readFile(join(dir.path, f)) });
      const signature = await openpgp.readSignature({ armoredSignature: await readFile(join(dir.path, `${f}.asc`), 'utf8') });
      const { signatures } = await openpgp.verify({ message, signature, verificationKeys, date: signedAt });
      await expect(signatures[0]!.verified).resolves.toBe(true);
    }
  });

  it('refuses a flipped byte in an artifact with each of gpgv, minisign and sha256sum', async () => {
    const f = files[0]!;
    const original = await readFile(join(dir.path, f));
    await writeFile(join(dir.path, f), flipByte(original, 1_234_567));
    try {
      expect(run('gpgv', ['--keyring', join(keys, 'release-signing.gpg'), `${f}.asc`, f], { cwd: dir.path }).status).not.toBe(0);
      expect(run('minisign', ['-V', '-p', join(keys, 'minisign.pub'), '-m', f], { cwd: dir.path }).status).not.toBe(0);
      expect(run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir.path }).status).not.toBe(0);
    } finally {
      await writeFile(join(dir.path, f), original);
    }
  });

  it('gives the same bytes when run again at the same time', async () => {
    const before = await readFile(join(dir.path, `${files[0]}.asc`), 'utf8');
    const beforeMini = await readFile(join(dir.path, 'SHA256SUMS.minisig'), 'utf8');
    await writeReleaseSignatures({ dir: dir.path, files, project: 'demo', version: '1.0.0', pgp, minisign: mini, date: signedAt });
    expect(await readFile(join(dir.path, `${files[0]}.asc`), 'utf8')).toBe(before);
    expect(await readFile(join(dir.path, 'SHA256SUMS.minisig'), 'utf8')).toBe(beforeMini);
  });

  it('reports progress per file', async () => {
    const seen = new Map<string, number>();
    await writeReleaseSignatures({ dir: dir.path, files: [files[0]!], project: 'demo', version: '1.0.0', pgp, minisign: mini, date: signedAt, onProgress: (f, b) => seen.set(f, b) });
    expect(seen.get(files[0]!)).toBe(3 * 1024 * 1024 + 17);
  });

  it('refuses keys of the wrong role (a key signs in one format only)', async () => {
    await expectCode(writeReleaseSignatures({ dir: dir.path, files: [files[1]!], project: 'demo', version: '1.0.0', pgp: mini, minisign: mini, date: signedAt }), 'E_KEY_ROLE');
    await expectCode(writeReleaseSignatures({ dir: dir.path, files: [files[1]!], project: 'demo', version: '1.0.0', pgp, minisign: pgp, date: signedAt }), 'E_KEY_ROLE');
  });

  it('refuses a signing time before the key was made (GnuPG would reject it)', async () => {
    await expectCode(writeReleaseSignatures({ dir: dir.path, files: [files[1]!], project: 'demo', version: '1.0.0', pgp, minisign: mini, date: new Date('2025-01-01T00:00:00Z') }), 'E_SIGNATURE_TIME');
  });

  it('refuses names that cannot be written into SHA256SUMS or a trusted comment', async () => {
    for (const bad of ['sub/dir.tar.gz', 'new\nline', 'back\\slash', 'SHA256SUMS']) {
      await expectCode(writeReleaseSignatures({ dir: dir.path, files: [bad], project: 'demo', version: '1.0.0', pgp, minisign: mini, date: signedAt }), 'E_ARTIFACT_NAME');
    }
    await expectCode(writeReleaseSignatures({ dir: dir.path, files: [files[1]!], project: 'de\tmo', version: '1.0.0', pgp, minisign: mini, date: signedAt }), 'E_ARTIFACT_NAME');
  });

  it('refuses a missing file with an I/O error', async () => {
    await expectCode(writeReleaseSignatures({ dir: dir.path, files: ['missing.tar.gz'], project: 'demo', version: '1.0.0', pgp, minisign: mini, date: signedAt }), 'E_IO');
  });

  it('refuses a signer whose signatures do not match its public key', async () => {
    const other = memorySigner('pgp');
    const liar = { ...pgp, sign: (r: Parameters<typeof pgp.sign>[0]) => other.sign(r) };
    await expectCode(writeReleaseSignatures({ dir: dir.path, files: [files[1]!], project: 'demo', version: '1.0.0', pgp: liar, minisign: mini, date: signedAt }), 'E_SIGNER_MISMATCH');
  });
});
