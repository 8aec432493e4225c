// Which delegated roles may speak for a target path (TUF §4.5 "delegations"): path
// patterns matched segment by segment with shell-style wildcards (`*`, `?`, `[seq]`,
// `[!seq]`, as Python's fnmatch, where `*` never crosses a `/`), `path_hash_prefixes`
// over the SHA-256 of the path, and succinct hash delegations (TAP 15) that name one
// bin per path.
import { createHash } from 'node:crypto';
import type { DelegatedRole, Delegations, SuccinctRoles } from '../core/tuf-metadata.js';
import type { RoleVerification } from '../core/tuf-metadata.js';

// One character class of a pattern, `[...]`, as Python's fnmatch.translate reads it:
// "-" between two characters makes a range (a leading or trailing "-" is literal),
// reversed ranges are dropped, a leading "!" negates. Kept as code point ranges.
interface CharClass {
  negated: boolean;
  /** Inclusive [low, high] code point ranges; single characters are [c, c]. */
  ranges: [number, number][];
  /** An empty class never matches; "[!]"-like leftovers match any character. */
  kind: 'set' | 'never' | 'any';
}

type Token = { t: 'star' } | { t: 'any' } | { t: 'char'; c: number } | { t: 'class'; cls: CharClass };

/** Python's chunking of a set body into range ends (fnmatch.translate, CPython 3.11). */
function charClass(stuff: number[]): CharClass {
  const DASH = 0x2d;
  const BANG = 0x21;
  let chunks: number[][];
  if (!stuff.includes(DASH)) {
    chunks = [stuff];
  } else {
    chunks = [];
    let i = 0;
    let k = stuff[0] === BANG ? 2 : 1;
    for (;;) {
      k = stuff.indexOf(DASH, k);
      if (k < 0) break;
      chunks.push(stuff.slice(i, k));
      i = k + 1;
      k += 3;
    }
    const last = stuff.slice(i);
    if (last.length > 0) chunks.push(last);
    else chunks[chunks.length - 1]!.push(DASH);
    // Remove empty (reversed) ranges, as Python does before compiling.
    for (let k2 = chunks.length - 1; k2 > 0; k2--) {
      const a = chunks[k2 - 1]!;
      const b = chunks[k2]!;
      if (a[a.length - 1]! > b[0]!) {
        chunks[k2 - 1] = [...a.slice(0, -1), ...b.slice(1)];
        chunks.splice(k2, 1);
      }
    }
  }
  if (chunks.every((c) => c.length === 0)) return { negated: false, ranges: [], kind: 'never' };
  const negated = chunks[0]![0] === BANG;
  if (negated) chunks[0] = chunks[0]!.slice(1);
  if (negated && chunks.length === 1 && chunks[0]!.length === 0) return { negated: false, ranges: [], kind: 'any' };
  // A negation that leaves an empty first range end cannot come from CPython's chunking;
  // refuse to match rather than guess.
  if (chunks.some((c) => c.length === 0)) return { negated: false, ranges: [], kind: 'never' };
  const ranges: [number, number][] = [];
  chunks.forEach((chunk, n) => {
    // Within a chunk every character is literal; the last of one chunk and the first
    // of the next are the ends of a range.
    const from = n > 0 ? 1 : 0;
    const to = n < chunks.length - 1 ? chunk.length - 1 : chunk.length;
    for (let i = from; i < to; i++) ranges.push([chunk[i]!, chunk[i]!]);
    if (n < chunks.length - 1) ranges.push([chunk[chunk.length - 1]!, chunks[n + 1]![0]!]);
  });
  return { negated, ranges, kind: 'set' };
}

/** A pattern segment as fnmatch tokens (consecutive stars collapsed). */
function tokenize(pattern: string): Token[] {
  const p = [...pattern].map((ch) => ch.codePointAt(0)!);
  const out: Token[] = [];
  for (let i = 0; i < p.length; ) {
    const c = p[i++]!;
    if (c === 0x2a /* * */) {
      if (out[out.length - 1]?.t !== 'star') out.push({ t: 'star' });
    } else if (c === 0x3f /* ? */) {
      out.push({ t: 'any' });
    } else if (c === 0x5b /* [ */) {
      let j = i;
      if (p[j] === 0x21 /* ! */) j++;
      if (p[j] === 0x5d /* ] */) j++;
      while (j < p.length && p[j] !== 0x5d) j++;
      if (j >= p.length) {
        out.push({ t: 'char', c });
      } else {
        out.push({ t: 'class', cls: charClass(p.slice(i, j)) });
        i = j + 1;
      }
    } else out.push({ t: 'char', c });
  }
  return out;
}

function matchesOne(token: Exclude<Token, { t: 'star' }>, c: number): boolean {
  switch (token.t) {
    case 'any':
      return true;
    case 'char':
      return token.c === c;
    case 'class': {
      const { kind, negated, ranges } = token.cls;
      if (kind !== 'set') return kind === 'any';
      return ranges.some(([lo, hi]) => c >= lo && c <= hi) !== negated;
    }
  }
}

/**
 * fnmatch of one segment, without regular expressions: the classic wildcard walk that
 * backtracks only to the last `*`, so time is bounded by pattern × segment length. (A
 * regular expression with several `.*` backtracks exponentially on a crafted pattern,
 * and JavaScript has no atomic groups to prevent it the way CPython's fnmatch does.)
 */
function segmentMatches(segment: string, pattern: string): boolean {
  const tokens = tokenize(pattern);
  const s = [...segment].map((ch) => ch.codePointAt(0)!);
  let ti = 0;
  let si = 0;
  let starAt = -1;
  let starFrom = 0;
  while (si < s.length) {
    const tok = tokens[ti];
    if (tok !== undefined && tok.t !== 'star' && matchesOne(tok, s[si]!)) {
      ti++;
      si++;
    } else if (tok?.t === 'star') {
      starAt = ti++;
      starFrom = si;
    } else if (starAt >= 0) {
      ti = starAt + 1;
      si = ++starFrom;
    } else return false;
  }
  while (tokens[ti]?.t === 'star') ti++;
  return ti === tokens.length;
}

/** A target path matches a pattern when both have the same number of `/` segments and each segment matches. */
export function matchesPathPattern(targetPath: string, pattern: string): boolean {
  const targetParts = targetPath.split('/');
  const patternParts = pattern.split('/');
  if (targetParts.length !== patternParts.length) return false;
  return patternParts.every((p, i) => segmentMatches(targetParts[i]!, p));
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

/** Every role a delegation names, in order (succinct bins lazily: there may be 2^32). */
export function* delegatedRoleNames(delegations: Delegations): Generator<string> {
  const s = delegations.succinct_roles;
  if (s) {
    const width = succinctSuffixLength(s);
    for (let bin = 0; bin < 2 ** s.bit_length; bin++) yield `${s.name_prefix}-${bin.toString(16).padStart(width, '0')}`;
    return;
  }
  for (const r of delegations.roles ?? []) yield r.name;
}

/** Keys and threshold a delegating role gives `roleName`, or undefined when it does not delegate to it. */
export function delegatedRoleVerification(delegations: Delegations, roleName: string): RoleVerification | undefined {
  const role = delegations.roles?.find((r) => r.name === roleName);
  if (role) return { role: roleName, keyids: role.keyids, threshold: role.threshold, keys: delegations.keys };
  const s = delegations.succinct_roles;
  if (s && isSuccinctRoleName(s, roleName)) return { role: roleName, keyids: s.keyids, threshold: s.threshold, keys: delegations.keys };
  return undefined;
}
