// The rpm part of `airlock sync` (lib/repo/sync-rpm.ts): a copy restored from an old
// backup takes the host's rpm repodata and packages only through the chain dnf checks —
// repomd.xml signed by the copy's current pgp key, each repodata file by the SHA-256
// repomd.xml lists, each package by primary's SHA-256 — so that its next release indexes
// the new package on top of every earlier one instead of publishing repodata that lists
// the new package alone.
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openpgpCertificate } from '../../lib/repo/compat/index.js';
import { updateRpmRepository } from '../../lib/repo/compat/rpm-repository.js';
import { keyringWith } from '../../lib/repo/compat/key-history.js';
import { syncPgpKeys, type SyncPgpKeys } from '../../lib/repo/sync-pgp-keys.js';
import { parsePrimaryPackages, parseRepomd, repomdRevision, rpmFilesOf } from '../../lib/repo/sync-rpm.js';
import { buildRpm } from '../support/compat-rpm.js';
import { flipByte, tempDir } from '../support/compat-tools.js';
import { codeOf } from '../support/error-codes.js';
import { memorySigner } from '../support/memory-signer.js';

const pgp = memorySigner('pgp');
const date = new Date('2026-03-01T12:00:00Z');
let work: { path: string; remove(): Promise<void> };
let keyring: string;
/** The copy's pgp keys: `pgp`, which signed the host's repodata, is current. */
let keys: SyncPgpKeys;
/** A host's tree with rpm/ holding hello 1.0.0 and 1.1.0, released one after the other. */
let host: string;
let rpm12: string;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const from = (dir: string) => async (path: string, max = Infinity) => {
  const bytes = await readFile(join(dir, ...path.split('/'))).catch(() => undefined);
  if (bytes !== undefined && bytes.length > max) throw new Error(`${path} over ${max}`);
  return bytes;
};

async function release(rpmDir: string, publishedRpmDir: string, rpm: string): Promise<void> {
  await updateRpmRepository({ rpmDir, publishedRpmDir, rpms: [rpm], pgp, date, project: 'hello', name: 'Hello', publicUrl: 'http://127.0.0.1/', publishedKeys: keyring });
}

/** A copy whose own rpm/ is just this repomd.xml. */
const ownRepomd = (text: string) => async (path: string) => (path === 'rpm/repodata/repomd.xml' ? Buffer.from(text) : undefined);

/** The packages a repository's primary lists, by file name. */
async function listed(rpmDir: string): Promise<string[]> {
  const entries = parseRepomd(await readFile(join(rpmDir, 'repodata', 'repomd.xml'), 'utf8'));
  const primary = entries.find((e) => e.type === 'primary')!;
  return parsePrimaryPackages(gunzipSync(await readFile(join(rpmDir, primary.href))).toString('utf8')).map((p) => p.path).sort();
}

/** Copies the host's rpm/ into a staging release dir and back, as a release then commit would. */
async function releaseOnto(copyRpm: string, rpm: string, staging: string): Promise<void> {
  await release(staging, copyRpm, rpm);
  await cp(staging, copyRpm, { recursive: true });
}

beforeAll(async () => {
  work = await tempDir('sync-rpm');
  keyring = await openpgpCertificate(pgp, 'Hello <r@example.org>');
  keys = syncPgpKeys(keyring);
  host = join(work.path, 'host');
  const hostRpm = join(host, 'rpm');
  await mkdir(hostRpm, { recursive: true });
  await releaseOnto(hostRpm, await buildRpm(join(work.path, 'b10'), 'hello', '1.0.0'), join(work.path, 's10'));
  await releaseOnto(hostRpm, await buildRpm(join(work.path, 'b11'), 'hello', '1.1.0'), join(work.path, 's11'));
  rpm12 = await buildRpm(join(work.path, 'b12'), 'hello', '1.2.0');
}, 180_000);

afterAll(async () => {
  await work?.remove();
});

describe('sync takes a host\'s rpm repository only through its signed repomd.xml', () => {
  it('lists repomd.xml, its signature, every repodata file and every package with the digest primary gives, and the next release then lists all packages', async () => {
    const files = await rpmFilesOf(from(host), keys);
    const indexPaths = files.indices.map((i) => i.path);
    expect(indexPaths.slice(0, 2)).toEqual(['rpm/repodata/repomd.xml', 'rpm/repodata/repomd.xml.asc']);
    expect(indexPaths.filter((p) => /-(primary|filelists|other)\.xml\.gz$/.test(p))).toHaveLength(3);
    for (const i of files.indices) expect(Buffer.compare(i.bytes, await readFile(join(host, i.path)))).toBe(0);
    expect(files.packages.map((p) => p.path).sort()).toEqual(['rpm/Packages/hello-1.0.0-1.noarch.rpm', 'rpm/Packages/hello-1.1.0-1.noarch.rpm']);
    for (const p of files.packages) {
      const bytes = await readFile(join(host, p.path));
      expect(p.info).toEqual({ length: bytes.length, hashes: { sha256: sha256(bytes) } });
    }

    // A restored copy that took them: its next release lists the new package and both earlier ones.
    const copy = join(work.path, 'copy');
    for (const i of files.indices) {
      await mkdir(dirname(join(copy, i.path)), { recursive: true });
      await writeFile(join(copy, i.path), i.bytes);
    }
    await release(join(work.path, 'next'), join(copy, 'rpm'), rpm12);
    expect(await listed(join(work.path, 'next'))).toEqual(['rpm/Packages/hello-1.0.0-1.noarch.rpm', 'rpm/Packages/hello-1.1.0-1.noarch.rpm', 'rpm/Packages/hello-1.2.0-1.noarch.rpm']);
    // Without them (the bug this fixes) the release's repodata lists the new package alone.
    await release(join(work.path, 'next-bare'), join(work.path, 'bare', 'rpm'), rpm12);
    expect(await listed(join(work.path, 'next-bare'))).toEqual(['rpm/Packages/hello-1.2.0-1.noarch.rpm']);
  }, 120_000);

  it('refuses repodata older than the copy\'s own, though validly signed (E_ROLLBACK)', async () => {
    const repomd = await readFile(join(host, 'rpm', 'repodata', 'repomd.xml'), 'utf8');
    const revision = repomdRevision(repomd)!;
    expect(revision).toBeGreaterThan(0);
    expect((await rpmFilesOf(from(host), keys, from(host))).packages).toHaveLength(2);
    const newer = repomd.replace(`<revision>${revision}</revision>`, `<revision>${revision + 1}</revision>`);
    expect(await codeOf(rpmFilesOf(from(host), keys, ownRepomd(newer)))).toBe('E_ROLLBACK');
  });

  it('refuses repodata of the same or a later revision whose primary lacks a package the copy\'s lists (E_ROLLBACK)', async () => {
    // The copy holds hello 1.0.0 and 1.1.0; a host whose repodata, signed by the current key, lists 1.1.0 alone.
    const dropped = join(work.path, 'dropped');
    await mkdir(join(dropped, 'rpm'), { recursive: true });
    await releaseOnto(join(dropped, 'rpm'), await buildRpm(join(work.path, 'b11-again'), 'hello', '1.1.0'), join(work.path, 's11-again'));
    expect((await rpmFilesOf(from(dropped), keys)).packages.map((p) => p.path)).toEqual(['rpm/Packages/hello-1.1.0-1.noarch.rpm']);
    expect(repomdRevision(await readFile(join(dropped, 'rpm', 'repodata', 'repomd.xml'), 'utf8'))).toBeGreaterThanOrEqual(repomdRevision(await readFile(join(host, 'rpm', 'repodata', 'repomd.xml'), 'utf8'))!);
    expect(await codeOf(rpmFilesOf(from(dropped), keys, from(host)))).toBe('E_ROLLBACK');
    // The other way round (the host keeps everything the copy lists, and more) is the ordinary sync.
    expect((await rpmFilesOf(from(host), keys, from(dropped))).packages).toHaveLength(2);
  });

  it('finds nothing on a host without rpm/, and refuses that when the copy has rpm repodata (E_ROLLBACK)', async () => {
    expect(await rpmFilesOf(from(join(work.path, 'nothing')), keys)).toEqual({ indices: [], packages: [] });
    const repomd = await readFile(join(host, 'rpm', 'repodata', 'repomd.xml'), 'utf8');
    expect(await codeOf(rpmFilesOf(from(join(work.path, 'nothing')), keys, ownRepomd(repomd)))).toBe('E_ROLLBACK');
  });

  it('refuses repodata signed only by an earlier pgp key of the copy\'s keyring (E_SYNC_OLD_PGP_KEY): the key was rotated away', async () => {
    // The copy's key changed since `pgp` signed the host's repodata; `pgp` stays in the keyring for old releases.
    const next = memorySigner('pgp', new Date('2026-02-01T00:00:00Z'));
    const rotated = syncPgpKeys(keyringWith(await openpgpCertificate(next, 'Hello <r@example.org>'), keyring).text);
    expect(rotated.known.map((k) => k.fingerprint)).toContain(keys.current!.fingerprint);
    expect(await codeOf(rpmFilesOf(from(host), rotated))).toBe('E_SYNC_OLD_PGP_KEY');
  });

  it('refuses a repomd.xml that is unsigned, tampered or signed by a key the copy does not hold (E_RPM_SIGNATURE)', async () => {
    const tampered = join(work.path, 'tampered');
    await cp(host, tampered, { recursive: true });
    const repomd = join(tampered, 'rpm', 'repodata', 'repomd.xml');
    await writeFile(repomd, flipByte(await readFile(repomd), 200));
    expect(await codeOf(rpmFilesOf(from(tampered), keys))).toBe('E_RPM_SIGNATURE');

    const unsigned = join(work.path, 'unsigned');
    await cp(host, unsigned, { recursive: true });
    await writeFile(join(unsigned, 'rpm', 'repodata', 'repomd.xml.asc'), '');
    expect(await codeOf(rpmFilesOf(from(unsigned), keys))).toBe('E_RPM_SIGNATURE');

    expect(await codeOf(rpmFilesOf(from(host), syncPgpKeys(await openpgpCertificate(memorySigner('pgp'), 'Other <o@example.org>'))))).toBe('E_RPM_SIGNATURE');
    expect(await codeOf(rpmFilesOf(from(host), syncPgpKeys(undefined)))).toBe('E_RPM_SIGNATURE');
  });

  it('refuses repodata other than repomd.xml lists, and a missing one (E_HASH)', async () => {
    const entries = parseRepomd(await readFile(join(host, 'rpm', 'repodata', 'repomd.xml'), 'utf8'));
    const primary = entries.find((e) => e.type === 'primary')!;
    const other = join(work.path, 'other-primary');
    await cp(host, other, { recursive: true });
    const evil = gunzipSync(await readFile(join(host, 'rpm', primary.href))).toString('utf8').replace(/pkgid="YES">[0-9a-f]{64}/, `pkgid="YES">${'0'.repeat(64)}`);
    await writeFile(join(other, 'rpm', primary.href), gzipSync(evil));
    expect(await codeOf(rpmFilesOf(from(other), keys))).toBe('E_HASH');

    const missing = join(work.path, 'missing-primary');
    await cp(host, missing, { recursive: true });
    await rm(join(missing, 'rpm', primary.href));
    expect(await codeOf(rpmFilesOf(from(missing), keys))).toBe('E_HASH');
  });

  it('refuses entries that are not files airlock writes: a path out of repodata/ or Packages/, another checksum type (E_HASH)', async () => {
    const data = (href: string, type = 'sha256') => `<repomd><data type="primary"><checksum type="${type}">${'a'.repeat(64)}</checksum><location href="${href}"/></data></repomd>`;
    expect(parseRepomd(data('repodata/x-primary.xml.gz'))).toEqual([{ type: 'primary', href: 'repodata/x-primary.xml.gz', sha256: 'a'.repeat(64) }]);
    for (const bad of [data('../keys/x'), data('repodata/../../x'), data('/etc/passwd'), data('repodata/x', 'sha1')]) expect(() => parseRepomd(bad)).toThrow(expect.objectContaining({ code: 'E_HASH' }));
    const pkg = (href: string) => `<package type="rpm"><checksum type="sha256" pkgid="YES">${'b'.repeat(64)}</checksum><size package="7" installed="1"/><location href="${href}"/></package>`;
    expect(parsePrimaryPackages(pkg('Packages/a-1.rpm'))).toEqual([{ path: 'rpm/Packages/a-1.rpm', info: { length: 7, hashes: { sha256: 'b'.repeat(64) } } }]);
    for (const bad of ['Packages/../../keys/root.json', '../x.rpm', 'Packages/sub/a.rpm', 'Packages/a.txt']) expect(() => parsePrimaryPackages(pkg(bad))).toThrow(expect.objectContaining({ code: 'E_HASH' }));
  });
});
