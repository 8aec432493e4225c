// A tiny but real TUF repository for publishing tests, written in the terminal's local
// tree layout (DESIGN "Static host layout"): consistent-snapshot metadata signed with
// Ed25519 over canonical JSON, targets under their hash-prefixed names and the same
// bytes under releases/. Independent of lib/repo, so publishing is tested on its own.
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { canonicalBytes } from '../../lib/core/canonical-json.js';
import { ed25519RawPublicKey } from '../../lib/core/ed25519.js';
import { ed25519TufKey, tufKeyId, type TufKey } from '../../lib/core/tuf-key.js';
import { formatExpires } from '../../lib/core/tuf-metadata.js';

interface Key {
  id: string;
  tuf: TufKey;
  priv: KeyObject;
}

function newKey(): Key {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const tuf = ed25519TufKey(ed25519RawPublicKey(publicKey));
  return { id: tufKeyId(tuf), tuf, priv: privateKey };
}

type Role = 'root' | 'targets' | 'snapshot' | 'timestamp';

export interface FixtureRepo {
  dir: string;
  /** Bytes of the first root: what a client pins. */
  rootV1: Uint8Array;
  /** Target paths (project/version/file) → bytes, for every release so far. */
  targets: Map<string, Buffer>;
  versions: { root: number; targets: number; snapshot: number; timestamp: number; delegated: number };
  /** When set, targets are listed by this delegated role (metadata/V.<name>.json). */
  delegatedRole?: string;
  keys: Record<Role, Key> & { delegated: Key };
}

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const expires = () => formatExpires(new Date(Date.now() + 365 * 86400_000));

async function put(path: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, data);
}

function envelope(signed: Record<string, unknown>, keys: Key[]): Uint8Array {
  const msg = canonicalBytes(signed);
  const signatures = keys.map((k) => ({ keyid: k.id, sig: sign(null, msg, k.priv).toString('hex') }));
  return Buffer.from(JSON.stringify({ signatures, signed }, null, 1));
}

function rootSigned(repo: FixtureRepo): Record<string, unknown> {
  const k = repo.keys;
  const roles = ['root', 'targets', 'snapshot', 'timestamp'] as const;
  return {
    _type: 'root',
    spec_version: '1.0.31',
    version: repo.versions.root,
    expires: expires(),
    consistent_snapshot: true,
    keys: Object.fromEntries(roles.map((r) => [k[r].id, k[r].tuf])),
    roles: Object.fromEntries(roles.map((r) => [r, { keyids: [k[r].id], threshold: 1 }])),
  };
}

/** A new repository: root v1, empty targets, snapshot and timestamp v1, keys/root.json. */
export async function createFixtureRepo(dir: string, opts: { delegatedRole?: string } = {}): Promise<FixtureRepo> {
  const repo: FixtureRepo = {
    dir,
    rootV1: new Uint8Array(),
    targets: new Map(),
    versions: { root: 1, targets: 0, snapshot: 0, timestamp: 0, delegated: 0 },
    keys: { root: newKey(), targets: newKey(), snapshot: newKey(), timestamp: newKey(), delegated: newKey() },
  };
  if (opts.delegatedRole) repo.delegatedRole = opts.delegatedRole;
  repo.rootV1 = envelope(rootSigned(repo), [repo.keys.root]);
  await put(join(dir, 'metadata/1.root.json'), repo.rootV1);
  await put(join(dir, 'keys/root.json'), repo.rootV1);
  await writeTopMetadata(repo);
  return repo;
}

function targetsMap(repo: FixtureRepo): Record<string, unknown> {
  return Object.fromEntries(
    [...repo.targets].map(([path, bytes]) => [path, { length: bytes.length, hashes: { sha256: sha256(bytes) } }]),
  );
}

/** Writes the next targets (and delegated), snapshot and timestamp metadata. */
async function writeTopMetadata(repo: FixtureRepo): Promise<void> {
  const meta: Record<string, { version: number; length: number; hashes: Record<string, string> }> = {};
  const d = repo.delegatedRole;
  repo.versions.targets++;
  let topTargets: Record<string, unknown> = targetsMap(repo);
  let delegations: Record<string, unknown> | undefined;
  if (d) {
    repo.versions.delegated++;
    const bytes = envelope(
      { _type: 'targets', spec_version: '1.0.31', version: repo.versions.delegated, expires: expires(), targets: targetsMap(repo) },
      [repo.keys.delegated],
    );
    await put(join(repo.dir, `metadata/${repo.versions.delegated}.${d}.json`), bytes);
    meta[`${d}.json`] = { version: repo.versions.delegated, length: bytes.length, hashes: { sha256: sha256(bytes) } };
    topTargets = {};
    delegations = {
      keys: { [repo.keys.delegated.id]: repo.keys.delegated.tuf },
      roles: [{ name: d, keyids: [repo.keys.delegated.id], threshold: 1, terminating: true, paths: ['*', '*/*', '*/*/*'] }],
    };
  }
  const targets = envelope(
    { _type: 'targets', spec_version: '1.0.31', version: repo.versions.targets, expires: expires(), targets: topTargets, ...(delegations ? { delegations } : {}) },
    [repo.keys.targets],
  );
  await put(join(repo.dir, `metadata/${repo.versions.targets}.targets.json`), targets);
  meta['targets.json'] = { version: repo.versions.targets, length: targets.length, hashes: { sha256: sha256(targets) } };
  repo.versions.snapshot++;
  const snapshot = envelope({ _type: 'snapshot', spec_version: '1.0.31', version: repo.versions.snapshot, expires: expires(), meta }, [repo.keys.snapshot]);
  await put(join(repo.dir, `metadata/${repo.versions.snapshot}.snapshot.json`), snapshot);
  repo.versions.timestamp++;
  const timestamp = envelope(
    {
      _type: 'timestamp',
      spec_version: '1.0.31',
      version: repo.versions.timestamp,
      expires: expires(),
      meta: { 'snapshot.json': { version: repo.versions.snapshot, length: snapshot.length, hashes: { sha256: sha256(snapshot) } } },
    },
    [repo.keys.timestamp],
  );
  await put(join(repo.dir, 'metadata/timestamp.json'), timestamp);
}

/** Adds a release: its files under targets/ (hash-prefixed) and releases/, then new metadata. */
export async function addRelease(repo: FixtureRepo, project: string, version: string, files: Record<string, string | Buffer>): Promise<string[]> {
  const paths: string[] = [];
  for (const [name, content] of Object.entries(files)) {
    const bytes = Buffer.from(content);
    const target = `${project}/${version}/${name}`;
    repo.targets.set(target, bytes);
    paths.push(target);
    await put(join(repo.dir, 'targets', project, version, `${sha256(bytes)}.${name}`), bytes);
    await put(join(repo.dir, 'releases', project, version, name), bytes);
  }
  const sums = Object.entries(files)
    .map(([name, c]) => `${sha256(Buffer.from(c))}  ${name}\n`)
    .join('');
  await put(join(repo.dir, 'releases', project, version, 'SHA256SUMS'), sums);
  await writeTopMetadata(repo);
  return paths;
}

/**
 * Rotates the root key: writes (N+1).root.json signed by the old and the new root key
 * (TUF §5.3.4: a new root must be signed by the old root's threshold and its own). The
 * other roles keep their keys, so metadata already on the host stays valid under the
 * new root: a publish can put the root first without breaking clients.
 */
export async function rotateRootKey(repo: FixtureRepo): Promise<void> {
  const old = repo.keys.root;
  repo.keys.root = newKey();
  repo.versions.root++;
  const root = envelope(rootSigned(repo), [old, repo.keys.root]);
  await put(join(repo.dir, `metadata/${repo.versions.root}.root.json`), root);
  await put(join(repo.dir, 'keys/root.json'), root);
}
