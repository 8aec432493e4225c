// keys/KEYS, Apache/Maven style, judged by GnuPG: every key it lists imports, and a
// release signed by the current or an earlier key verifies with keys taken from KEYS only.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openpgpCertificate, openpgpFingerprint, updateKeysFile, writeReleaseSignatures } from '../../../lib/repo/compat/index.js';
import { parseKeysFile } from '../../../lib/repo/compat/keys-file.js';
import { codeOf } from '../../support/error-codes.js';
import { flipByte, gpgStatus, run, tempDir } from '../../support/compat-tools.js';
import { memorySigner } from '../../support/memory-signer.js';

const oldPgp = memorySigner('pgp', new Date('2025-06-01T00:00:00Z'));
const newPgp = memorySigner('pgp', new Date('2026-01-01T00:00:00Z'));
const mini = memorySigner('minisign', new Date('2025-06-01T00:00:00Z'));
const uid = 'Demo Releases <releases@example.org>';
let dir: { path: string; remove(): Promise<void> };
let keys: string;

async function signRelease(version: string, pgp: typeof oldPgp): Promise<string> {
  const d = join(dir.path, 'releases', version);
  await mkdir(d, { recursive: true });
  await writeFile(join(d, `demo-${version}.tar.gz`), randomBytes(100_000));
  await writeReleaseSignatures({ dir: d, files: [`demo-${version}.tar.gz`], project: 'demo', version, pgp, minisign: mini, date: new Date('2026-02-01T00:00:00Z') });
  await updateKeysFile(keys, keys, pgp, uid, await openpgpCertificate(pgp, uid));
  return d;
}

beforeAll(async () => {
  dir = await tempDir('compat-keys');
  keys = join(dir.path, 'keys');
  await mkdir(keys, { recursive: true });
  await signRelease('1.0.0', oldPgp);
  await signRelease('2.0.0', newPgp);
  await signRelease('2.1.0', newPgp);
});

afterAll(async () => {
  await dir.remove();
});

describe('keys/KEYS', () => {
  it('lists every key used, current first, each as a pub/uid listing and its armored key', async () => {
    const text = await readFile(join(keys, 'KEYS'), 'utf8');
    expect(parseKeysFile(text).map((e) => e.fingerprint)).toEqual([openpgpFingerprint(newPgp), openpgpFingerprint(oldPgp)]);
    expect(text).toContain(`pub   ed25519 2026-01-01 [S]\n      ${openpgpFingerprint(newPgp)}\nuid           ${uid}\n\n-----BEGIN PGP PUBLIC KEY BLOCK-----\n`);
  });

  it('gpg --import KEYS imports both keys; gpg --verify accepts every release and refuses a flipped byte', async () => {
    const home = await tempDir('gnupg-keys');
    try {
      const imp = run('gpg', ['--homedir', home.path, '--batch', '--status-fd', '1', '--import', join(keys, 'KEYS')]);
      expect(imp.status, imp.stderr).toBe(0);
      expect(gpgStatus(imp.stdout).filter((s) => s[0] === 'IMPORT_OK').map((s) => s[2]).sort()).toEqual([openpgpFingerprint(newPgp), openpgpFingerprint(oldPgp)].sort());
      for (const [version, signer] of [
        ['1.0.0', oldPgp],
        ['2.0.0', newPgp],
      ] as const) {
        const file = join(dir.path, 'releases', version, `demo-${version}.tar.gz`);
        const r = run('gpg', ['--homedir', home.path, '--batch', '--status-fd', '1', '--verify', `${file}.asc`, file]);
        expect(r.status, r.stderr).toBe(0);
        expect(gpgStatus(r.stdout).find((s) => s[0] === 'VALIDSIG')?.[1]).toBe(openpgpFingerprint(signer));
        const original = await readFile(file);
        await writeFile(file, flipByte(original, 50_000));
        const bad = run('gpg', ['--homedir', home.path, '--batch', '--status-fd', '1', '--verify', `${file}.asc`, file]);
        await writeFile(file, original);
        expect(bad.status).not.toBe(0);
        expect(gpgStatus(bad.stdout).some((s) => s[0] === 'BADSIG')).toBe(true);
      }
    } finally {
      await home.remove();
    }
  });

  it('refuses a KEYS file with a block it did not write', async () => {
    const text = await readFile(join(keys, 'KEYS'), 'utf8');
    expect(await codeOf(() => (parseKeysFile(`${text}\n-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n`)))).toBe('E_KEYS_FORMAT');
  });
});
