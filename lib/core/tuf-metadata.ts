// TUF 1.0 metadata (https://theupdateframework.github.io/specification/latest/ §4):
// the typed shapes shared by the repository writer (lib/repo) and the client
// (lib/verify). Parsing untrusted bytes into these types lives here too, so one module
// owns the format in both directions.
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
