// `airlock sync --from HOST` (issue 16.6): a stale repository copy is brought up to date
// from a host verified against the copy's own root — root chain, timestamp, snapshot,
// targets, every target by length and hashes — and written in publishing order; a copy
// ahead of the host, a host with other history, and a host serving other bytes are
// refused with the copy untouched.
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openpgpCertificate } from '../../lib/repo/compat/index.js';
import { updateRpmRepository } from '../../lib/repo/compat/rpm-repository.js';
import { metaFileFor } from '../../lib/core/tuf-metadata.js';
import { envelopeBytes, signMetadata } from '../../lib/repo/sign-metadata.js';
import { assertTargetPath, planSync, syncFromHost } from '../../lib/repo/sync-from-host.js';
import { openSyncSource } from '../../lib/repo/sync-source.js';
import { Updater } from '../../lib/verify/index.js';
import { buildRpm } from '../support/compat-rpm.js';
import { treeDigest } from '../support/e2e-cli.js';
import { expectCode } from '../support/error-codes.js';
import { memorySigner } from '../support/memory-signer.js';
import { SAMPLE_PROJECT, sampleRepository, type SampleRepository } from '../support/reproduce-release.js';
import { treeOnDisk } from '../support/tree-on-disk.js';

let repo: SampleRepository;
let work: string;
/** The repository as it was after 1.0.0: what a terminal restored from an old backup holds. */
let stale: string;

/** The TUF part of a tree: metadata, targets and the release copies of targets. */
async function tufFiles(dir: string): Promise<Record<string, string>> {
  const all = await treeDigest(dir);
  const releases = Object.keys(all).filter((p) => p.startsWith('targets/')).map((p) => `releases/${p.slice('targets/'.length).replace(/[0-9a-f]{64}\./, '')}`);
  return Object.fromEntries(Object.entries(all).filter(([p]) => p.startsWith('metadata/') || p.startsWith('targets/') || p === 'keys/root.json' || releases.includes(p)));
}

beforeAll(async () => {
  repo = await sampleRepository();
  work = await mkdtemp(join(tmpdir(), 'airlock-sync-'));
  await repo.release('1.0.0');
  stale = join(work, 'stale');
  await cp(repo.host, stale, { recursive: true });
  await repo.release('1.1.0');
}, 240_000);

afterAll(async () => {
  await repo?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

async function copyOf(name: string, from = stale): Promise<string> {
  const dir = join(work, name);
  await cp(from, dir, { recursive: true });
  return dir;
}

describe('sync from a host', () => {
  it('brings a stale copy up to date with everything the metadata vouches for, and a client then reads it', async () => {
    const copy = await copyOf('copy');
    const plan = await planSync(copy, openSyncSource(repo.host));
    expect(plan).toMatchObject({ upToDate: false, local: 2, host: 3 });
    expect(plan.files).toContain('metadata/timestamp.json');
    expect(plan.files.some((f) => f.startsWith(`releases/${SAMPLE_PROJECT}/1.1.0/`))).toBe(true);
    expect(await treeDigest(copy)).toEqual(await treeDigest(stale)); // planning wrote nothing

    const r = await syncFromHost(copy, join(work, 'staging'), openSyncSource(repo.host));
    expect(r.upToDate).toBe(false);
    expect(await tufFiles(copy)).toEqual(await tufFiles(repo.host));
    // The copy is a whole repository: a client from the pinned root finds the new release in it.
    const updater = new Updater({ trustedRoot: await readFile(repo.root), sources: [copy] });
    await updater.refresh();
    expect(await updater.getTargetInfo(`${SAMPLE_PROJECT}/1.1.0/${SAMPLE_PROJECT}-1.1.0.tar.gz`)).toBeDefined();
    expect(await readdir(join(work, 'staging'))).toEqual([]);

    const again = await syncFromHost(copy, join(work, 'staging'), openSyncSource(repo.host));
    expect(again).toMatchObject({ upToDate: true, files: [] });
  });

  it('refuses a host behind the copy (E_SYNC_AHEAD): publish instead', async () => {
    const copy = await copyOf('ahead', repo.host);
    await expectCode(syncFromHost(copy, join(work, 'staging'), openSyncSource(stale)), 'E_SYNC_AHEAD');
    expect(await treeDigest(copy)).toEqual(await treeDigest(repo.host));
  });

  it('refuses a host whose release lacks one the copy has (E_SYNC_DIVERGED)', async () => {
    // The host's history does not contain the copy's: its timestamp is newer, but its
    // targets metadata at the copy's version is other bytes.
    const copy = await copyOf('diverged');
    const host = await copyOf('host-diverged', repo.host);
    const snapVersion = JSON.parse(await readFile(join(copy, 'metadata', 'timestamp.json'), 'utf8')).signed.meta['snapshot.json'].version as number;
    await writeFile(join(host, 'metadata', `${snapVersion}.snapshot.json`), '{"not":"the copy\'s"}');
    const before = await treeDigest(copy);
    await expectCode(syncFromHost(copy, join(work, 'staging'), openSyncSource(host)), 'E_SYNC_DIVERGED');
    expect(await treeDigest(copy)).toEqual(before);
  });

  it('refuses a host serving a target other than the metadata lists (other bytes, other length), writing nothing', async () => {
    const copy = await copyOf('tampered');
    const host = await copyOf('host-tampered', repo.host);
    const dir = join(host, 'targets', SAMPLE_PROJECT, '1.1.0');
    const file = (await readdir(dir)).find((f) => f.endsWith('.tar.gz'))!;
    const bytes = await readFile(join(dir, file));
    bytes[100] = bytes[100]! ^ 1;
    await writeFile(join(dir, file), bytes);
    const before = await treeDigest(copy);
    await expectCode(syncFromHost(copy, join(work, 'staging'), openSyncSource(host)), 'E_HASH');
    expect(await treeDigest(copy)).toEqual(before);

    // Longer or shorter than listed: refused by its length, before any hash is judged.
    await writeFile(join(dir, file), Buffer.concat([bytes, Buffer.from('more')]));
    await expectCode(syncFromHost(copy, join(work, 'staging'), openSyncSource(host)), 'E_LENGTH');
    await writeFile(join(dir, file), bytes.subarray(0, bytes.length - 1));
    await expectCode(syncFromHost(copy, join(work, 'staging'), openSyncSource(host)), 'E_LENGTH');
    expect(await treeDigest(copy)).toEqual(before);
  });

  it('refuses metadata not signed by the keys the copy trusts, writing nothing', async () => {
    const copy = await copyOf('forged');
    const host = await copyOf('host-forged', repo.host);
    const ts = JSON.parse(await readFile(join(host, 'metadata', 'timestamp.json'), 'utf8'));
    ts.signed.version += 1;
    await writeFile(join(host, 'metadata', 'timestamp.json'), JSON.stringify(ts));
    const before = await treeDigest(copy);
    await expectCode(syncFromHost(copy, join(work, 'staging'), openSyncSource(host)), 'E_SIG_THRESHOLD');
    expect(await treeDigest(copy)).toEqual(before);
  });
});

describe('sync refuses before it believes a version, and never rolls the copy back', () => {
  it('checks the timestamp signature before calling the host behind: an unsigned lower version is a forgery (E_SIG_THRESHOLD), not E_SYNC_AHEAD', async () => {
    const copy = await copyOf('fake-behind', repo.host);
    const host = await copyOf('host-fake-behind', repo.host);
    const ts = JSON.parse(await readFile(join(host, 'metadata', 'timestamp.json'), 'utf8'));
    ts.signed.version = 1;
    await writeFile(join(host, 'metadata', 'timestamp.json'), JSON.stringify(ts));
    await expectCode(syncFromHost(copy, join(work, 'staging'), openSyncSource(host)), 'E_SIG_THRESHOLD');
  });

  it('refuses a host whose newer, validly signed timestamp leads to a snapshot below the copy\'s (E_ROLLBACK), writing nothing', async () => {
    const copy = await copyOf('rollback', repo.host);
    const host = await copyOf('host-rollback', repo.host);
    // What a stolen timestamp key can do: a fresh timestamp pointing at the older snapshot (after 1.0.0).
    const current = JSON.parse(await readFile(join(host, 'metadata', 'timestamp.json'), 'utf8'));
    const old = JSON.parse(await readFile(join(stale, 'metadata', 'timestamp.json'), 'utf8'));
    const forged = await signMetadata({ ...current.signed, version: current.signed.version + 1, meta: old.signed.meta }, [repo.timestamp]);
    await writeFile(join(host, 'metadata', 'timestamp.json'), envelopeBytes(forged));
    const before = await treeDigest(copy);
    const err = await expectCode(syncFromHost(copy, join(work, 'staging'), openSyncSource(host)), 'E_ROLLBACK');
    expect((err.details?.below as { role: string }[]).map((b) => b.role)).toContain('snapshot.json');
    expect(await treeDigest(copy)).toEqual(before);
  });

  it('refuses a host whose timestamp.json is re-indented — signatures still verify, but the copy could not read it back (E_METADATA_INVALID), writing nothing', async () => {
    const copy = await copyOf('reindented');
    const host = await copyOf('host-reindented', repo.host);
    const tsFile = join(host, 'metadata', 'timestamp.json');
    await writeFile(tsFile, JSON.stringify(JSON.parse(await readFile(tsFile, 'utf8')), null, 2));
    const before = await treeDigest(copy);
    const err = await expectCode(syncFromHost(copy, join(work, 'staging'), openSyncSource(host)), 'E_METADATA_INVALID');
    expect(err.details?.path).toBe('metadata/timestamp.json');
    expect(await treeDigest(copy)).toEqual(before);
    // The copy is still readable: the real host brings it up to date.
    await syncFromHost(copy, join(work, 'staging'), openSyncSource(repo.host));
    expect(await tufFiles(copy)).toEqual(await tufFiles(repo.host));
  });

  it('refuses a re-indented snapshot that a timestamp signed with the online key lists by its new length and hash (E_METADATA_INVALID), writing nothing', async () => {
    const copy = await copyOf('reindented-snapshot');
    const host = await copyOf('host-reindented-snapshot', repo.host);
    const ts = JSON.parse(await readFile(join(host, 'metadata', 'timestamp.json'), 'utf8'));
    const snapVersion = ts.signed.meta['snapshot.json'].version as number;
    const snapFile = join(host, 'metadata', `${snapVersion}.snapshot.json`);
    const reindented = Buffer.from(JSON.stringify(JSON.parse(await readFile(snapFile, 'utf8')), null, 2));
    await writeFile(snapFile, reindented);
    const forged = await signMetadata({ ...ts.signed, version: ts.signed.version + 1, meta: { 'snapshot.json': metaFileFor(snapVersion, reindented) } }, [repo.timestamp]);
    await writeFile(join(host, 'metadata', 'timestamp.json'), envelopeBytes(forged));
    const before = await treeDigest(copy);
    const err = await expectCode(syncFromHost(copy, join(work, 'staging'), openSyncSource(host)), 'E_METADATA_INVALID');
    expect(err.details?.path).toBe(`metadata/${snapVersion}.snapshot.json`);
    expect(await treeDigest(copy)).toEqual(before);
  });

  it('reports a write that fails as the machine\'s error (E_IO), not a raw Node error', async () => {
    const copy = await copyOf('unwritable');
    // The staging root is a file: nothing can be created under it.
    const stagingRoot = join(work, 'staging-is-a-file');
    await writeFile(stagingRoot, 'not a directory');
    const before = await treeDigest(copy);
    await expectCode(syncFromHost(copy, stagingRoot, openSyncSource(repo.host)), 'E_IO');
    expect(await treeDigest(copy)).toEqual(before);
  });
});

describe('target paths a host lists', () => {
  it('are refused when they could name a file outside the copy (a compromised online key must not write on the terminal)', async () => {
    for (const bad of ['../../../../home/u/.ssh/authorized_keys', 'p/../../x', 'p/1.0/', '/abs/1.0/f', 'p//f', 'p/1.0/a\\b', 'p/1.0/.', 'just-a-name', 'p/f', 'p/1.0/a\0b']) {
      await expectCode(() => assertTargetPath(bad), 'E_METADATA_INVALID');
    }
    for (const good of ['hello/1.0.0/hello-1.0.0.tar.gz', 'hello/1.0.0/sub/dir/file.provenance.json']) expect(() => assertTargetPath(good)).not.toThrow();
  });
});

describe('sync brings in the rpm repository the next release builds on', () => {
  it('takes rpm/ signed by the copy\'s pgp key, and refuses one signed by another key, writing nothing', async () => {
    const pgp = memorySigner('pgp');
    const keyring = await openpgpCertificate(pgp, 'Sample <r@example.org>');
    const host = await copyOf('host-rpm', repo.host);
    const rpm = await buildRpm(join(work, 'rpm-build'));
    await updateRpmRepository({ rpmDir: join(host, 'rpm'), publishedRpmDir: join(host, 'rpm'), rpms: [rpm], pgp, date: new Date('2026-03-01T12:00:00Z'), project: SAMPLE_PROJECT, name: 'Sample', publicUrl: 'http://127.0.0.1/', publishedKeys: keyring });
    const rpmFiles = Object.keys(await treeDigest(join(host, 'rpm'))).filter((p) => p.startsWith('Packages/') || p.startsWith('repodata/'));
    expect(rpmFiles).toContain('Packages/hello-1.0.0-1.noarch.rpm');

    const foreign = await copyOf('rpm-foreign');
    await writeFile(join(foreign, 'keys', 'release-signing.asc'), await openpgpCertificate(memorySigner('pgp'), 'Other <o@example.org>'));
    const before = await treeDigest(foreign);
    await expectCode(syncFromHost(foreign, join(work, 'staging'), openSyncSource(host)), 'E_RPM_SIGNATURE');
    expect(await treeDigest(foreign)).toEqual(before);

    const copy = await copyOf('rpm-copy');
    await writeFile(join(copy, 'keys', 'release-signing.asc'), keyring);
    await syncFromHost(copy, join(work, 'staging'), openSyncSource(host));
    const hostRpm = await treeDigest(join(host, 'rpm'));
    const copyRpm = await treeDigest(join(copy, 'rpm'));
    for (const p of rpmFiles) expect(copyRpm[p], p).toBe(hostRpm[p]);

    // A directory host's rpm index linked to its own, validly signed bytes elsewhere, or a
    // package linked to /dev/zero: refused before anything is staged (E_HOST_UNSAFE).
    const linkedRepomd = await copyOf('host-rpm-linked-repomd', host);
    const repomd = join(linkedRepomd, 'rpm', 'repodata', 'repomd.xml');
    const outside = join(await mkdtemp(join(work, 'outside-')), 'repomd.xml');
    await rename(repomd, outside);
    await symlink(outside, repomd);
    const zeroPackage = await copyOf('host-rpm-zero-package', host);
    const rpmFile = join(zeroPackage, 'rpm', 'Packages', 'hello-1.0.0-1.noarch.rpm');
    await rm(rpmFile);
    await symlink('/dev/zero', rpmFile);
    for (const bad of [linkedRepomd, zeroPackage]) {
      const fresh = await copyOf(`rpm-copy-${basename(bad)}`);
      await writeFile(join(fresh, 'keys', 'release-signing.asc'), keyring);
      const untouched = await treeDigest(fresh);
      await expectCode(syncFromHost(fresh, join(work, 'staging'), openSyncSource(bad)), 'E_HOST_UNSAFE');
      expect(await treeDigest(fresh)).toEqual(untouched);
    }
  }, 120_000);
});

// A directory host is often writable by others (a web server's tree, a shared volume): a
// symlink planted in it may point into the terminal's own files (the keystore), a FIFO or
// /dev/zero would hang a read. As publish does (lib/publish/directory-transport.ts), sync
// reads a directory host only through real directories and only regular files opened
// without following a final symlink — E_HOST_UNSAFE otherwise, even for a link to the
// very bytes the metadata vouches for — and reads the terminal's own copy the same way
// (a symlink there is E_REPOSITORY_DAMAGED). Every refusal leaves the copy as it was.
describe('sync never reads through a symlink', () => {
  /** Moves `file` out of its tree and leaves a symlink to it: the same, valid bytes, elsewhere. */
  async function linkOut(file: string): Promise<void> {
    const outside = join(await mkdtemp(join(work, 'outside-')), basename(file));
    await rename(file, outside);
    await symlink(outside, file);
  }
  const tarball = async (tree: string, version: string): Promise<string> => {
    const dir = join(tree, 'targets', SAMPLE_PROJECT, version);
    return join(dir, (await readdir(dir)).find((f) => f.endsWith('.tar.gz'))!);
  };
  const hostPlants: [string, (host: string) => Promise<void>][] = [
    ['metadata/timestamp.json linked to its own bytes outside the host', (host) => linkOut(join(host, 'metadata', 'timestamp.json'))],
    ['a target linked to its own bytes outside the host', async (host) => linkOut(await tarball(host, '1.1.0'))],
    ['a target linked to /dev/zero', async (host) => {
      const file = await tarball(host, '1.1.0');
      await rm(file);
      await symlink('/dev/zero', file);
    }],
    ['a target that is a FIFO', async (host) => {
      const file = await tarball(host, '1.1.0');
      await rm(file);
      execFileSync('mkfifo', [file]);
    }],
    ['a directory of targets linked to its own copy outside the host', (host) => linkOut(join(host, 'targets', SAMPLE_PROJECT))],
  ];
  for (const [what, plant] of hostPlants) {
    it(`refuses a directory host with ${what} (E_HOST_UNSAFE), writing nothing`, async () => {
      const copy = await copyOf('copy-host-link');
      const host = await copyOf('host-link', repo.host);
      await plant(host);
      const before = await treeDigest(copy);
      await expectCode(planSync(copy, openSyncSource(host)), 'E_HOST_UNSAFE');
      await expectCode(syncFromHost(copy, join(work, 'staging'), openSyncSource(host)), 'E_HOST_UNSAFE');
      expect(await treeDigest(copy)).toEqual(before);
      await rm(copy, { recursive: true });
      await rm(host, { recursive: true });
    }, 20_000);
  }

  it('refuses a copy that holds a path the host signs with other bytes (E_PUBLISH_IMMUTABLE) before staging or reading the host\'s file', async () => {
    const copy = await copyOf('copy-other-bytes');
    const host = await copyOf('host-other-bytes', repo.host);
    // The host's file is /dev/zero: reading it (to stage it) would never end.
    const file = await tarball(host, '1.1.0');
    await rm(file);
    await symlink('/dev/zero', file);
    const consistent = join('targets', SAMPLE_PROJECT, '1.1.0', basename(file));
    await mkdir(join(copy, 'targets', SAMPLE_PROJECT, '1.1.0'), { recursive: true });
    await writeFile(join(copy, consistent), 'not the release\n');
    const before = await treeOnDisk(copy);
    await expectCode(planSync(copy, openSyncSource(host)), 'E_PUBLISH_IMMUTABLE');
    await expectCode(syncFromHost(copy, join(work, 'staging'), openSyncSource(host)), 'E_PUBLISH_IMMUTABLE');
    expect(await treeOnDisk(copy)).toEqual(before);
    await rm(copy, { recursive: true });
    await rm(host, { recursive: true });
  }, 20_000);

  it('syncs from a directory host of real directories and regular files', async () => {
    const copy = await copyOf('copy-host-plain');
    await syncFromHost(copy, join(work, 'staging'), openSyncSource(repo.host));
    expect(await tufFiles(copy)).toEqual(await tufFiles(repo.host));
  });

  const copyPlants: [string, (copy: string) => Promise<void>][] = [
    ['keys/release-signing.asc linked to a valid keyring outside the copy', async (copy) => {
      await writeFile(join(copy, 'keys', 'release-signing.asc'), await openpgpCertificate(memorySigner('pgp'), 'Sample <r@example.org>'));
      await linkOut(join(copy, 'keys', 'release-signing.asc'));
    }],
    ['keys/ linked to its own copy outside the copy', (copy) => linkOut(join(copy, 'keys'))],
    ['a target linked to its own bytes outside the copy', async (copy) => linkOut(await tarball(copy, '1.0.0'))],
    ['a target linked to /dev/zero', async (copy) => {
      const file = await tarball(copy, '1.0.0');
      await rm(file);
      await symlink('/dev/zero', file);
    }],
    ['an apt Release linked to a file outside the copy', async (copy) => {
      await mkdir(join(copy, 'apt', 'dists', 'stable'), { recursive: true });
      const outside = join(await mkdtemp(join(work, 'outside-')), 'Release');
      await writeFile(outside, 'Origin: elsewhere\nDate: Sun, 01 Mar 2026 00:00:00 UTC\n');
      await symlink(outside, join(copy, 'apt', 'dists', 'stable', 'Release'));
    }],
  ];
  for (const [what, plant] of copyPlants) {
    it(`refuses a copy with ${what} as damage (E_REPOSITORY_DAMAGED), writing nothing`, async () => {
      const copy = await copyOf('copy-own-link');
      await plant(copy);
      const before = await treeOnDisk(copy);
      await expectCode(syncFromHost(copy, join(work, 'staging'), openSyncSource(repo.host)), 'E_REPOSITORY_DAMAGED');
      expect(await treeOnDisk(copy)).toEqual(before);
      await rm(copy, { recursive: true });
    }, 20_000);
  }
});
