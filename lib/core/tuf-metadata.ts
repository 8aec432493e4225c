// TUF 1.0 metadata files (https://theupdateframework.github.io/specification/latest/ §4):
// the envelope (signed part + signatures, §4.2), file names, and parsing untrusted bytes
// into a typed role. Each role's type, parser, builder and rules live in its own module
// (tuf-root.ts, tuf-timestamp.ts, tuf-snapshot.ts, tuf-targets.ts, as tuf-js
// `models/src/root.ts` …), the threshold check in tuf-threshold.ts; this module
// re-exports them so callers import the format from one place. Builders are plain
// functions no verifier code calls, so the bundler drops them from airlock-verify.
//
// The exact bytes that were signed are kept beside the typed value: signatures are
// checked over the canonical form of what the host sent, never over a re-serialisation
// of our own typed copy (tuf-js `models/src/metadata.ts`).
import { canonicalBytes, canonicalJsonFileBytes } from './canonical-json.js';
import { AirlockError } from './errors.js';
import { isHex } from './hex.js';
import { isPlainObject, own, Problems } from './tuf-common.js';
import { rootFromJSON, type RootSigned } from './tuf-root.js';
import { snapshotFromJSON, type SnapshotSigned } from './tuf-snapshot.js';
import { targetsFromJSON, type TargetsSigned } from './tuf-targets.js';
import { timestampFromJSON, type TimestampSigned } from './tuf-timestamp.js';

export { formatExpires, isExpired, metaFileFor, parseExpires, SPEC_VERSION, type MetaFile, type RoleKeys, type SignedCommon } from './tuf-common.js';
export { buildRoot, rootProblems, ROOT_FIELDS, TOP_LEVEL_ROLES, topLevelRoleVerification, type RoleAssignment, type RootSigned, type TopLevelRole } from './tuf-root.js';
export { nextSnapshot, type SnapshotSigned } from './tuf-snapshot.js';
export { listedHashes, nextTargets, type AirlockTargetCustom, type DelegatedRole, type Delegations, type SuccinctRoles, type TargetFileInfo, type TargetsSigned } from './tuf-targets.js';
export { nextTimestamp, type TimestampSigned } from './tuf-timestamp.js';
export { thresholdResult, verifyThreshold, type RoleVerification, type SignedMessage, type ThresholdResult } from './tuf-threshold.js';

export interface Signature {
  keyid: string;
  sig: string;
}

export type Signed = RootSigned | TimestampSigned | SnapshotSigned | TargetsSigned;

/** A metadata file: the signed part and its signatures (§4.2). */
export interface Envelope<T extends Signed = Signed> {
  signatures: Signature[];
  signed: T;
}

/** Metadata parsed from untrusted bytes, with what its signatures cover. */
export interface ParsedMetadata<T extends Signed = Signed> extends Envelope<T> {
  /** Canonical JSON of `signed` exactly as received: the message the signatures sign. */
  readonly signedBytes: Uint8Array;
}

export type MetadataType = Signed['_type'];
type SignedOf<K extends MetadataType> = Extract<Signed, { _type: K }>;

/**
 * The file name of a role's metadata on a host and in the terminal's copy (TUF §5.5.3
 * consistent snapshots: `VERSION.ROLE.json`; timestamp is always `timestamp.json`, §5.3).
 * Without a version: the unversioned name (`root.json`, a delegated role's name in
 * messages). `role` is used as given: a delegated role whose name needs quoting in a
 * URL or path is quoted by the caller that builds one.
 */
export function metadataFileName(role: string, version?: number): string {
  if (role === 'timestamp' || version === undefined) return `${role}.json`;
  return `${version}.${role}.json`;
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

const FROM_JSON: { [K in MetadataType]: (p: Problems, s: Record<string, unknown>) => SignedOf<K> } = {
  root: rootFromJSON,
  timestamp: timestampFromJSON,
  snapshot: snapshotFromJSON,
  targets: targetsFromJSON,
};

/**
 * Parses a metadata file from untrusted bytes into a typed value, checking its shape
 * only (no signatures, no expiry): every bad field is reported in one E_METADATA_INVALID.
 * `name` says which file it is for messages (e.g. "5.root.json").
 */
export function parseMetadata<K extends MetadataType>(bytes: Uint8Array, type: K, name: string = metadataFileName(type)): ParsedMetadata<SignedOf<K>> {
  const { p, rawSigned, signed, signatures } = parseShape(bytes, type, name);
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

/**
 * parseMetadata for metadata whose signatures the reader does not check: the terminal's
 * own copy, which it signed. Its signatures' canonical bytes are not kept, but the file
 * must be byte for byte the canonical JSON airlock writes (canonicalJsonFileBytes): a
 * copy edited by hand — re-indented, keys reordered, a float — is refused when read,
 * before any key is unlocked, not when it is re-signed. Encoding it again costs about
 * 1.6× its parse (a 1.1 MB snapshot of 8,192 bins: 39 ms to parse, +62 ms to check).
 */
export function parseUnverifiedEnvelope<K extends MetadataType>(bytes: Uint8Array, type: K, name: string = metadataFileName(type)): Envelope<SignedOf<K>> {
  const { p, raw, signed, signatures } = parseShape(bytes, type, name);
  const problem = canonicalFileProblem(raw, bytes);
  if (problem) p.add(problem.at, problem.problem);
  p.done();
  return { signed, signatures };
}

/**
 * Whether `bytes` are byte for byte the canonical JSON file airlock writes — what
 * parseUnverifiedEnvelope will later demand of the copy. `airlock sync` checks every
 * metadata file a host serves with it before taking any: signatures cover only the
 * canonical form of `signed`, so a host without keys can re-indent a file and keep it
 * valid for clients, but the copy could not read it back.
 */
export function isCanonicalFile(bytes: Uint8Array): boolean {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return false;
  }
  return canonicalFileProblem(raw, bytes) === undefined;
}

function canonicalFileProblem(raw: unknown, bytes: Uint8Array): { at: string; problem: string } | undefined {
  let canonical: Uint8Array;
  try {
    canonical = canonicalJsonFileBytes(raw);
  } catch (err) {
    // Floats, unsafe integers, lone surrogates: nothing airlock writes.
    return { at: 'signed', problem: `has no canonical JSON form (${(err as AirlockError).message})` };
  }
  if (Buffer.compare(canonical, bytes) !== 0) return { at: '$', problem: 'is not in the canonical JSON form airlock writes (edited by hand, re-indented?)' };
  return undefined;
}

function parseShape<K extends MetadataType>(bytes: Uint8Array, type: K, name: string): { p: Problems; raw: Record<string, unknown>; rawSigned: Record<string, unknown>; signed: SignedOf<K>; signatures: Signature[] } {
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
  const signed = FROM_JSON[type](p, rawSigned as Record<string, unknown>) as SignedOf<K>;
  return { p, raw: envelope, rawSigned: rawSigned as Record<string, unknown>, signed, signatures };
}

/** Parses and checks a root (convenience for callers that only handle roots). */
export function parseRoot(bytes: Uint8Array, name = 'root.json'): ParsedMetadata<RootSigned> {
  return parseMetadata(bytes, 'root', name);
}
