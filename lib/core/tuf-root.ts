// Root metadata (TUF specification §4.3 "root.json"), both directions: its type, its
// parser from untrusted JSON (the client), its builder (the terminal), and the rules a
// root must meet before the terminal lets anyone sign it (the ceremony and root publish).
import { COMMON_FIELDS, copyUnrecognised, checkBool, checkCommon, checkKeys, checkRoleKeys, isPlainObject, isSupportedSpecVersion, nullProto, own, SPEC_VERSION, type Problems, type RoleKeys, type SignedCommon } from './tuf-common.js';
import { verificationKey } from './signature-schemes.js';
import { tufKeyId, type TufKey } from './tuf-key.js';
import type { RoleVerification } from './tuf-threshold.js';

export type TopLevelRole = 'root' | 'timestamp' | 'snapshot' | 'targets';
export const TOP_LEVEL_ROLES: readonly TopLevelRole[] = ['root', 'timestamp', 'snapshot', 'targets'];
export const TOP_LEVEL_NAMES: ReadonlySet<string> = new Set(TOP_LEVEL_ROLES);

export interface RootSigned extends SignedCommon {
  _type: 'root';
  consistent_snapshot: boolean;
  keys: Record<string, TufKey>;
  roles: Record<TopLevelRole, RoleKeys> & Record<string, RoleKeys>;
}

/** The fields of a root's signed part (§4.3). */
export const ROOT_FIELDS: readonly string[] = [...COMMON_FIELDS, 'consistent_snapshot', 'keys', 'roles'];

export function rootFromJSON(p: Problems, s: Record<string, unknown>): RootSigned {
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
      roles[name] = checkRoleKeys(p, path, r);
    }
  }
  const out: RootSigned = {
    _type: 'root',
    ...common,
    consistent_snapshot: cs === undefined ? false : checkBool(p, 'signed.consistent_snapshot', cs),
    keys,
    roles: roles as RootSigned['roles'],
  };
  copyUnrecognised(s, out, ROOT_FIELDS);
  return out;
}

/** The keys and threshold a root gives one of its top-level roles. */
export function topLevelRoleVerification(root: RootSigned, role: TopLevelRole): RoleVerification {
  const r = root.roles[role];
  return { role, keyids: r.keyids, threshold: r.threshold, keys: root.keys };
}

// --- building ---------------------------------------------------------------------------

export interface RoleAssignment {
  keys: readonly TufKey[];
  threshold: number;
}

/** A root with consistent snapshots; key ids are computed from the keys (securesystemslib's default). */
export function buildRoot(opts: { version: number; expires: string; roles: Record<TopLevelRole, RoleAssignment> }): RootSigned {
  const keys: Record<string, TufKey> = {};
  const roles = {} as RootSigned['roles'];
  for (const role of ['root', 'targets', 'snapshot', 'timestamp'] as const) {
    const a = opts.roles[role];
    const keyids = [...new Set(a.keys.map((k) => tufKeyId(k)))].sort();
    for (const k of a.keys) keys[tufKeyId(k)] = k;
    roles[role] = { keyids, threshold: a.threshold };
  }
  return {
    _type: 'root',
    spec_version: SPEC_VERSION,
    version: opts.version,
    expires: opts.expires,
    consistent_snapshot: true,
    keys,
    roles,
  };
}

// --- what the terminal signs ----------------------------------------------------------

/**
 * Problems that make a root unfit for the terminal to sign, apart from its version and
 * expiry: consistent snapshots, exactly the four roles and no field holders are not
 * shown, and for every role keys this verifier can use, each listed once under the id
 * its key object hashes to, serving that role only, and a threshold they can reach.
 * Empty when the root is fit. The client is more lenient on purpose: it counts what it
 * can and lets the threshold decide (TUF §5.3.4, python-tuf).
 */
export function rootProblems(root: RootSigned): string[] {
  const problems: string[] = [];
  if (root._type !== 'root') problems.push('it is not root metadata');
  if (root.consistent_snapshot !== true) problems.push('consistent_snapshot must be true (docs/formats.md: consistent snapshots)');
  // A holder is shown roles, keys, thresholds and expiry; nothing else may ride along in
  // what they sign. Unknown fields and roles would be signed unseen, and some clients
  // refuse a root that has them (python-tuf: roles must be exactly the four).
  for (const k of Object.keys(root)) if (!ROOT_FIELDS.includes(k)) problems.push(`it carries a field "${k}" that airlock does not show to holders`);
  if (!isSupportedSpecVersion(root.spec_version)) problems.push(`its spec_version "${String(root.spec_version)}" is not a TUF 1.x version`);
  for (const name of Object.keys(root.roles ?? {})) {
    if (!TOP_LEVEL_NAMES.has(name)) problems.push(`it names a role "${name}" besides root, targets, snapshot and timestamp`);
  }
  const owner = new Map<string, TopLevelRole>();
  /** Public key → the role using it: a key serves one role, under however many ids. */
  const ownerByKey = new Map<string, TopLevelRole>();
  for (const role of TOP_LEVEL_ROLES) {
    const r = root.roles?.[role];
    if (!r) {
      problems.push(`it names no keys for the ${role} role`);
      continue;
    }
    const distinct = new Set<string>();
    for (const id of r.keyids) {
      const key = Object.hasOwn(root.keys ?? {}, id) ? root.keys[id] : undefined;
      const usable = key === undefined ? undefined : verificationKey(key);
      if (!key) problems.push(`${role}: key ${id.slice(0, 12)}… is listed but not defined in "keys"`);
      else if (!usable) problems.push(`${role}: key ${id.slice(0, 12)}… is of an unsupported scheme (${key.keytype}/${key.scheme}) or malformed`);
      else if (tufKeyId(key) !== id) problems.push(`${role}: key id ${id.slice(0, 12)}… is not the SHA-256 of its key object`);
      else {
        if (distinct.has(usable.identity)) problems.push(`${role}: key ${id.slice(0, 12)}… is a key already listed under another id; one key counts once toward a threshold`);
        distinct.add(usable.identity);
        const otherRole = ownerByKey.get(usable.identity);
        if (otherRole !== undefined && otherRole !== role) problems.push(`key ${id.slice(0, 12)}… serves both ${otherRole} and ${role}; a key serves one role`);
        ownerByKey.set(usable.identity, role);
      }
      const other = owner.get(id);
      if (other !== undefined && other !== role) problems.push(`key ${id.slice(0, 12)}… serves both ${other} and ${role}; a key serves one role`);
      owner.set(id, role);
    }
    // TUF §5.3.4 counts distinct keys: a threshold above them can never be met.
    if (!Number.isInteger(r.threshold) || r.threshold < 1) problems.push(`${role}: the threshold must be at least 1`);
    else if (r.threshold > distinct.size) problems.push(`${role}: threshold ${r.threshold} but only ${distinct.size} distinct key(s); lower the threshold or add keys`);
  }
  for (const id of Object.keys(root.keys ?? {})) {
    if (!owner.has(id)) problems.push(`key ${id.slice(0, 12)}… is defined in "keys" but no role lists it`);
  }
  return problems;
}
