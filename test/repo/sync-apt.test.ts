// The apt part of `airlock sync` believes a host's Release only when Release.gpg and
// InRelease are signed by the CURRENT pgp key — the keystore's newest, else the first of
// the copy's keys/release-signing.asc; an earlier key may co-sign, never vouch alone — and
// InRelease is exactly Release signed: a holder of a retired key must not hand the copy apt
// indices its next release would re-sign. Nor an older Release, though validly signed: an
// earlier Date, a missing suite, or a Packages index without a package the copy's lists.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../lib/core/hex.js';
import { newestKeyOf } from '../../lib/keys/keystore.js';
import { openpgpCertificate, openpgpClearsign, openpgpDetachedSignature } from '../../lib/repo/compat/index.js';
import { keyringWith } from '../../lib/repo/compat/key-history.js';
import type { TargetFileInfo } from '../../lib/core/tuf-metadata.js';
import { aptFilesOf } from '../../lib/repo/sync-apt.js';
import { syncPgpKeys, type SyncPgpKeys } from '../../lib/repo/sync-pgp-keys.js';
import { codeOf } from '../support/error-codes.js';
import { memorySigner, type MemorySigner } from '../support/memory-signer.js';

const date = new Date('2026-03-01T00:00:00Z');
const RELEASE = 'Origin: demo\nLabel: demo\nSuite: stable\nCodename: stable\nDate: Sun, 01 Mar 2026 00:00:00 UTC\nSHA256:\n';
const subject = { kind: 'apt-release', name: 'apt/dists/stable/Release' };
type Signers = Parameters<typeof openpgpClearsign>[0];

/** A host's apt/dists/stable as airlock writes it, signed by `signers` (`gpgSigners` for Release.gpg, when other). */
async function hostFiles(signers: Signers, text = RELEASE, gpgSigners: Signers = signers): Promise<Map<string, Uint8Array>> {
  return new Map([
    ['apt/dists/stable/Release', Buffer.from(text)],
    ['apt/dists/stable/Release.gpg', Buffer.from(await openpgpDetachedSignature(gpgSigners, Buffer.from(text), date, subject))],
    ['apt/dists/stable/InRelease', Buffer.from(await openpgpClearsign(signers, text, date, subject))],
  ]);
}

const from = (files: ReadonlyMap<string, Uint8Array>) => async (path: string) => files.get(path);
const none = from(new Map());
const cert = (k: MemorySigner) => openpgpCertificate(k, 'Demo <r@example.org>');
/** The copy's keys/release-signing.asc after `current` replaced `earlier` (current first). */
async function keyring(current: MemorySigner, ...earlier: MemorySigner[]): Promise<string> {
  let ring: string | undefined;
  for (const k of [...earlier].reverse()) ring = keyringWith(await cert(k), ring).text;
  return keyringWith(await cert(current), ring).text;
}
const listed = (k: MemorySigner) => ({ role: 'pgp', publicKey: toHex(k.publicKey), createdAt: k.createdAt.toISOString(), keyType: k.keyType });
const apt = (files: ReadonlyMap<string, Uint8Array>, keys: SyncPgpKeys, own = none, targets: ReadonlyMap<string, TargetFileInfo> = new Map()) =>
  aptFilesOf(['stable'], from(files), targets, keys, own);

describe('sync takes a host\'s apt Release only signed by the current pgp key', () => {
  for (const keyType of ['ed25519', 'ecdsa-p256'] as const) {
    it(`accepts Release, InRelease and Release.gpg signed by the current key, alone or co-signed by an earlier one (${keyType})`, async () => {
      const old = memorySigner('pgp', new Date('2026-01-01T00:00:00Z'), keyType);
      const current = memorySigner('pgp', new Date('2026-02-01T00:00:00Z'), keyType);
      const keys = syncPgpKeys(await keyring(current, old));
      for (const signers of [current, [current, old], [old, current]]) {
        const r = await apt(await hostFiles(signers), keys);
        expect(r.indices.map((i) => i.path).sort()).toEqual(['apt/dists/stable/InRelease', 'apt/dists/stable/Release', 'apt/dists/stable/Release.gpg']);
      }
    });
  }

  it('refuses a Release signed only by an earlier key of the keyring, though that key is published (E_SYNC_OLD_PGP_KEY)', async () => {
    const old = memorySigner('pgp', new Date('2026-01-01T00:00:00Z'));
    const current = memorySigner('pgp', new Date('2026-02-01T00:00:00Z'));
    const keys = syncPgpKeys(await keyring(current, old));
    // What a holder of the retired key can sign: a Release that apt would accept for a long time.
    const forged = RELEASE.replace('Label: demo', 'Label: demo\nValid-Until: Sat, 01 Mar 2036 00:00:00 UTC');
    expect(await codeOf(apt(await hostFiles(old, forged), keys))).toBe('E_SYNC_OLD_PGP_KEY');
    // Half and half: each signed file must carry the current key's signature.
    expect(await codeOf(apt(await hostFiles(current, forged, old), keys))).toBe('E_SYNC_OLD_PGP_KEY');
    expect(await codeOf(apt(await hostFiles(old, forged, current), keys))).toBe('E_SYNC_OLD_PGP_KEY');
    // The earlier key twice is still the earlier key alone.
    expect(await codeOf(apt(await hostFiles([old, old], forged), keys))).toBe('E_SYNC_OLD_PGP_KEY');
  });

  it('takes the keystore\'s newest pgp key as current, before any release published it', async () => {
    const published = memorySigner('pgp', new Date('2026-01-01T00:00:00Z'));
    const made = memorySigner('pgp', new Date('2026-02-01T00:00:00Z'), 'ecdsa-p256');
    const listing = [listed(published), { ...listed(made), role: 'pgp' }, { role: 'minisign', publicKey: '00', createdAt: '2026-03-01T00:00:00Z', keyType: 'ed25519' as const }];
    expect(newestKeyOf(listing, 'pgp')?.publicKey).toBe(toHex(made.publicKey));
    const keys = syncPgpKeys(await keyring(published), newestKeyOf(listing, 'pgp'));
    expect(keys.current?.fingerprint).not.toBe(syncPgpKeys(await keyring(published)).current?.fingerprint);
    // The key the copy last published now vouches for nothing alone: the next release signs with the new one.
    expect(await codeOf(apt(await hostFiles(published), keys))).toBe('E_SYNC_OLD_PGP_KEY');
    expect((await apt(await hostFiles([made, published]), keys)).indices).toHaveLength(3);
    expect((await apt(await hostFiles(made), keys)).indices).toHaveLength(3);
  });

  it('refuses a tampered InRelease, an InRelease of other text, a missing or foreign signature (E_APT_SIGNATURE)', async () => {
    const pgp = memorySigner('pgp');
    const keys = syncPgpKeys(await cert(pgp));
    const good = await hostFiles(pgp);
    expect((await apt(good, keys)).indices).toHaveLength(3);

    const tampered = new Map(good);
    tampered.set('apt/dists/stable/InRelease', Buffer.from(Buffer.from(good.get('apt/dists/stable/InRelease')!).toString('utf8').replace('Label: demo', 'Label: evil')));
    expect(await codeOf(apt(tampered, keys))).toBe('E_APT_SIGNATURE');

    // A validly signed InRelease of another Release (an older one, say) next to this Release.
    const other = new Map(good);
    other.set('apt/dists/stable/InRelease', (await hostFiles(pgp, RELEASE.replace('Label: demo', 'Label: old'))).get('apt/dists/stable/InRelease')!);
    expect(await codeOf(apt(other, keys))).toBe('E_APT_SIGNATURE');

    const unsignedRelease = new Map(good);
    unsignedRelease.delete('apt/dists/stable/Release.gpg');
    expect(await codeOf(apt(unsignedRelease, keys))).toBe('E_APT_SIGNATURE');

    expect(await codeOf(apt(await hostFiles(memorySigner('pgp')), keys))).toBe('E_APT_SIGNATURE');
    // The current key beside a key the copy does not know: not what airlock signs.
    expect(await codeOf(apt(await hostFiles([pgp, memorySigner('pgp')]), keys))).toBe('E_APT_SIGNATURE');
    // A copy with no pgp key believes no Release.
    expect(await codeOf(apt(good, syncPgpKeys(undefined)))).toBe('E_APT_SIGNATURE');
  });
});

describe('sync refuses an apt repository older than the copy\'s own (E_ROLLBACK)', () => {
  const pgp = memorySigner('pgp');
  const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  const debs = ['1.0', '1.1'].map((v) => ({ version: v, bytes: Buffer.from(`a .deb of hello ${v}`) }));
  const targets = new Map<string, TargetFileInfo>(debs.map((d) => [`hello/${d.version}/hello_${d.version}_all.deb`, { length: d.bytes.length, hashes: { sha256: sha256(d.bytes) } }]));
  const packages = (versions: string[]) =>
    Buffer.from(
      debs
        .filter((d) => versions.includes(d.version))
        .map((d) => `Package: hello\nVersion: ${d.version}\nArchitecture: all\nFilename: pool/main/h/hello/hello_${d.version}_all.deb\nSize: ${d.bytes.length}\nSHA256: ${sha256(d.bytes)}\n`)
        .join('\n'),
    );
  /** An apt/dists/stable whose Release has `day`'s Date and lists a Packages index of `versions`. */
  async function suite(day: number, versions: string[]): Promise<Map<string, Uint8Array>> {
    const index = packages(versions);
    const text = RELEASE.replace('01 Mar 2026', `${String(day).padStart(2, '0')} Mar 2026`) + ` ${sha256(index)} ${index.length} main/binary-amd64/Packages\n`;
    const files = await hostFiles(pgp, text);
    files.set('apt/dists/stable/main/binary-amd64/Packages', index);
    return files;
  }

  it('refuses a validly signed Release dated before the copy\'s, takes one of the same or a later Date', async () => {
    const keys = syncPgpKeys(await cert(pgp));
    const own = from(await suite(10, ['1.0']));
    const older = await suite(9, ['1.0']);
    const err = await codeOf(apt(older, keys, own, targets));
    expect(err).toBe('E_ROLLBACK');
    expect((await apt(await suite(10, ['1.0']), keys, own, targets)).pool.map((p) => p.path)).toEqual(['apt/pool/main/h/hello/hello_1.0_all.deb']);
    expect((await apt(await suite(11, ['1.0', '1.1']), keys, own, targets)).pool).toHaveLength(2);
  });

  it('refuses a later Release whose Packages lacks a package the copy\'s lists, and a host without the copy\'s suite', async () => {
    const keys = syncPgpKeys(await cert(pgp));
    const own = from(await suite(10, ['1.0', '1.1']));
    expect(await codeOf(apt(await suite(11, ['1.1']), keys, own, targets))).toBe('E_ROLLBACK');
    expect(await codeOf(apt(await suite(11, []), keys, own, targets))).toBe('E_ROLLBACK');
    expect(await codeOf(apt(new Map(), keys, own, targets))).toBe('E_ROLLBACK');
    // A copy without apt takes whatever the signed host has.
    expect((await apt(await suite(1, ['1.1']), keys, none, targets)).pool).toHaveLength(1);
  });

  it('refuses a Release that lists an index the host does not serve (E_HASH): the copy would keep its own older one beside the newer Release', async () => {
    const keys = syncPgpKeys(await cert(pgp));
    const files = await suite(11, ['1.0']);
    files.delete('apt/dists/stable/main/binary-amd64/Packages');
    expect(await codeOf(apt(files, keys, none, targets))).toBe('E_HASH');
  });
});
