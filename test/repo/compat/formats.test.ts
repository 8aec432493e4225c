// The format modules on their own: what they write parses back, what they parse is
// checked, and the cleartext framework survives GnuPG's reading of awkward text.
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ed25519Verify } from '../../../lib/core/ed25519.js';
import { debPackageFromControl, poolPath } from '../../../lib/repo/compat/deb-package.js';
import { formatParagraphs, parseParagraphs } from '../../../lib/repo/compat/deb822.js';
import { minisignPublicKey, openpgpCertificate, openpgpClearsign } from '../../../lib/repo/compat/index.js';
import {
  minisignKeyIdHex,
  minisignKeyNumber,
  minisignSignature,
  parseMinisignPublicKey,
  parseMinisignSignature,
  releaseTrustedComment,
} from '../../../lib/repo/compat/minisign.js';
import { armor, crc24, dearmor } from '../../../lib/repo/compat/openpgp-armor.js';
import { mpi, packet } from '../../../lib/repo/compat/openpgp-packet.js';
import { formatSha256Sums, parseSha256Sums } from '../../../lib/repo/compat/sha256sums.js';
import { run, tempDir } from '../../support/compat-tools.js';
import { memorySigner } from '../../support/memory-signer.js';
import { codeOfSync as codeOf, expectCode } from '../../support/error-codes.js';

describe('OpenPGP encoding', () => {
  it('computes CRC-24 as RFC 4880 §6.1 defines it', () => {
    expect(crc24(new Uint8Array())).toBe(0xb704ce);
    // Same check value as GnuPG's armor of "123456789".
    expect(crc24(new Uint8Array(Buffer.from('123456789')))).toBe(0x21cf02);
  });

  it('armors and dearmors, and notices a changed checksum', () => {
    const data = new Uint8Array(Buffer.from('any packets at all, long enough to wrap the base64 lines of the armor block'));
    const text = armor('PGP SIGNATURE', data);
    expect(dearmor(text).data).toEqual(data);
    expect(() => dearmor(text.replace(/\n=(....)/, '\n=AAAA'))).toThrow(/checksum/);
  });

  it('encodes packet lengths in one, two and five octets', () => {
    expect([...packet(2, new Uint8Array(191)).subarray(0, 2)]).toEqual([0xc2, 191]);
    expect([...packet(2, new Uint8Array(192)).subarray(0, 3)]).toEqual([0xc2, 192, 0]);
    expect([...packet(2, new Uint8Array(8383)).subarray(0, 3)]).toEqual([0xc2, 223, 255]);
    expect([...packet(2, new Uint8Array(8384)).subarray(0, 6)]).toEqual([0xc2, 0xff, 0, 0, 0x20, 0xc0]);
  });

  it('writes MPIs without leading zeros and with the exact bit count', () => {
    expect([...mpi(Uint8Array.of(0, 0, 1))]).toEqual([0, 1, 1]);
    expect([...mpi(Uint8Array.of(0x40, 0))]).toEqual([0, 15, 0x40, 0]);
    expect([...mpi(Uint8Array.of(0xff))]).toEqual([0, 8, 0xff]);
  });

  it('clearsigns text GnuPG reads back exactly: dash-escaped lines, "From "; refuses trailing blanks', async () => {
    const pgp = memorySigner('pgp');
    const dir = await tempDir('compat-clearsign');
    try {
      await writeFile(join(dir.path, 'key.asc'), await openpgpCertificate(pgp, 'Clear Signer'));
      run('gpg', ['--batch', '--yes', '--output', join(dir.path, 'key.gpg'), '--dearmor', join(dir.path, 'key.asc')]);
      // Trailing blanks are dropped from what a cleartext signature covers, so text
      // holding them is refused rather than signed as something else (CVE-2025-68972).
      await expectCode(openpgpClearsign(pgp, 'trailing   \n', new Date('2026-02-01T00:00:00Z'), { kind: 'test', name: 'clear' }), 'E_CLEARSIGN_TEXT');
      const text = 'Origin: x\n-----BEGIN PGP SIGNATURE-----\n- dash\nFrom here\n\nlast line\n';
      const signed = await openpgpClearsign(pgp, text, new Date('2026-02-01T00:00:00Z'), { kind: 'test', name: 'clear' });
      expect(signed).toContain('\n- -----BEGIN PGP SIGNATURE-----\n- - dash\n- From here\n');
      await writeFile(join(dir.path, 'msg.asc'), signed);
      const r = run('gpgv', ['--keyring', join(dir.path, 'key.gpg'), '--output', '-', join(dir.path, 'msg.asc')]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(text);
      // Changing one word of the text breaks the signature.
      await writeFile(join(dir.path, 'bad.asc'), signed.replace('last line', 'lost line'));
      expect(run('gpgv', ['--keyring', join(dir.path, 'key.gpg'), join(dir.path, 'bad.asc')]).status).not.toBe(0);
    } finally {
      await dir.remove();
    }
  });
});

describe('minisign format', () => {
  const signer = memorySigner('minisign');

  it('writes a public key that parses back, with the derived key number in its comment', () => {
    const text = minisignPublicKey(signer);
    const parsed = parseMinisignPublicKey(text);
    expect(parsed.publicKey).toEqual(signer.publicKey);
    const keyNumber = new Uint8Array(createHash('sha256').update('airlock minisign key id\0').update(signer.publicKey).digest().subarray(0, 8));
    expect(parsed.keyNumber).toEqual(keyNumber);
    expect(text.split('\n')[0]).toBe(`untrusted comment: minisign public key ${minisignKeyIdHex(keyNumber)}`);
    expect(minisignKeyIdHex(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))).toBe('0807060504030201');
  });

  it('writes a prehashed signature whose two Ed25519 signatures verify as the spec defines them', async () => {
    const digest = new Uint8Array(createHash('blake2b512').update('file').digest());
    const comment = releaseTrustedComment({ timestamp: new Date(1_700_000_000_000), file: 'f.tar.gz', project: 'p', version: '1' });
    const sig = parseMinisignSignature(await minisignSignature(signer, digest, comment, { kind: 'test', name: 'f' }));
    expect(sig.algorithm).toBe('ED');
    expect(sig.keyNumber).toEqual(minisignKeyNumber(signer.publicKey));
    expect(sig.trustedComment).toBe('timestamp:1700000000\tfile:f.tar.gz\tproject:p\tversion:1\thashed');
    expect(ed25519Verify(signer.publicKey, digest, sig.signature)).toBe(true);
    expect(ed25519Verify(signer.publicKey, new Uint8Array(Buffer.concat([sig.signature, Buffer.from(sig.trustedComment)])), sig.globalSignature)).toBe(true);
  });

  it('refuses malformed key and signature files', () => {
    expect(codeOf(() => parseMinisignPublicKey('untrusted comment: x\nRWQ=\n'))).toBe('E_MINISIGN_FORMAT');
    expect(codeOf(() => parseMinisignSignature('nothing\n'))).toBe('E_MINISIGN_FORMAT');
  });
});

describe('SHA256SUMS', () => {
  it('sorts by name in byte order and parses back', () => {
    const a = 'a'.repeat(64);
    const b = 'b'.repeat(64);
    const text = formatSha256Sums([{ name: 'b.txt', sha256: b }, { name: 'B.txt', sha256: a }, { name: 'a.txt', sha256: a }]);
    expect(text).toBe(`${a}  B.txt\n${a}  a.txt\n${b}  b.txt\n`);
    expect(parseSha256Sums(text).map((e) => e.name)).toEqual(['B.txt', 'a.txt', 'b.txt']);
  });

  it('refuses duplicate names and malformed lines', () => {
    expect(codeOf(() => formatSha256Sums([{ name: 'x', sha256: 'a'.repeat(64) }, { name: 'x', sha256: 'a'.repeat(64) }]))).toBe('E_ARTIFACT_NAME');
    expect(codeOf(() => parseSha256Sums('not a sums line\n'))).toBe('E_SUMS_FORMAT');
  });
});

describe('Debian control data', () => {
  it('keeps continuation lines and field order through parse and format', () => {
    const text = 'Package: a\nDescription: short\n long line\n .\n more\n\nPackage: b\nSHA256:\n 00 1 x\n';
    const ps = parseParagraphs(text, 'test');
    expect(ps).toHaveLength(2);
    expect(formatParagraphs(ps)).toBe(text);
  });

  it('refuses duplicate fields and stray continuation lines', () => {
    expect(codeOf(() => parseParagraphs('Package: a\nPackage: b\n', 'test'))).toBe('E_APT_INDEX');
    expect(codeOf(() => parseParagraphs(' orphan\n', 'test'))).toBe('E_APT_INDEX');
  });

  it('refuses control fields that would escape the pool or break index keys', () => {
    const base = { Package: 'demo', Version: '1.0', Architecture: 'all' };
    const control = (f: Record<string, string>) => Object.entries(f).map(([k, v]) => `${k}: ${v}\n`).join('');
    expect(codeOf(() => debPackageFromControl(control({ ...base, Package: '../evil' }), 'x.deb'))).toBe('E_DEB_INVALID');
    expect(codeOf(() => debPackageFromControl(control({ ...base, Version: '1 0' }), 'x.deb'))).toBe('E_DEB_INVALID');
    expect(codeOf(() => debPackageFromControl(control({ ...base, Architecture: 'amd64/../x' }), 'x.deb'))).toBe('E_DEB_INVALID');
    expect(codeOf(() => debPackageFromControl(control({ ...base, Source: '../x' }), 'x.deb'))).toBe('E_DEB_INVALID');
    expect(codeOf(() => debPackageFromControl(control({ Package: 'demo', Version: '1.0' }), 'x.deb'))).toBe('E_DEB_INVALID');
  });

  it('lays out the pool as Debian does: libX prefixes, no epoch in file names, Source names the directory', () => {
    expect(poolPath(debPackageFromControl('Package: libfoo1\nSource: libfoo (1.0)\nVersion: 3:1.0-2\nArchitecture: amd64\n', 'x'))).toBe('pool/main/libf/libfoo/libfoo1_1.0-2_amd64.deb');
    expect(poolPath(debPackageFromControl('Package: demo\nVersion: 1.0\nArchitecture: all\n', 'x'))).toBe('pool/main/d/demo/demo_1.0_all.deb');
  });
});

describe('lib/repo/compat imports', () => {
  it('uses only node built-ins, lib/core, the Signer types and its own modules', async () => {
    const dir = new URL('../../../lib/repo/compat/', import.meta.url);
    for (const name of await readdir(dir)) {
      if (!name.endsWith('.ts')) continue;
      const source = await readFile(new URL(name, dir), 'utf8');
      for (const m of source.matchAll(/^(?:import|export)[^'"]*from '([^']+)'/gm)) {
        expect(m[1], `${name}`).toMatch(/^(node:|\.\.\/\.\.\/core\/|\.\.\/\.\.\/keys\/signer\.js$|\.\/)/);
      }
    }
  });
});
