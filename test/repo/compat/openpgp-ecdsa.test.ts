// OpenPGP with an ECDSA P-256 pgp key (RFC 6637): the certificate, detached signatures
// and a cleartext signature, judged by GnuPG 2.2 itself (gpg --list-packets, gpgv).
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openpgpCertificate, openpgpClearsign, openpgpDetachedSignature } from '../../../lib/repo/compat/index.js';
import { beginDetachedSignature, openpgpFingerprint } from '../../../lib/repo/compat/openpgp-sign.js';
import { gpgStatus, run, tempDir } from '../../support/compat-tools.js';
import { memorySigner } from '../../support/memory-signer.js';

describe('OpenPGP with an ECDSA P-256 key', () => {
  it('writes a v4 ECDSA NIST P-256 key and signatures that gpg and gpgv accept, and a changed byte they refuse', async () => {
    const pgp = memorySigner('pgp', new Date('2026-01-01T00:00:00Z'), 'ecdsa-p256');
    const dir = await tempDir('compat-pgp-ecdsa');
    try {
      const keyAsc = join(dir.path, 'key.asc');
      await writeFile(keyAsc, await openpgpCertificate(pgp, 'P-256 Releases <releases@example.org>'));
      const packets = run('gpg', ['--batch', '--list-packets', keyAsc]);
      expect(packets.status, packets.stderr).toBe(0);
      // algo 19 = ECDSA, on nistp256 (RFC 6637 OID 2A8648CE3D030107)
      expect(packets.stdout).toMatch(/:public key packet:\n\s+version 4, algo 19,/);
      expect(packets.stdout).toContain('nistp256');
      expect(packets.stdout).toMatch(/:signature packet: algo 19,/);
      const home = join(dir.path, 'gnupg');
      run('mkdir', ['-m', '700', home]);
      const imported = run('gpg', ['--homedir', home, '--batch', '--status-fd', '1', '--import', keyAsc]);
      expect(imported.status, imported.stderr).toBe(0);
      expect(gpgStatus(imported.stdout).some((s) => s[0] === 'IMPORT_OK' && s[2] === openpgpFingerprint(pgp))).toBe(true);
      run('gpg', ['--batch', '--yes', '--output', join(dir.path, 'key.gpg'), '--dearmor', keyAsc]);

      const data = Buffer.from('the artifact bytes\n'.repeat(1000));
      await writeFile(join(dir.path, 'artifact'), data);
      await writeFile(join(dir.path, 'artifact.asc'), await openpgpDetachedSignature(pgp, data, new Date('2026-02-01T00:00:00Z'), { kind: 'artifact', name: 'artifact' }));
      const ok = run('gpgv', ['--status-fd', '1', '--keyring', join(dir.path, 'key.gpg'), join(dir.path, 'artifact.asc'), join(dir.path, 'artifact')]);
      expect(ok.status, ok.stderr).toBe(0);
      expect(gpgStatus(ok.stdout).find((s) => s[0] === 'VALIDSIG')?.[1]).toBe(openpgpFingerprint(pgp));

      // Streaming path (how artifacts are signed), and the same check refusing other bytes.
      const pending = beginDetachedSignature(pgp, new Date('2026-02-01T00:00:00Z'));
      await writeFile(join(dir.path, 'stream.asc'), await pending.finish(createHash('sha256').update(data), { kind: 'artifact', name: 'stream' }, () => [data]));
      expect(run('gpgv', ['--keyring', join(dir.path, 'key.gpg'), join(dir.path, 'stream.asc'), join(dir.path, 'artifact')]).status).toBe(0);
      const other = Buffer.from(data);
      other[10]! ^= 1;
      await writeFile(join(dir.path, 'artifact'), other);
      expect(run('gpgv', ['--keyring', join(dir.path, 'key.gpg'), join(dir.path, 'artifact.asc'), join(dir.path, 'artifact')]).status).not.toBe(0);

      const text = 'Origin: p256\nSuite: stable\n';
      await writeFile(join(dir.path, 'InRelease'), await openpgpClearsign(pgp, text, new Date('2026-02-01T00:00:00Z'), { kind: 'apt-release', name: 'InRelease' }));
      const clear = run('gpgv', ['--keyring', join(dir.path, 'key.gpg'), '--output', '-', join(dir.path, 'InRelease')]);
      expect(clear.status, clear.stderr).toBe(0);
      expect(clear.stdout).toBe(text);
    } finally {
      await dir.remove();
    }
  });
});
