// Which delegated roles may speak for a target path (TUF §4.5 "delegations"): path
// patterns matched segment by segment with shell-style wildcards (`*`, `?`, `[seq]`,
// `[!seq]`, as Python's fnmatch, where `*` never crosses a `/`), `path_hash_prefixes`
// over the SHA-256 of the path, and succinct hash delegations (TAP 15) that name one
// bin per path.
import { createHash } from 'node:crypto';
import type { DelegatedRole, Delegations, SuccinctRoles } from '../core/tuf-metadata.js';
import type { RoleVerification } from '../core/tuf-metadata.js';

/** fnmatch's translation of one segment into an anchored regular expression. */
function segmentRegExp(pattern: string): RegExp | undefined {
  let out = '';
  for (let i = 0; i < pattern.length; ) {
    const c = pattern[i++]!;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      let j = i;
      if (pattern[j] === '!') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j++;
      if (j >= pattern.length) {
        out += '\\[';
      } else {
        let set = pattern.slice(i, j).replace(/\\/g, '\\\\');
        i = j + 1;
        if (set.startsWith('!')) set = `^${set.slice(1)}`;
        else if (set.startsWith('^') || set.startsWith('[')) set = `\\${set}`;
        out += `[${set}]`;
      }
    } else out += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  try {
    return new RegExp(`^${out}$`, 's');
  } catch {
    // A set like [z-a]: matches nothing rather than failing the whole search.
    return undefined;
  }
}

/** A target path matches a pattern when both have the same number of `/` segments and each segment matches. */
export function matchesPathPattern(targetPath: string, pattern: string): boolean {
  const targetParts = targetPath.split('/');
  const patternParts = pattern.split('/');
  if (targetParts.length !== patternParts.length) return false;
  return patternParts.every((p, i) => segmentRegExp(p)?.test(targetParts[i]!) ?? false);
}

export function targetPathHash(targetPath: string): string {
  return createHash('sha256').update(targetPath, 'utf8').digest('hex');
}

/** Whether a delegated role is trusted for a target path (TUF §4.5 paths / path_hash_prefixes). */
export function isDelegatedPath(role: DelegatedRole, targetPath: string): boolean {
  if (role.paths !== undefined) return role.paths.some((p) => matchesPathPattern(targetPath, p));
  if (role.path_hash_prefixes !== undefined) {
    const hash = targetPathHash(targetPath);
    return role.path_hash_prefixes.some((prefix) => hash.startsWith(prefix));
  }
  return false;
}

function succinctSuffixLength(s: SuccinctRoles): number {
  return Math.ceil(s.bit_length / 4);
}

/** The one bin of a succinct delegation that holds a path: the first bit_length bits of its SHA-256. */
export function succinctRoleFor(s: SuccinctRoles, targetPath: string): string {
  const first32 = parseInt(targetPathHash(targetPath).slice(0, 8), 16);
  const bin = Math.floor(first32 / 2 ** (32 - s.bit_length));
  return `${s.name_prefix}-${bin.toString(16).padStart(succinctSuffixLength(s), '0')}`;
}

function isSuccinctRoleName(s: SuccinctRoles, name: string): boolean {
  const prefix = `${s.name_prefix}-`;
  if (!name.startsWith(prefix)) return false;
  const suffix = name.slice(prefix.length);
  if (suffix.length !== succinctSuffixLength(s) || !/^[0-9a-f]+$/.test(suffix)) return false;
  return parseInt(suffix, 16) < 2 ** s.bit_length;
}

/** Delegated roles trusted for a path, in order, each with whether it terminates the search. */
export function rolesForTarget(delegations: Delegations, targetPath: string): { name: string; terminating: boolean }[] {
  if (delegations.succinct_roles) {
    // A succinct delegation gives each path to exactly one bin: nothing else to try.
    return [{ name: succinctRoleFor(delegations.succinct_roles, targetPath), terminating: true }];
  }
  return (delegations.roles ?? []).filter((r) => isDelegatedPath(r, targetPath)).map((r) => ({ name: r.name, terminating: r.terminating }));
}

/** Keys and threshold a delegating role gives `roleName`, or undefined when it does not delegate to it. */
export function delegatedRoleVerification(delegations: Delegations, roleName: string): RoleVerification | undefined {
  const role = delegations.roles?.find((r) => r.name === roleName);
  if (role) return { role: roleName, keyids: role.keyids, threshold: role.threshold, keys: delegations.keys };
  const s = delegations.succinct_roles;
  if (s && isSuccinctRoleName(s, roleName)) return { role: roleName, keyids: s.keyids, threshold: s.threshold, keys: delegations.keys };
  return undefined;
}
