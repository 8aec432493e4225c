// `airlock sync` across an OpenPGP key change, on real releases (.deb files built by
// dpkg-deb, apt repositories written and signed as `airlock release` does, signatures
// checked by gpgv): only the current pgp key vouches for a host's apt indices. A holder
// of the retired key cannot feed a copy forged indices that its next release would
// re-sign; a host last published before this terminal's key changed is refused the same
// way (with its own code); an older, validly signed apt repository is a rollback; and the
// ordinary sync after a rotation-and-release still works. Every refusal leaves the
// terminal's home (its repository copy and staging) byte for byte as it was.
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../lib/core/hex.js';
import { openpgpFingerprint } from '../../lib/repo/compat/index.js';
import { signRelease } from '../../lib/repo/compat/apt-release.js';
import { syncFromHost, type SyncOptions } from '../../lib/repo/sync-from-host.js';
import { openSyncSource } from '../../lib/repo/sync-source.js';
import { Keystore } from '../../lib/keys/keystore.js';
import type { Signer } from '../../lib/keys/signer.js';
import { pgpFingerprintOf } from '../../lib/terminal/key-identity.js';
import { gpgvSigners, pgpKeyFiles, releaseHelloDeb } from '../support/compat-apt.js';
import { run, tempDir } from '../support/compat-tools.js';
import { runAirlock, treeDigest } from '../support/e2e-cli.js';
import { testPassphrase, TEST_ONLY_KDF } from '../support/keys-fixtures.js';
import { expectCode } from '../support/error-codes.js';
import { lifecycleRepo, type LifecycleRepo } from '../support/lifecycle-repo.js';
import { memorySigner, type MemorySigner } from '../support/memory-signer.js';

const oldKey = memorySigner('pgp', new Date('2026-01-01T00:00:00Z'));
const newKey = memorySigner('pgp', new Date('2026-02-01T00:00:00Z'));
const OLD = openpgpFingerprint(oldKey);
const NEW = openpgpFingerprint(newKey);
const RELEASE = 'apt/dists/stable/Release';
let repo: LifecycleRepo;
let work: { path: string; remove(): Promise<void> };
/** The repository after each release, as a terminal restored from a backup of then holds it. */
const after: Record<string, string> = {};
let homes = 0;
const base = Date.now();

/** The terminal keystore's newest pgp key, as `airlock sync` lists it (public part only). */
const keystoreNewest = (k: MemorySigner): SyncOptions => ({ signingPgpKey: { role: 'pgp', publicKey: toHex(k.publicKey), createdAt: k.createdAt.toISOString(), keyType: k.keyType } });

async function release(version: string, hour: number, pgp: Signer, aptCosigners: Signer[]): Promise<void> {
  // An hour apart: each Release's Date is later than the one before.
  await releaseHelloDeb(repo, work.path, version, pgp, aptCosigners, new Date(base + hour * 3_600_000));
  after[version] = join(work.path, `after-${version}`);
  await cp(repo.repoDir, after[version]!, { recursive: true });
}

/** A terminal home holding a copy of `from` as its repository, and its (empty) staging. */
async function home(from: string): Promise<{ dir: string; repository: string; staging: string }> {
  const dir = join(work.path, `home-${++homes}`);
  await cp(from, join(dir, 'repository'), { recursive: true });
  await mkdir(join(dir, 'staging'));
  return { dir, repository: join(dir, 'repository'), staging: join(dir, 'staging') };
}

async function hostFrom(from: string, name: string): Promise<string> {
  const dir = join(work.path, name);
  await cp(from, dir, { recursive: true });
  return dir;
}

async function refusedUnchanged(h: { dir: string; repository: string; staging: string }, host: string, code: Parameters<typeof expectCode>[1], options: SyncOptions = {}): Promise<void> {
  const before = await treeDigest(h.dir);
  await expectCode(syncFromHost(h.repository, h.staging, openSyncSource(host), options), code);
  expect(await treeDigest(h.dir)).toEqual(before);
}

beforeAll(async () => {
  repo = await lifecycleRepo({ rootKeys: 1, threshold: 1 });
  work = await tempDir('sync-pgp-rotation');
  for (const [name, key] of [['old', oldKey], ['new', newKey]] as const) await pgpKeyFiles(work.path, name, key);
  await release('1.0.0', 0, oldKey, []);
  await release('1.1.0', 1, oldKey, []);
  // The key changes: the first Release by the new key is co-signed by the old one (the transition) …
  await release('1.2.0', 2, newKey, [oldKey]);
  // … which then ends: the old key is retired and signs nothing more.
  await release('1.3.0', 3, newKey, []);
  expect(gpgvSigners(join(repo.repoDir, 'apt/dists/stable/InRelease'), join(work.path, 'new.gpg'))).toEqual([NEW]);
  expect(gpgvSigners(join(repo.repoDir, 'apt/dists/stable/InRelease'), join(work.path, 'old.gpg'))).toEqual([]);
}, 240_000);

afterAll(async () => {
  await repo?.cleanup();
  await work?.remove();
});

describe('sync after a pgp key rotation', () => {
  it('takes the host\'s apt repository signed by the current key, into a copy that released with it and into one restored from before the change whose keystore holds it', async () => {
    const rotated = await home(after['1.2.0']!);
    await syncFromHost(rotated.repository, rotated.staging, openSyncSource(repo.repoDir), keystoreNewest(newKey));
    // Without a keystore listing, the copy's keyring names the current key (first): the same.
    const published = await home(after['1.2.0']!);
    await syncFromHost(published.repository, published.staging, openSyncSource(repo.repoDir));
    // Restored from before the change (its keyring knows only the old key), the keystore holding the new one.
    const restored = await home(after['1.1.0']!);
    await syncFromHost(restored.repository, restored.staging, openSyncSource(repo.repoDir), keystoreNewest(newKey));
    const hostApt = Object.entries(await treeDigest(join(repo.repoDir, 'apt'))).filter(([p]) => !p.includes('/by-hash/'));
    for (const h of [rotated, published, restored]) {
      const copyApt = await treeDigest(join(h.repository, 'apt'));
      for (const [p, digest] of hostApt) expect(copyApt[p], p).toBe(digest);
      // What the next release builds on verifies, for gpgv, under the current key alone.
      expect(gpgvSigners(join(h.repository, 'apt/dists/stable/InRelease'), join(work.path, 'new.gpg'))).toEqual([NEW]);
      expect(gpgvSigners(join(h.repository, 'apt/dists/stable/Release.gpg'), join(work.path, 'new.gpg'))).toEqual([NEW]);
    }
    expect(await readFile(join(restored.repository, 'apt/dists/stable/main/binary-amd64/Packages'), 'utf8')).toMatch(/Version: 1\.3\.0/);
  });

  it('refuses an apt Release the retired key signed alone, though the copy\'s keyring still holds that key (E_SYNC_OLD_PGP_KEY), writing nothing', async () => {
    const copy = await home(after['1.2.0']!);
    await mkdir(join(work.path, 'gnupg'), { recursive: true, mode: 0o700 });
    const shown = run('gpg', ['--homedir', join(work.path, 'gnupg'), '--batch', '--with-colons', '--show-keys', join(copy.repository, 'keys/release-signing.asc')]);
    expect(shown.stdout.split('\n').filter((l) => l.startsWith('fpr:')).map((l) => l.split(':')[9])).toEqual([NEW, OLD]);
    // What a holder of the retired key serves: the host's newer Release made to stay valid for ten years, signed by it.
    const host = await hostFrom(repo.repoDir, 'host-forged');
    const text = (await readFile(join(host, RELEASE), 'utf8')).replace(/^Valid-Until: .*$/m, 'Valid-Until: Sat, 01 Jan 2036 00:00:00 UTC');
    for (const f of await signRelease(text, oldKey, new Date(), RELEASE)) await writeFile(join(host, 'apt/dists/stable', f.name), f.text);
    expect(gpgvSigners(join(host, 'apt/dists/stable/InRelease'), join(work.path, 'old.gpg'))).toEqual([OLD]);
    await refusedUnchanged(copy, host, 'E_SYNC_OLD_PGP_KEY', keystoreNewest(newKey));
    await refusedUnchanged(copy, host, 'E_SYNC_OLD_PGP_KEY');
    // Signed by the current key, the same Release would be taken: the key is what is refused.
    for (const f of await signRelease(text, newKey, new Date(), RELEASE)) await writeFile(join(host, 'apt/dists/stable', f.name), f.text);
    await syncFromHost(copy.repository, copy.staging, openSyncSource(host));
    expect(await readFile(join(copy.repository, RELEASE), 'utf8')).toBe(text);
  });

  it('refuses a host last published before this terminal\'s key changed (E_SYNC_OLD_PGP_KEY): it cannot be told from a forgery by the old key', async () => {
    // Restored from a backup after 1.0.0, a new pgp key made since; the host is as 1.1.0 left it, signed by the old key.
    const copy = await home(after['1.0.0']!);
    await refusedUnchanged(copy, after['1.1.0']!, 'E_SYNC_OLD_PGP_KEY', keystoreNewest(newKey));
    // Before the key changed, the same sync is the ordinary one.
    await syncFromHost(copy.repository, copy.staging, openSyncSource(after['1.1.0']!), keystoreNewest(oldKey));
    expect(await readFile(join(copy.repository, RELEASE))).toEqual(await readFile(join(after['1.1.0']!, RELEASE)));
  });
});

describe('`airlock sync` takes the current key from the terminal keystore', () => {
  it('refuses the old key\'s host once `airlock key generate pgp` made a new key, and takes it before (exit 1, home unchanged)', async () => {
    const h = await home(after['1.0.0']!);
    const sync = () => runAirlock(['sync', '--from', after['1.1.0']!, '--json'], { env: { AIRLOCK_HOME: h.dir } });
    const keystore = await Keystore.create(join(h.dir, 'keystore'), TEST_ONLY_KDF);
    // A keystore without a pgp key: the copy's keyring names the current key (the old one).
    await keystore.generate('minisign', testPassphrase());
    const dry = runAirlock(['sync', '--from', after['1.1.0']!, '--dry-run', '--json'], { env: { AIRLOCK_HOME: h.dir } });
    expect(dry.status, dry.stderr).toBe(0);
    const made = await keystore.generate('pgp', testPassphrase());
    expect(pgpFingerprintOf(made)).not.toBe(OLD);
    const before = await treeDigest(h.dir);
    const refused = sync();
    expect(refused.status, refused.stderr).toBe(1);
    expect(refused.code).toBe('E_SYNC_OLD_PGP_KEY');
    expect(refused.json.error.details).toMatchObject({ current: pgpFingerprintOf(made), signers: [OLD] });
    expect(await treeDigest(h.dir)).toEqual(before);
  });
});

describe('sync refuses an older apt repository, though validly signed (E_ROLLBACK)', () => {
  it('refuses a newer host serving the apt repository of an earlier release, writing nothing', async () => {
    // The copy holds 1.1.0; the host's TUF metadata is newer, but its apt/ is 1.0.0's (validly signed by the key then current).
    const copy = await home(after['1.1.0']!);
    const host = await hostFrom(after['1.3.0']!, 'host-old-apt');
    await rm(join(host, 'apt'), { recursive: true });
    await cp(join(after['1.0.0']!, 'apt'), join(host, 'apt'), { recursive: true });
    await refusedUnchanged(copy, host, 'E_ROLLBACK', keystoreNewest(oldKey));
    // Its Release re-signed with a later Date still lacks 1.1.0: refused by the package the copy lists.
    const text = (await readFile(join(host, RELEASE), 'utf8')).replace(/^Date: .*$/m, `Date: ${new Date(base + 10 * 3_600_000).toUTCString().replace(/GMT$/, 'UTC')}`);
    for (const f of await signRelease(text, oldKey, new Date(), RELEASE)) await writeFile(join(host, 'apt/dists/stable', f.name), f.text);
    await refusedUnchanged(copy, host, 'E_ROLLBACK', keystoreNewest(oldKey));
  });
});
