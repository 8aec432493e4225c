// The apt part of `airlock sync` believes a host's Release only when Release.gpg and
// InRelease verify under the copy's own pgp keys (keys/release-signing.asc) and InRelease
// is exactly Release signed: a host must not hand the copy apt indices the pgp key never
// signed (the next release would re-sign them).
import { describe, expect, it } from 'vitest';
import { openpgpCertificate, openpgpClearsign, openpgpDetachedSignature } from '../../lib/repo/compat/index.js';
import { keyringWith } from '../../lib/repo/compat/key-history.js';
import { aptFilesOf } from '../../lib/repo/sync-apt.js';
import { codeOf } from '../support/error-codes.js';
import { memorySigner } from '../support/memory-signer.js';

const date = new Date('2026-03-01T00:00:00Z');
const RELEASE = 'Origin: demo\nLabel: demo\nSuite: stable\nCodename: stable\nDate: Sun, 01 Mar 2026 00:00:00 UTC\nSHA256:\n';
const subject = { kind: 'apt-release', name: 'apt/dists/stable/Release' };

/** A host's apt/dists/stable as airlock writes it, signed by `signers`. */
async function hostFiles(signers: Parameters<typeof openpgpClearsign>[0], text = RELEASE): Promise<Map<string, Uint8Array>> {
  return new Map([
    ['apt/dists/stable/Release', Buffer.from(text)],
    ['apt/dists/stable/Release.gpg', Buffer.from(await openpgpDetachedSignature(signers, Buffer.from(text), date, subject))],
    ['apt/dists/stable/InRelease', Buffer.from(await openpgpClearsign(signers, text, date, subject))],
  ]);
}

const from = (files: Map<string, Uint8Array>) => async (path: string) => files.get(path);

describe('sync takes a host\'s apt Release only signed by the copy\'s pgp keys', () => {
  for (const keyType of ['ed25519', 'ecdsa-p256'] as const) {
    it(`accepts Release, InRelease and Release.gpg signed by a key of the copy's keyring, co-signatures across a key change too (${keyType})`, async () => {
      const old = memorySigner('pgp', new Date('2026-01-01T00:00:00Z'), keyType);
      const current = memorySigner('pgp', new Date('2026-02-01T00:00:00Z'), keyType);
      const keyring = keyringWith(await openpgpCertificate(current, 'Demo <r@example.org>'), await openpgpCertificate(old, 'Demo <r@example.org>')).text;
      for (const signers of [current, old, [current, old]]) {
        const apt = await aptFilesOf(['stable'], from(await hostFiles(signers)), new Map(), keyring);
        expect(apt.indices.map((i) => i.path).sort()).toEqual(['apt/dists/stable/InRelease', 'apt/dists/stable/Release', 'apt/dists/stable/Release.gpg']);
      }
    });
  }

  it('refuses a tampered InRelease, an InRelease of other text, a missing or foreign signature (E_APT_SIGNATURE)', async () => {
    const pgp = memorySigner('pgp');
    const keyring = await openpgpCertificate(pgp, 'Demo <r@example.org>');
    const good = await hostFiles(pgp);
    expect((await aptFilesOf(['stable'], from(good), new Map(), keyring)).indices).toHaveLength(3);

    const tampered = new Map(good);
    tampered.set('apt/dists/stable/InRelease', Buffer.from(Buffer.from(good.get('apt/dists/stable/InRelease')!).toString('utf8').replace('Label: demo', 'Label: evil')));
    expect(await codeOf(aptFilesOf(['stable'], from(tampered), new Map(), keyring))).toBe('E_APT_SIGNATURE');

    // A validly signed InRelease of another Release (an older one, say) next to this Release.
    const other = new Map(good);
    other.set('apt/dists/stable/InRelease', (await hostFiles(pgp, RELEASE.replace('Label: demo', 'Label: old'))).get('apt/dists/stable/InRelease')!);
    expect(await codeOf(aptFilesOf(['stable'], from(other), new Map(), keyring))).toBe('E_APT_SIGNATURE');

    const unsignedRelease = new Map(good);
    unsignedRelease.delete('apt/dists/stable/Release.gpg');
    expect(await codeOf(aptFilesOf(['stable'], from(unsignedRelease), new Map(), keyring))).toBe('E_APT_SIGNATURE');

    const foreign = await hostFiles(memorySigner('pgp'));
    expect(await codeOf(aptFilesOf(['stable'], from(foreign), new Map(), keyring))).toBe('E_APT_SIGNATURE');
    // A copy with no pgp key believes no Release.
    expect(await codeOf(aptFilesOf(['stable'], from(good), new Map(), undefined))).toBe('E_APT_SIGNATURE');
  });
});
