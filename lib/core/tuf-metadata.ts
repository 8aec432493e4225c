// TUF 1.0 metadata (https://theupdateframework.github.io/specification/latest/ §4):
// the typed shapes shared by the repository writer (lib/repo) and the client
// (lib/verify). Parsing untrusted bytes into these types lives here too, so one module
// owns the format in both directions; signatures are checked here too (threshold over
// distinct keys), so the repository writer can verify what it reads back.
import { canonicalBytes } from './canonical-json.js';
import { ed25519Verify } from './ed25519.js';
import { AirlockError } from './errors.js';
import { fromHex, isHex } from './hex.js';
import type { TufKey } from './tuf-key.js';

export const SPEC_VERSION = '1.0.31';

export type TopLevelRole = 'root' | 'timestamp' | 'snapshot' | 'targets';
export const TOP_LEVEL_ROLES: readonly TopLevelRole[] = ['root', 'timestamp', 'snapshot', 'targets'];

export interface Signature {
  keyid: string;
  sig: string;
}

/** A metadata file: the signed part and its signatures (§4.2). */
export interface Envelope<T extends Signed = Signed> {
  signatures: Signature[];
  signed: T;
}

interface SignedCommon {
  spec_version: string;
  version: number;
  /** ISO 8601 UTC, seconds precision: YYYY-MM-DDTHH:MM:SSZ. */
  expires: string;
  [unrecognised: string]: unknown;
}

export interface RoleKeys {
  keyids: string[];
  threshold: number;
}

export interface RootSigned extends SignedCommon {
  _type: 'root';
  consistent_snapshot: boolean;
  keys: Record<string, TufKey>;
  roles: Record<TopLevelRole, RoleKeys> & Record<string, RoleKeys>;
}

/** Hashes and length of a metadata file (§4.4 METAFILES). */
export interface MetaFile {
  version: number;
  length?: number;
  hashes?: Record<string, string>;
}

export interface TimestampSigned extends SignedCommon {
  _type: 'timestamp';
  meta: { 'snapshot.json': MetaFile };
}

export interface SnapshotSigned extends SignedCommon {
  _type: 'snapshot';
  meta: Record<string, MetaFile>;
}

/** What airlock records about each of its targets (DESIGN.md "Trust and formats"). */
export interface AirlockTargetCustom {
  project: string;
  version: string;
  commit: string;
  branch: string;
  sourceDateEpoch: number;
  /** Target path of the DSSE provenance envelope for this release. */
  provenance: string;
}

export interface TargetFileInfo {
  length: number;
  hashes: Record<string, string>;
  custom?: { airlock?: AirlockTargetCustom; [k: string]: unknown };
}

export interface DelegatedRole {
  name: string;
  keyids: string[];
  threshold: number;
  terminating: boolean;
  paths?: string[];
  path_hash_prefixes?: string[];
}

export interface SuccinctRoles {
  keyids: string[];
  threshold: number;
  bit_length: number;
  name_prefix: string;
}

export interface Delegations {
  keys: Record<string, TufKey>;
  roles?: DelegatedRole[];
  succinct_roles?: SuccinctRoles;
}

export interface TargetsSigned extends SignedCommon {
  _type: 'targets';
  targets: Record<string, TargetFileInfo>;
  delegations?: Delegations;
}

export type Signed = RootSigned | TimestampSigned | SnapshotSigned | TargetsSigned;

/** TUF writes expiry with second precision and a literal Z. */
export function formatExpires(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// --- parsing untrusted bytes -----------------------------------------------------------
// Everything below reads metadata from a host that is not trusted. Each assertion
// collects every bad field it finds (so one error says all that is wrong), dictionaries
// come back with a null prototype (a key id "constructor" or "__proto__" cannot reach
// Object.prototype), and the exact bytes that were signed are kept beside the typed
// value: signatures are checked over the canonical form of what the host sent, never
// over a re-serialisation of our own typed copy (tuf-js `models/src/metadata.ts`,
// sigstore-js `bundle/src/validate.ts`).

/** Metadata parsed from untrusted bytes, with what its signatures cover. */
export interface ParsedMetadata<T extends Signed = Signed> extends Envelope<T> {
  /** Canonical JSON of `signed` exactly as received: the message the signatures sign. */
  readonly signedBytes: Uint8Array;
}

export type MetadataType = Signed['_type'];
type SignedOf<K extends MetadataType> = Extract<Signed, { _type: K }>;

const TOP_LEVEL_NAMES: ReadonlySet<string> = new Set(TOP_LEVEL_ROLES);

/** Collects problems under a JSON path; `done()` throws them all as one E_METADATA_INVALID. */
class Problems {
  readonly list: string[] = [];
  constructor(private readonly what: string) {}
  add(path: string, problem: string): void {
    this.list.push(`${path}: ${problem}`);
  }
  done(): void {
    if (this.list.length === 0) return;
    const shown = this.list.slice(0, 8).join('; ');
    const more = this.list.length > 8 ? ` (and ${this.list.length - 8} more)` : '';
    throw new AirlockError(
      'E_METADATA_INVALID',
      `${this.what} is malformed: ${shown}${more}; the host serves bad metadata, try another mirror or tell the publisher`,
      { details: { problems: this.list } },
    );
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nullProto<V>(): Record<string, V> {
  return Object.create(null) as Record<string, V>;
}

function own(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** Copies fields the format does not define, so they survive a parse (TUF §4: unrecognised fields). */
function copyUnrecognised(from: Record<string, unknown>, to: Record<string, unknown>, known: readonly string[]): void {
  for (const [k, v] of Object.entries(from)) if (!known.includes(k)) Object.defineProperty(to, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function checkInt(p: Problems, path: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    p.add(path, `expected an integer >= ${min}`);
    return min;
  }
  return v;
}

function checkString(p: Problems, path: string, v: unknown): string {
  if (typeof v !== 'string') {
    p.add(path, 'expected a string');
    return '';
  }
  return v;
}

function checkBool(p: Problems, path: string, v: unknown): boolean {
  if (typeof v !== 'boolean') {
    p.add(path, 'expected true or false');
    return false;
  }
  return v;
}

function checkKeyIds(p: Problems, path: string, v: unknown): string[] {
  if (!Array.isArray(v)) {
    p.add(path, 'expected a list of key ids');
    return [];
  }
  const seen = new Set<string>();
  v.forEach((k, i) => {
    if (typeof k !== 'string' || k === '') p.add(`${path}[${i}]`, 'expected a key id string');
    else if (seen.has(k)) p.add(`${path}[${i}]`, `duplicate key id ${k}`);
    else seen.add(k);
  });
  return [...seen];
}

const EXPIRES_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

/** Parses TUF's `YYYY-MM-DDTHH:MM:SSZ`; undefined for anything else (no offsets, no fractions). */
export function parseExpires(s: unknown): Date | undefined {
  if (typeof s !== 'string') return undefined;
  const m = EXPIRES_RE.exec(s);
  if (!m) return undefined;
  const d = new Date(`${s.slice(0, 19)}.000Z`);
  // Round-trip so that 2026-02-31 or 25:00:00 are refused, not silently normalised.
  if (Number.isNaN(d.getTime()) || formatExpires(d) !== s) return undefined;
  return d;
}

/** TUF §5.3.10 / §5.4.4 …: metadata is expired when its expiry is not after the reference time. */
export function isExpired(signed: Pick<SignedCommon, 'expires'>, referenceTime: Date): boolean {
  const at = parseExpires(signed.expires);
  return at === undefined || at.getTime() <= referenceTime.getTime();
}

function checkCommon(p: Problems, s: Record<string, unknown>, type: MetadataType): SignedCommon {
  if (own(s, '_type') !== type) p.add('signed._type', `expected "${type}"`);
  const spec = own(s, 'spec_version');
  // Clients must refuse metadata of another major version of the specification (TUF §4.2 spec_version).
  if (typeof spec !== 'string' || !/^1\.\d+(\.\d+)?$/.test(spec)) p.add('signed.spec_version', 'expected a 1.x.y specification version');
  const version = checkInt(p, 'signed.version', own(s, 'version'), 1);
  const expires = own(s, 'expires');
  if (parseExpires(expires) === undefined) p.add('signed.expires', 'expected a UTC time as YYYY-MM-DDTHH:MM:SSZ');
  // Never String(x) on untrusted values: an object with its own toString throws.
  return { spec_version: typeof spec === 'string' ? spec : '', version, expires: typeof expires === 'string' ? expires : '' };
}

function checkKey(p: Problems, path: string, v: unknown): TufKey {
  if (!isPlainObject(v)) {
    p.add(path, 'expected a key object');
    return { keytype: '', scheme: '', keyval: { public: '' } };
  }
  const keytype = checkString(p, `${path}.keytype`, own(v, 'keytype'));
  const scheme = checkString(p, `${path}.scheme`, own(v, 'scheme'));
  const keyval = own(v, 'keyval');
  const out: TufKey = { keytype, scheme, keyval: { public: '' } };
  if (!isPlainObject(keyval)) {
    p.add(`${path}.keyval`, 'expected an object');
  } else {
    const kv = nullProto<string>();
    for (const [k, x] of Object.entries(keyval)) {
      if (typeof x !== 'string') p.add(`${path}.keyval.${k}`, 'expected a string');
      else kv[k] = x;
    }
    if (typeof kv.public !== 'string') p.add(`${path}.keyval.public`, 'expected a string');
    out.keyval = kv as TufKey['keyval'];
  }
  copyUnrecognised(v, out as unknown as Record<string, unknown>, ['keytype', 'scheme', 'keyval']);
  return out;
}

function checkKeys(p: Problems, path: string, v: unknown): Record<string, TufKey> {
  const out = nullProto<TufKey>();
  if (!isPlainObject(v)) {
    p.add(path, 'expected an object of key id to key');
    return out;
  }
  for (const [id, key] of Object.entries(v)) {
    if (id === '') p.add(path, 'empty key id');
    out[id] = checkKey(p, `${path}.${id}`, key);
  }
  return out;
}

function checkHashes(p: Problems, path: string, v: unknown): Record<string, string> {
  const out = nullProto<string>();
  if (!isPlainObject(v) || Object.keys(v).length === 0) {
    p.add(path, 'expected a non-empty object of algorithm to hex digest');
    return out;
  }
  for (const [alg, h] of Object.entries(v)) {
    if (!isHex(h) || h.length === 0) p.add(`${path}.${alg}`, 'expected a hex digest');
    else out[alg] = h.toLowerCase();
  }
  return out;
}

function checkMetaFile(p: Problems, path: string, v: unknown): MetaFile {
  if (!isPlainObject(v)) {
    p.add(path, 'expected a metafile object');
    return { version: 1 };
  }
  const out: MetaFile = { version: checkInt(p, `${path}.version`, own(v, 'version'), 1) };
  if (own(v, 'length') !== undefined) out.length = checkInt(p, `${path}.length`, own(v, 'length'), 0);
  if (own(v, 'hashes') !== undefined) out.hashes = checkHashes(p, `${path}.hashes`, own(v, 'hashes'));
  copyUnrecognised(v, out as unknown as Record<string, unknown>, ['version', 'length', 'hashes']);
  return out;
}

function checkRoot(p: Problems, s: Record<string, unknown>): RootSigned {
  const common = checkCommon(p, s, 'root');
  const cs = own(s, 'consistent_snapshot');
  const keys = checkKeys(p, 'signed.keys', own(s, 'keys'));
  const roles = nullProto<RoleKeys>();
  const rawRoles = own(s, 'roles');
  if (!isPlainObject(rawRoles)) {
    p.add('signed.roles', 'expected an object of role name to keys and threshold');
  } else {
    for (const name of TOP_LEVEL_ROLES) if (!Object.hasOwn(rawRoles, name)) p.add(`signed.roles.${name}`, 'missing');
    for (const [name, r] of Object.entries(rawRoles)) {
      const path = `signed.roles.${name}`;
      if (!isPlainObject(r)) {
        p.add(path, 'expected an object');
        continue;
      }
      roles[name] = { keyids: checkKeyIds(p, `${path}.keyids`, own(r, 'keyids')), threshold: checkInt(p, `${path}.threshold`, own(r, 'threshold'), 1) };
    }
  }
  const out: RootSigned = {
    _type: 'root',
    ...common,
    consistent_snapshot: cs === undefined ? false : checkBool(p, 'signed.consistent_snapshot', cs),
    keys,
    roles: roles as RootSigned['roles'],
  };
  copyUnrecognised(s, out, ['_type', 'spec_version', 'version', 'expires', 'consistent_snapshot', 'keys', 'roles']);
  return out;
}

function checkTimestamp(p: Problems, s: Record<string, unknown>): TimestampSigned {
  const common = checkCommon(p, s, 'timestamp');
  const meta = own(s, 'meta');
  let snap: MetaFile = { version: 1 };
  if (!isPlainObject(meta) || !Object.hasOwn(meta, 'snapshot.json')) p.add('signed.meta', 'expected an object with "snapshot.json"');
  else snap = checkMetaFile(p, 'signed.meta.snapshot.json', meta['snapshot.json']);
  const out: TimestampSigned = { _type: 'timestamp', ...common, meta: { 'snapshot.json': snap } };
  copyUnrecognised(s, out, ['_type', 'spec_version', 'version', 'expires', 'meta']);
  return out;
}

function checkSnapshot(p: Problems, s: Record<string, unknown>): SnapshotSigned {
  const common = checkCommon(p, s, 'snapshot');
  const meta = own(s, 'meta');
  const out: SnapshotSigned = { _type: 'snapshot', ...common, meta: nullProto<MetaFile>() };
  if (!isPlainObject(meta)) p.add('signed.meta', 'expected an object of metadata file name to metafile');
  else for (const [name, m] of Object.entries(meta)) out.meta[name] = checkMetaFile(p, `signed.meta.${name}`, m);
  copyUnrecognised(s, out, ['_type', 'spec_version', 'version', 'expires', 'meta']);
  return out;
}

function checkTargetFile(p: Problems, path: string, v: unknown): TargetFileInfo {
  if (!isPlainObject(v)) {
    p.add(path, 'expected a target object');
    return { length: 0, hashes: nullProto() };
  }
  const out: TargetFileInfo = { length: checkInt(p, `${path}.length`, own(v, 'length'), 0), hashes: checkHashes(p, `${path}.hashes`, own(v, 'hashes')) };
  const custom = own(v, 'custom');
  if (custom !== undefined) {
    if (!isPlainObject(custom)) p.add(`${path}.custom`, 'expected an object');
    else out.custom = custom as TargetFileInfo['custom'];
  }
  copyUnrecognised(v, out as unknown as Record<string, unknown>, ['length', 'hashes', 'custom']);
  return out;
}

function checkDelegatedRole(p: Problems, path: string, v: unknown): DelegatedRole | undefined {
  if (!isPlainObject(v)) {
    p.add(path, 'expected a delegated role object');
    return undefined;
  }
  const name = checkString(p, `${path}.name`, own(v, 'name'));
  if (name === '') p.add(`${path}.name`, 'empty role name');
  // A delegated role named like a top-level role would be fetched as that role's file.
  if (TOP_LEVEL_NAMES.has(name)) p.add(`${path}.name`, `"${name}" is a top-level role name`);
  const out: DelegatedRole = {
    name,
    keyids: checkKeyIds(p, `${path}.keyids`, own(v, 'keyids')),
    threshold: checkInt(p, `${path}.threshold`, own(v, 'threshold'), 1),
    terminating: checkBool(p, `${path}.terminating`, own(v, 'terminating')),
  };
  const paths = own(v, 'paths');
  const prefixes = own(v, 'path_hash_prefixes');
  if (paths !== undefined && prefixes !== undefined) p.add(path, 'has both paths and path_hash_prefixes');
  const strings = (field: string, x: unknown, hex: boolean): string[] => {
    if (!Array.isArray(x) || x.some((e) => typeof e !== 'string' || (hex && !/^[0-9a-fA-F]*$/.test(e)))) {
      p.add(`${path}.${field}`, hex ? 'expected a list of hex prefixes' : 'expected a list of path patterns');
      return [];
    }
    return hex ? x.map((e: string) => e.toLowerCase()) : x;
  };
  if (paths !== undefined) out.paths = strings('paths', paths, false);
  if (prefixes !== undefined) out.path_hash_prefixes = strings('path_hash_prefixes', prefixes, true);
  copyUnrecognised(v, out as unknown as Record<string, unknown>, ['name', 'keyids', 'threshold', 'terminating', 'paths', 'path_hash_prefixes']);
  return out;
}

function checkDelegations(p: Problems, v: unknown): Delegations {
  const path = 'signed.delegations';
  if (!isPlainObject(v)) {
    p.add(path, 'expected an object');
    return { keys: nullProto() };
  }
  const out: Delegations = { keys: checkKeys(p, `${path}.keys`, own(v, 'keys')) };
  const roles = own(v, 'roles');
  const succinct = own(v, 'succinct_roles');
  if ((roles === undefined) === (succinct === undefined)) p.add(path, 'expected exactly one of roles and succinct_roles');
  if (roles !== undefined) {
    if (!Array.isArray(roles)) p.add(`${path}.roles`, 'expected a list');
    else {
      const names = new Set<string>();
      out.roles = [];
      roles.forEach((r, i) => {
        const role = checkDelegatedRole(p, `${path}.roles[${i}]`, r);
        if (!role) return;
        if (names.has(role.name)) p.add(`${path}.roles[${i}].name`, `duplicate role name ${role.name}`);
        names.add(role.name);
        out.roles!.push(role);
      });
    }
  }
  if (succinct !== undefined) {
    const sp = `${path}.succinct_roles`;
    if (!isPlainObject(succinct)) p.add(sp, 'expected an object');
    else {
      const bitLength = checkInt(p, `${sp}.bit_length`, own(succinct, 'bit_length'), 1);
      if (bitLength > 32) p.add(`${sp}.bit_length`, 'expected at most 32');
      out.succinct_roles = {
        keyids: checkKeyIds(p, `${sp}.keyids`, own(succinct, 'keyids')),
        threshold: checkInt(p, `${sp}.threshold`, own(succinct, 'threshold'), 1),
        bit_length: bitLength,
        name_prefix: checkString(p, `${sp}.name_prefix`, own(succinct, 'name_prefix')),
      };
    }
  }
  copyUnrecognised(v, out as unknown as Record<string, unknown>, ['keys', 'roles', 'succinct_roles']);
  return out;
}

function checkTargets(p: Problems, s: Record<string, unknown>): TargetsSigned {
  const common = checkCommon(p, s, 'targets');
  const targets = own(s, 'targets');
  const out: TargetsSigned = { _type: 'targets', ...common, targets: nullProto<TargetFileInfo>() };
  if (!isPlainObject(targets)) p.add('signed.targets', 'expected an object of target path to target');
  else for (const [path, t] of Object.entries(targets)) out.targets[path] = checkTargetFile(p, `signed.targets.${path}`, t);
  const delegations = own(s, 'delegations');
  if (delegations !== undefined) out.delegations = checkDelegations(p, delegations);
  copyUnrecognised(s, out, ['_type', 'spec_version', 'version', 'expires', 'targets', 'delegations']);
  return out;
}

function checkSignatures(p: Problems, v: unknown): Signature[] {
  if (!Array.isArray(v)) {
    p.add('signatures', 'expected a list');
    return [];
  }
  const seen = new Set<string>();
  const out: Signature[] = [];
  v.forEach((s, i) => {
    if (!isPlainObject(s)) {
      p.add(`signatures[${i}]`, 'expected an object');
      return;
    }
    const keyid = own(s, 'keyid');
    const sig = own(s, 'sig');
    if (typeof keyid !== 'string' || keyid === '') p.add(`signatures[${i}].keyid`, 'expected a key id string');
    else if (seen.has(keyid)) p.add(`signatures[${i}].keyid`, `a second signature by key ${keyid}`);
    if (!isHex(sig)) p.add(`signatures[${i}].sig`, 'expected a hex signature');
    if (typeof keyid === 'string' && isHex(sig)) {
      seen.add(keyid);
      out.push({ keyid, sig });
    }
  });
  return out;
}

const CHECKERS: { [K in MetadataType]: (p: Problems, s: Record<string, unknown>) => SignedOf<K> } = {
  root: checkRoot,
  timestamp: checkTimestamp,
  snapshot: checkSnapshot,
  targets: checkTargets,
};

/**
 * Parses a metadata file from untrusted bytes into a typed value, checking its shape
 * only (no signatures, no expiry): every bad field is reported in one E_METADATA_INVALID.
 * `name` says which file it is for messages (e.g. "5.root.json").
 */
export function parseMetadata<K extends MetadataType>(bytes: Uint8Array, type: K, name: string = `${type}.json`): ParsedMetadata<SignedOf<K>> {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new AirlockError('E_METADATA_INVALID', `${name} is not UTF-8 JSON; the host serves bad metadata, try another mirror or tell the publisher`, { cause: err });
  }
  const p = new Problems(name);
  if (!isPlainObject(raw)) {
    p.add('$', 'expected an object with "signed" and "signatures"');
    p.done();
  }
  const envelope = raw as Record<string, unknown>;
  const rawSigned = own(envelope, 'signed');
  const signatures = checkSignatures(p, own(envelope, 'signatures'));
  if (!isPlainObject(rawSigned)) {
    p.add('signed', 'expected an object');
    p.done();
  }
  const signed = CHECKERS[type](p, rawSigned as Record<string, unknown>) as SignedOf<K>;
  let signedBytes: Uint8Array = new Uint8Array();
  try {
    signedBytes = canonicalBytes(rawSigned);
  } catch (err) {
    // Floats, unsafe integers, lone surrogates: nothing a TUF signer can have signed.
    p.add('signed', `has no canonical JSON form (${(err as AirlockError).message})`);
  }
  p.done();
  return { signed, signatures, signedBytes };
}

/** Parses and checks a root (convenience for callers that only handle roots). */
export function parseRoot(bytes: Uint8Array, name = 'root.json'): ParsedMetadata<RootSigned> {
  return parseMetadata(bytes, 'root', name);
}

/** Keys and threshold a role's metadata must be signed with. */
export interface RoleVerification {
  /** For messages: "root", "targets", "bins-0a" … */
  role: string;
  keyids: readonly string[];
  threshold: number;
  keys: Readonly<Record<string, TufKey>>;
}

/** What made a key count toward a threshold; only Ed25519 is supported (DESIGN "Trust and formats"). */
function keyIdentity(key: TufKey): string | undefined {
  if (key.keytype !== 'ed25519' || key.scheme !== 'ed25519' || !isHex(key.keyval.public, 32)) return undefined;
  return key.keyval.public.toLowerCase();
}

/**
 * Counts the signatures over `signedBytes` made by distinct keys of the role that verify,
 * and refuses (E_SIG_THRESHOLD) below the threshold. Keys are counted by their public
 * key, not their id, so one key listed under two ids counts once.
 */
export function verifyThreshold(metadata: Pick<ParsedMetadata, 'signatures' | 'signedBytes'>, role: RoleVerification, name: string): number {
  const allowed = new Set(role.keyids);
  const counted = new Set<string>();
  for (const sig of metadata.signatures) {
    if (!allowed.has(sig.keyid) || !Object.hasOwn(role.keys, sig.keyid)) continue;
    const identity = keyIdentity(role.keys[sig.keyid]!);
    if (identity === undefined || counted.has(identity) || !isHex(sig.sig, 64)) continue;
    if (ed25519Verify(fromHex(identity), metadata.signedBytes, fromHex(sig.sig))) counted.add(identity);
  }
  if (counted.size < role.threshold) {
    throw new AirlockError(
      'E_SIG_THRESHOLD',
      `${name} has ${counted.size} valid signature(s) from ${role.role} keys, ${role.threshold} needed; it was not signed by the repository's keys — do not use this host's data`,
      { details: { role: role.role, valid: counted.size, threshold: role.threshold } },
    );
  }
  return counted.size;
}

/** The keys and threshold a root gives one of its top-level roles. */
export function topLevelRoleVerification(root: RootSigned, role: TopLevelRole): RoleVerification {
  const r = root.roles[role];
  return { role, keyids: r.keyids, threshold: r.threshold, keys: root.keys };
}
