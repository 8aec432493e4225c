// What every TUF role shares (TUF specification §4.2 "Common fields", §4.4 METAFILES):
// the common signed fields, expiry times, metafiles, and the assertion helpers the role
// modules (tuf-root.ts, tuf-timestamp.ts, tuf-snapshot.ts, tuf-targets.ts) parse
// untrusted JSON with. Each assertion collects every bad field it finds (so one error
// says all that is wrong), and dictionaries come back with a null prototype (a key id
// "constructor" or "__proto__" cannot reach Object.prototype) — tuf-js
// `models/src/metadata.ts`, sigstore-js `bundle/src/validate.ts`.
import { sha256Hex } from './digest.js';
import { AirlockError } from './errors.js';
import { isHex } from './hex.js';
import type { TufKey } from './tuf-key.js';

export const SPEC_VERSION = '1.0.31';

export interface SignedCommon {
  spec_version: string;
  version: number;
  /** ISO 8601 UTC, seconds precision: YYYY-MM-DDTHH:MM:SSZ. */
  expires: string;
  [unrecognised: string]: unknown;
}

/** Keys and threshold of a role, as root and delegations list them. */
export interface RoleKeys {
  keyids: string[];
  threshold: number;
}

/** Hashes and length of a metadata file (§4.4 METAFILES). */
export interface MetaFile {
  version: number;
  length?: number;
  hashes?: Record<string, string>;
}

/** Length and hash of a metadata file as published, so a client bounds its download (§5.5.2). */
export function metaFileFor(version: number, bytes: Uint8Array): MetaFile {
  return { version, length: bytes.length, hashes: { sha256: sha256Hex(bytes) } };
}

/** TUF writes expiry with second precision and a literal Z. */
export function formatExpires(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
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

/** A specification version clients accept: TUF §4.2 spec_version, same major version. */
export function isSupportedSpecVersion(v: unknown): boolean {
  return typeof v === 'string' && /^1\.\d+(\.\d+)?$/.test(v);
}

// --- parsing untrusted JSON ------------------------------------------------------------

/** Collects problems under a JSON path; `done()` throws them all as one E_METADATA_INVALID. */
export class Problems {
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

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function nullProto<V>(): Record<string, V> {
  return Object.create(null) as Record<string, V>;
}

export function own(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** Copies fields the format does not define, so they survive a parse (TUF §4: unrecognised fields). */
export function copyUnrecognised(from: Record<string, unknown>, to: Record<string, unknown>, known: readonly string[]): void {
  for (const [k, v] of Object.entries(from)) if (!known.includes(k)) Object.defineProperty(to, k, { value: v, enumerable: true, writable: true, configurable: true });
}

export function checkInt(p: Problems, path: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    p.add(path, `expected an integer >= ${min}`);
    return min;
  }
  return v;
}

export function checkString(p: Problems, path: string, v: unknown): string {
  if (typeof v !== 'string') {
    p.add(path, 'expected a string');
    return '';
  }
  return v;
}

/**
 * Whether `s` is well-formed UTF-16 (no lone surrogate). A role name becomes a file name
 * through its UTF-8 bytes, and UTF-8 has no encoding of a lone surrogate: every one
 * would become U+FFFD, so two different names would share one file.
 */
export function isWellFormedText(s: string): boolean {
  return !/\p{Surrogate}/u.test(s);
}

/** A role name: a string of well-formed UTF-16 (isWellFormedText). */
export function checkRoleName(p: Problems, path: string, v: unknown): string {
  const name = checkString(p, path, v);
  if (!isWellFormedText(name)) p.add(path, 'holds a lone surrogate (not well-formed Unicode), which no file name can keep apart from U+FFFD');
  return name;
}

export function checkBool(p: Problems, path: string, v: unknown): boolean {
  if (typeof v !== 'boolean') {
    p.add(path, 'expected true or false');
    return false;
  }
  return v;
}

/** A list of distinct key ids; a repeated id is refused (one key, one vote). */
export function checkKeyIds(p: Problems, path: string, v: unknown): string[] {
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

/** Keys and threshold of a role; a threshold below 1 is refused (TUF §4.3: at least one). */
export function checkRoleKeys(p: Problems, path: string, v: Record<string, unknown>): RoleKeys {
  return { keyids: checkKeyIds(p, `${path}.keyids`, own(v, 'keyids')), threshold: checkInt(p, `${path}.threshold`, own(v, 'threshold'), 1) };
}

export function checkCommon(p: Problems, s: Record<string, unknown>, type: string): SignedCommon {
  if (own(s, '_type') !== type) p.add('signed._type', `expected "${type}"`);
  const spec = own(s, 'spec_version');
  // Clients must refuse metadata of another major version of the specification (TUF §4.2 spec_version).
  if (!isSupportedSpecVersion(spec)) p.add('signed.spec_version', 'expected a 1.x.y specification version');
  const version = checkInt(p, 'signed.version', own(s, 'version'), 1);
  const expires = own(s, 'expires');
  if (parseExpires(expires) === undefined) p.add('signed.expires', 'expected a UTC time as YYYY-MM-DDTHH:MM:SSZ');
  // Never String(x) on untrusted values: an object with its own toString throws.
  return { spec_version: typeof spec === 'string' ? spec : '', version, expires: typeof expires === 'string' ? expires : '' };
}

/** The fields every role's signed part has; the role modules add their own to this list. */
export const COMMON_FIELDS: readonly string[] = ['_type', 'spec_version', 'version', 'expires'];

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

/**
 * A key id → key dictionary. Only the shape is checked: a key of a scheme we do not
 * support, or whose material is malformed, is kept and simply never counts toward a
 * threshold (signature-schemes.ts), as python-tuf does.
 */
export function checkKeys(p: Problems, path: string, v: unknown): Record<string, TufKey> {
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

export function checkHashes(p: Problems, path: string, v: unknown): Record<string, string> {
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

export function checkMetaFile(p: Problems, path: string, v: unknown): MetaFile {
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
