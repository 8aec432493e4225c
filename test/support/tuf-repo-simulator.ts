// A TUF repository for tests (python-tuf `tests/repository_simulator.py`): keys from
// node:crypto, metadata signed over lib/core's canonical JSON, written into a temporary
// directory in the static host layout (metadata/, targets/ with consistent-snapshot
// names). Independent of lib/repo on purpose: the verifier is checked against a
// repository it did not write. Hooks (raw writes, custom signers, versions, expiry)
// build the hostile states of the attack suite.
import { generateKeyPairSync, sign as cryptoSign, createHash, type KeyObject } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { canonicalBytes } from '../../lib/core/canonical-json.js';
import { ed25519RawPublicKey } from '../../lib/core/ed25519.js';
import { ed25519TufKey, tufKeyId, type TufKey } from '../../lib/core/tuf-key.js';
import {
  formatExpires,
  SPEC_VERSION,
  type DelegatedRole,
  type Envelope,
  type RootSigned,
  type Signed,
  type SnapshotSigned,
  type TargetsSigned,
  type TimestampSigned,
  type TopLevelRole,
} from '../../lib/core/tuf-metadata.js';

export interface SimKey {
  keyid: string;
  key: TufKey;
  privateKey: KeyObject;
}

export function newKey(): SimKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const key = ed25519TufKey(ed25519RawPublicKey(publicKey));
  return { keyid: tufKeyId(key), key, privateKey };
}

/** Signs `signed` with each key, in canonical JSON, into an envelope's bytes. */
export function signEnvelope(signed: unknown, keys: readonly SimKey[]): Uint8Array {
  const message = canonicalBytes(signed);
  const envelope = {
    signatures: keys.map((k) => ({ keyid: k.keyid, sig: Buffer.from(cryptoSign(null, message, k.privateKey)).toString('hex') })),
    signed,
  };
  return new TextEncoder().encode(JSON.stringify(envelope, null, 1));
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const DAY = 24 * 3600 * 1000;

export interface SimulatorOptions {
  /** Expiry is computed from this time (default: the real clock, as tuf-js uses it). */
  now?: Date;
  consistentSnapshot?: boolean;
  /** Write the host tree here (default: a new temporary directory). */
  hostDir?: string;
  /** Number of root keys and threshold (default 1 of 1). */
  rootKeys?: number;
  rootThreshold?: number;
}

export class RepoSimulator {
  readonly hostDir: string;
  readonly now: Date;
  readonly keys: Record<TopLevelRole, SimKey[]>;
  /** Keys of delegated roles, by role name (also used for succinct bins). */
  readonly delegatedKeys = new Map<string, SimKey[]>();
  root: RootSigned;
  timestamp: TimestampSigned;
  snapshot: SnapshotSigned;
  /** "targets" and every delegated role. */
  readonly targets = new Map<string, TargetsSigned>();
  readonly targetBytes = new Map<string, Uint8Array>();
  /** Targets roles changed since the last publish (their version goes up). */
  readonly dirty = new Set<string>(['targets']);
  /** Bytes of each root version as published. */
  readonly rootHistory: Uint8Array[] = [];
  /** Which keys sign each role's next publish (default: the role's keys). */
  signers: Partial<Record<string, SimKey[]>> = {};

  constructor(options: SimulatorOptions = {}) {
    this.hostDir = options.hostDir ?? mkdtempSync(join(tmpdir(), 'airlock-sim-'));
    this.now = options.now ?? new Date();
    const rootKeys = Array.from({ length: options.rootKeys ?? 1 }, newKey);
    this.keys = { root: rootKeys, targets: [newKey()], snapshot: [newKey()], timestamp: [newKey()] };
    const expires = this.expiresIn(30);
    const role = (r: TopLevelRole, threshold = 1) => ({ keyids: this.keys[r].map((k) => k.keyid), threshold });
    const keys: Record<string, TufKey> = {};
    for (const r of Object.values(this.keys)) for (const k of r) keys[k.keyid] = k.key;
    this.root = {
      _type: 'root',
      spec_version: SPEC_VERSION,
      version: 1,
      expires,
      consistent_snapshot: options.consistentSnapshot ?? true,
      keys,
      roles: { root: role('root', options.rootThreshold ?? 1), targets: role('targets'), snapshot: role('snapshot'), timestamp: role('timestamp') },
    };
    this.targets.set('targets', { _type: 'targets', spec_version: SPEC_VERSION, version: 0, expires, targets: {} });
    this.snapshot = { _type: 'snapshot', spec_version: SPEC_VERSION, version: 0, expires, meta: {} };
    this.timestamp = { _type: 'timestamp', spec_version: SPEC_VERSION, version: 0, expires, meta: { 'snapshot.json': { version: 0 } } };
    this.writeRoot();
  }

  expiresIn(days: number): string {
    return formatExpires(new Date(this.now.getTime() + days * DAY));
  }

  /** The bytes of the first root: what a client pins. */
  get trustedRoot(): Uint8Array {
    return this.rootHistory[0]!;
  }

  path(...parts: string[]): string {
    return join(this.hostDir, ...parts);
  }

  read(...parts: string[]): Uint8Array {
    return new Uint8Array(readFileSync(this.path(...parts)));
  }

  /** Raw write under the host: the hook for hostile states. */
  write(relPath: string, bytes: Uint8Array | string): void {
    const p = this.path(relPath);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, bytes);
  }

  /** Every file under the host, relative path → bytes (to save and restore host states). */
  files(): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else out.set(relative(this.hostDir, p), readFileSync(p));
      }
    };
    walk(this.hostDir);
    return out;
  }

  restore(files: Map<string, Buffer>): void {
    rmSync(this.hostDir, { recursive: true, force: true });
    for (const [p, b] of files) this.write(p, b);
  }

  sign(role: string, signed: Signed): Uint8Array {
    const keys = this.signers[role] ?? (Object.hasOwn(this.keys, role) ? this.keys[role as TopLevelRole] : this.delegatedKeys.get(role));
    if (!keys) throw new Error(`no keys for ${role}`);
    return signEnvelope(signed, keys);
  }

  /** Writes the current root as N.root.json, signed by `extraSigners` too (the previous root keys on a rotation). */
  writeRoot(extraSigners: SimKey[] = []): Uint8Array {
    const own = this.signers.root ?? this.keys.root;
    const signers = [...extraSigners.filter((k) => !own.some((o) => o.keyid === k.keyid)), ...own];
    const bytes = signEnvelope(this.root, signers);
    this.write(`metadata/${this.root.version}.root.json`, bytes);
    this.rootHistory[this.root.version - 1] = bytes;
    return bytes;
  }

  /**
   * A new root version: `change` edits it (rotate keys, change thresholds); it is signed
   * by the previous root keys and the new ones, as the specification requires.
   */
  rotateRoot(change: (root: RootSigned, sim: this) => void = () => undefined): Uint8Array {
    const previous = [...this.keys.root];
    change(this.root, this);
    this.root.version += 1;
    return this.writeRoot(previous);
  }

  /** Replaces a top-level role's keys with fresh ones in a new root version. */
  rotateKeys(role: TopLevelRole, count = 1, threshold = 1): SimKey[] {
    const fresh = Array.from({ length: count }, newKey);
    this.rotateRoot((root) => {
      for (const k of this.keys[role]) delete root.keys[k.keyid];
      this.keys[role] = fresh;
      for (const k of fresh) root.keys[k.keyid] = k.key;
      root.roles[role] = { keyids: fresh.map((k) => k.keyid), threshold };
    });
    return fresh;
  }

  /** Lists sha256 and sha512 by default (what other TUF repositories often list); `algorithms` narrows it. */
  addTarget(path: string, bytes: Uint8Array | string, role = 'targets', custom?: Record<string, unknown>, algorithms: readonly ('sha256' | 'sha512')[] = ['sha256', 'sha512']): void {
    const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
    const t = this.targets.get(role);
    if (!t) throw new Error(`no targets role ${role}`);
    const hashes = Object.fromEntries(algorithms.map((a) => [a, createHash(a).update(data).digest('hex')]));
    t.targets[path] = { length: data.length, hashes, ...(custom ? { custom } : {}) };
    this.targetBytes.set(path, data);
    this.dirty.add(role);
  }

  /** Adds a delegated role under `parent` with fresh keys (or the given ones). */
  delegate(parent: string, role: Partial<DelegatedRole> & { name: string }, keys: SimKey[] = [newKey()]): SimKey[] {
    const p = this.targets.get(parent)!;
    p.delegations ??= { keys: {}, roles: [] };
    for (const k of keys) p.delegations.keys[k.keyid] = k.key;
    p.delegations.roles!.push({ keyids: keys.map((k) => k.keyid), threshold: 1, terminating: false, ...role } as DelegatedRole);
    this.delegatedKeys.set(role.name, keys);
    this.targets.set(role.name, { _type: 'targets', spec_version: SPEC_VERSION, version: 0, expires: this.expiresIn(30), targets: {} });
    this.dirty.add(parent);
    this.dirty.add(role.name);
    return keys;
  }

  /** A succinct hash delegation (TAP 15) from `parent` to 2^bitLength bins sharing one key. */
  delegateSuccinct(parent: string, bitLength: number, namePrefix: string, keys: SimKey[] = [newKey()]): string[] {
    const p = this.targets.get(parent)!;
    p.delegations = { keys: Object.fromEntries(keys.map((k) => [k.keyid, k.key])), succinct_roles: { keyids: keys.map((k) => k.keyid), threshold: 1, bit_length: bitLength, name_prefix: namePrefix } };
    const width = Math.ceil(bitLength / 4);
    const names = Array.from({ length: 2 ** bitLength }, (_, i) => `${namePrefix}-${i.toString(16).padStart(width, '0')}`);
    for (const name of names) {
      this.delegatedKeys.set(name, keys);
      this.targets.set(name, { _type: 'targets', spec_version: SPEC_VERSION, version: 0, expires: this.expiresIn(30), targets: {} });
      this.dirty.add(name);
    }
    this.dirty.add(parent);
    return names;
  }

  /** The metadata file name of a targets role at its current version. */
  targetsFile(role: string): string {
    const v = this.targets.get(role)!.version;
    return this.root.consistent_snapshot ? `metadata/${v}.${role}.json` : `metadata/${role}.json`;
  }

  snapshotFile(): string {
    return this.root.consistent_snapshot ? `metadata/${this.snapshot.version}.snapshot.json` : 'metadata/snapshot.json';
  }

  targetFile(path: string): string {
    const info = this.findTarget(path);
    const parts = path.split('/');
    if (this.root.consistent_snapshot) parts[parts.length - 1] = `${info.hashes.sha256}.${parts[parts.length - 1]}`;
    return `targets/${parts.join('/')}`;
  }

  findTarget(path: string) {
    for (const t of this.targets.values()) if (t.targets[path]) return t.targets[path]!;
    throw new Error(`no target ${path}`);
  }

  /**
   * Publishes: dirty targets roles get a new version, then a new snapshot listing every
   * targets role (with length and hashes), then a new timestamp. Targets bytes are
   * written first, timestamp last (the publishing order (docs/host-layout.md)).
   */
  publish(options: { snapshotHashes?: boolean; timestampHashes?: boolean } = {}): void {
    for (const [path, bytes] of this.targetBytes) {
      // Unchanged target files keep their mtime, as on a real terminal (publishing's digest cache reads it).
      const file = this.targetFile(path);
      if (!existsSync(this.path(file)) || !Buffer.from(bytes).equals(readFileSync(this.path(file)))) this.write(file, bytes);
    }
    for (const role of this.dirty) {
      const t = this.targets.get(role)!;
      t.version += 1;
      this.write(this.targetsFile(role), this.sign(role, t));
    }
    this.dirty.clear();
    this.snapshot.version += 1;
    this.snapshot.meta = {};
    for (const [role, t] of this.targets) {
      const bytes = this.read(this.targetsFile(role));
      this.snapshot.meta[`${role}.json`] = {
        version: t.version,
        ...(options.snapshotHashes === false ? {} : { length: bytes.length, hashes: { sha256: sha256(bytes) } }),
      };
    }
    const snapshotBytes = this.sign('snapshot', this.snapshot);
    this.write(this.snapshotFile(), snapshotBytes);
    this.timestamp.version += 1;
    this.timestamp.meta = {
      'snapshot.json': {
        version: this.snapshot.version,
        ...(options.timestampHashes === false ? {} : { length: snapshotBytes.length, hashes: { sha256: sha256(snapshotBytes) } }),
      },
    };
    this.write('metadata/timestamp.json', this.sign('timestamp', this.timestamp));
  }

  /** Re-signs only a new timestamp (what `airlock refresh` does between releases). */
  publishTimestamp(): void {
    this.timestamp.version += 1;
    this.write('metadata/timestamp.json', this.sign('timestamp', this.timestamp));
  }

  cleanup(): void {
    if (existsSync(this.hostDir)) rmSync(this.hostDir, { recursive: true, force: true });
  }
}
