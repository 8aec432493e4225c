// Targets metadata, top-level and delegated (TUF specification §4.5 "targets.json",
// §4.5 delegations, TAP 15 succinct hash-bin delegations): type, parser, builder.
import {
  checkBool,
  checkCommon,
  checkHashes,
  checkInt,
  checkKeys,
  checkRoleKeys,
  checkRoleName,
  COMMON_FIELDS,
  copyUnrecognised,
  isPlainObject,
  nullProto,
  own,
  SPEC_VERSION,
  type Problems,
  type SignedCommon,
} from './tuf-common.js';
import type { TufKey } from './tuf-key.js';
import { TOP_LEVEL_NAMES } from './tuf-root.js';

/** What airlock records about each of its targets (docs/formats.md). */
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

/**
 * The hashes airlock lists for a target it signs: SHA-256 alone, as python-tuf's
 * `TargetFile.from_file` does by default (PEP 458 lists one hash too). A second hash buys
 * nothing while SHA-256 stands, yet every client must compute every listed hash (§5.7.3):
 * SHA-512 beside it made a verified download of a large target cost two hash passes, and
 * made every bin entry 40 % larger. Earlier targets keep the sha512 they were signed with;
 * `<file>.sha512` beside a release still serves those who want SHA-512.
 */
export function listedHashes(digests: { sha256: string }): Record<string, string> {
  return { sha256: digests.sha256 };
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
  const name = checkRoleName(p, `${path}.name`, own(v, 'name'));
  if (name === '') p.add(`${path}.name`, 'empty role name');
  // A delegated role named like a top-level role would be fetched as that role's file.
  if (TOP_LEVEL_NAMES.has(name)) p.add(`${path}.name`, `"${name}" is a top-level role name`);
  const out: DelegatedRole = {
    name,
    ...checkRoleKeys(p, path, v),
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
        ...checkRoleKeys(p, sp, succinct),
        bit_length: bitLength,
        name_prefix: checkRoleName(p, `${sp}.name_prefix`, own(succinct, 'name_prefix')),
      };
    }
  }
  copyUnrecognised(v, out as unknown as Record<string, unknown>, ['keys', 'roles', 'succinct_roles']);
  return out;
}

export function targetsFromJSON(p: Problems, s: Record<string, unknown>): TargetsSigned {
  const common = checkCommon(p, s, 'targets');
  const targets = own(s, 'targets');
  const out: TargetsSigned = { _type: 'targets', ...common, targets: nullProto<TargetFileInfo>() };
  if (!isPlainObject(targets)) p.add('signed.targets', 'expected an object of target path to target');
  else for (const [path, t] of Object.entries(targets)) out.targets[path] = checkTargetFile(p, `signed.targets.${path}`, t);
  const delegations = own(s, 'delegations');
  if (delegations !== undefined) out.delegations = checkDelegations(p, delegations);
  copyUnrecognised(s, out, [...COMMON_FIELDS, 'targets', 'delegations']);
  return out;
}

/** The next targets: version + 1, `additions` merged over the current targets, delegations kept. */
export function nextTargets(current: TargetsSigned | undefined, additions: Record<string, TargetFileInfo>, expires: string): TargetsSigned {
  const next: TargetsSigned = {
    _type: 'targets',
    spec_version: SPEC_VERSION,
    version: (current?.version ?? 0) + 1,
    expires,
    targets: { ...(current?.targets ?? {}), ...additions },
  };
  if (current?.delegations) next.delegations = current.delegations;
  return next;
}
