import { minisignKeyId } from '../../lib/repo/compat/key-history.js';
import { dearmor } from '../../lib/repo/compat/openpgp-armor.js';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../lib/core/digest.js';
import { AirlockError } from '../../lib/core/errors.js';
import type { Signer } from '../../lib/keys/signer.js';
import { minisignPublicKey, openpgpCertificate } from '../../lib/repo/compat/index.js';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { initRepository } from '../../lib/repo/init-repository.js';
import { commitStaged, LocalRepository } from '../../lib/repo/local-repository.js';
import { releaseToRepository, type ReleaseInput } from '../../lib/repo/release.js';
import { memorySigner } from '../support/memory-signer.js';
import { treeDigest } from '../support/e2e-cli.js';
import { tufJsUpdater } from '../support/tufjs-client.js';
import { serveDirectory, type StaticServer } from '../support/static-http.js';

const now = new Date();
const options = { now, expiryDays: DEFAULT_EXPIRY_DAYS, name: 'Test Releases' };
let work: string;
let repoDir: string;
let staging: string;
let server: StaticServer;
const signers = {
  root: [memorySigner('root'), memorySigner('root'), memorySigner('root')],
  targets: memorySigner('targets'),
  snapshot: memorySigner('snapshot'),
  timestamp: memorySigner('timestamp'),
};

async function artifact(name: string, text: string): Promise<{ name: string; path: string }> {
  const path = join(work, 'build', name);
  await writeFile(path, text);
  return { name, path };
}

function input(version: string, artifacts: { name: string; path: string }[]): ReleaseInput {
  return { project: 'hello', version, commit: 'a'.repeat(40), branch: `release/${version}`, sourceDateEpoch: 1768478400, artifacts, provenance: new TextEncoder().encode('{"payloadType":"x"}') };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'airlock-repo-'));
  repoDir = join(work, 'repository');
  staging = join(work, 'staging');
  await mkdir(join(work, 'build'));
  await initRepository(repoDir, staging, { ...signers, rootThreshold: 2 }, options);
  server = await serveDirectory(repoDir);
});

afterAll(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

describe('a repository made by airlock', () => {
  it('starts at version 1 of every role, root signed by all root keys with threshold 2', async () => {
    const current = await new LocalRepository(repoDir).current();
    expect(current.root.signed.version).toBe(1);
    expect(current.root.signed.roles.root).toEqual({ keyids: signers.root.map((s) => s.keyId).sort(), threshold: 2 });
    expect(current.root.signatures).toHaveLength(3);
    expect(current.root.signed.consistent_snapshot).toBe(true);
    expect(await readFile(join(repoDir, 'keys', 'root.json'))).toEqual(await readFile(join(repoDir, 'metadata', '1.root.json')));
  });

  it('publishes a release that tuf-js, the independent client, downloads byte for byte', async () => {
    const a = await artifact('hello-1.0.0.tar.gz', 'tarball bytes');
    const b = await artifact('hello.txt', 'notes');
    const result = await releaseToRepository(repoDir, staging, input('1.0.0', [a, b]), signers, options);
    expect(result.targets.map((t) => t.target)).toEqual(['hello/1.0.0/hello-1.0.0.intoto.jsonl', 'hello/1.0.0/hello-1.0.0.tar.gz', 'hello/1.0.0/hello.txt']);
    expect(result.metadataVersions).toEqual({ targets: 2, snapshot: 2, timestamp: 2 });
    // Publishing order: content before metadata, timestamp last.
    expect(result.files.at(-1)).toBe('metadata/timestamp.json');
    expect(result.files.findIndex((f) => f.startsWith('metadata/'))).toBeGreaterThan(result.files.findLastIndex((f) => !f.startsWith('metadata/')));

    const { updater, dir } = await tufJsUpdater(server.url, join(repoDir, 'keys', 'root.json'));
    await updater.refresh();
    const info = await updater.getTargetInfo('hello/1.0.0/hello-1.0.0.tar.gz');
    expect(info?.custom).toMatchObject({ airlock: { project: 'hello', version: '1.0.0', commit: 'a'.repeat(40), provenance: 'hello/1.0.0/hello-1.0.0.intoto.jsonl' } });
    // One listed hash, SHA-256 (listedHashes): every client computes every listed hash.
    expect(info?.hashes).toEqual({ sha256: sha256Hex('tarball bytes') });
    const path = await updater.downloadTarget(info!, join(dir, 'got'));
    expect(await readFile(path, 'utf8')).toBe('tarball bytes');
    expect(await readFile(join(repoDir, 'releases/hello/1.0.0/hello-1.0.0.tar.gz'), 'utf8')).toBe('tarball bytes');
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses to release a version twice and leaves the repository as it was', async () => {
    const before = await treeDigest(repoDir);
    const a = await artifact('hello-1.0.0.tar.gz', 'other bytes');
    await expect(releaseToRepository(repoDir, staging, input('1.0.0', [a]), signers, options)).rejects.toSatisfy((e) => e instanceof AirlockError && e.code === 'E_RELEASE_EXISTS');
    expect(await treeDigest(repoDir)).toEqual(before);
  });

  it('leaves the repository untouched when a signature is refused half-way', async () => {
    const before = await treeDigest(repoDir);
    const failing: Signer = { ...signers.timestamp, sign: async () => { throw new AirlockError('E_KEY_PASSPHRASE', 'refused'); } };
    const a = await artifact('hello-1.1.0.tar.gz', 'v1.1');
    await expect(releaseToRepository(repoDir, staging, input('1.1.0', [a]), { ...signers, timestamp: failing }, options)).rejects.toSatisfy((e) => e instanceof AirlockError && e.code === 'E_KEY_PASSPHRASE');
    expect(await treeDigest(repoDir)).toEqual(before);
    expect(await readdir(staging)).toEqual([]);
  });

  it('refuses a key of the wrong role, and a targets key root does not trust', async () => {
    const a = await artifact('hello-1.2.0.tar.gz', 'v1.2');
    await expect(releaseToRepository(repoDir, staging, input('1.2.0', [a]), { ...signers, targets: memorySigner('pgp') }, options)).rejects.toSatisfy((e) => e instanceof AirlockError && e.code === 'E_KEY_ROLE');
    await expect(releaseToRepository(repoDir, staging, input('1.2.0', [a]), { ...signers, targets: memorySigner('targets') }, options)).rejects.toSatisfy((e) => e instanceof AirlockError && e.code === 'E_KEY_ROLE');
  });

  it('never overwrites an immutable path with other bytes when committing', async () => {
    const stage = join(work, 'stage-collision');
    await mkdir(join(stage, 'releases/hello/1.0.0'), { recursive: true });
    await writeFile(join(stage, 'releases/hello/1.0.0/hello.txt'), 'evil');
    await expect(commitStaged(stage, repoDir)).rejects.toSatisfy((e) => e instanceof AirlockError && e.code === 'E_PUBLISH_IMMUTABLE');
    expect(await readFile(join(repoDir, 'releases/hello/1.0.0/hello.txt'), 'utf8')).toBe('notes');
  });

  it('republishes the OpenPGP and minisign public keys when a release is signed by new ones', async () => {
    const pgpA = memorySigner('pgp');
    const pgpB = memorySigner('pgp');
    const mini = memorySigner('minisign');
    const a = await artifact('hello-2.0.0.tar.gz', 'v2');
    await releaseToRepository(repoDir, staging, input('2.0.0', [a]), { ...signers, pgp: pgpA, minisign: mini }, options);
    // keys/release-signing.asc is a keyring: the signing key first, every earlier one after (issue 16.3).
    const bin = (armored: string) => Buffer.from(dearmor(armored).data);
    const first = await readFile(join(repoDir, 'keys', 'release-signing.asc'), 'utf8');
    expect(bin(first).indexOf(bin(await openpgpCertificate(pgpA, options.name)))).toBe(0);
    expect(await readFile(join(repoDir, 'keys', 'minisign.pub'), 'utf8')).toBe(minisignPublicKey(mini));
    const b = await artifact('hello-2.1.0.tar.gz', 'v2.1');
    const events: { phase: string; file: string; bytes: number; total: number }[] = [];
    const r = await releaseToRepository(repoDir, staging, input('2.1.0', [b]), { ...signers, pgp: pgpB, minisign: mini }, { ...options, onProgress: (e) => events.push(e) });
    // Hashing and signing report progress per file, ending at the file's size.
    for (const phase of ['hashing', 'signing']) {
      const last = events.filter((e) => e.phase === phase && e.file === 'hello-2.1.0.tar.gz').at(-1);
      expect(last, phase).toMatchObject({ bytes: 'v2.1'.length, total: 'v2.1'.length });
    }
    const ring = bin(await readFile(join(repoDir, 'keys', 'release-signing.asc'), 'utf8'));
    expect(ring.indexOf(bin(await openpgpCertificate(pgpB, options.name)))).toBe(0);
    expect(ring.indexOf(bin(await openpgpCertificate(pgpA, options.name)))).toBeGreaterThan(0);
    expect(await readFile(join(repoDir, 'keys', `minisign-${minisignKeyId(mini)}.pub`), 'utf8')).toBe(minisignPublicKey(mini));
    expect(r.files).toContain('keys/release-signing.asc');
    // The bootstrap keys go up after every metadata file.
    expect(r.files.indexOf('keys/release-signing.asc')).toBeGreaterThan(r.files.indexOf('metadata/timestamp.json'));
  });
});
