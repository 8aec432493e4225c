import { describe, expect, it } from 'vitest';
import { isDelegatedPath, matchesPathPattern, rolesForTarget, succinctRoleFor, targetPathHash } from '../../lib/verify/delegations.js';

describe('path patterns (fnmatch per segment, as python-tuf and tuf-js)', () => {
  it.each([
    ['demo/1.0.0/demo.tar.gz', 'demo/*/*', true],
    ['demo/1.0.0/demo.tar.gz', 'demo/*', false],
    ['demo/1.0.0/demo.tar.gz', '*', false],
    ['demo/1.0.0/demo.tar.gz', 'demo/1.?.0/*.tar.gz', true],
    ['demo/1.0.0/demo.tar.gz', 'demo/1.[0-9].0/*', true],
    ['demo/1.0.0/demo.tar.gz', 'demo/1.[!0].0/*', false],
    ['demo/1.0.0/demo.tar.gz', 'demo/1.0.0/demo.tar.gz', true],
    ['demo/1x0.0/a', 'demo/1.0.0/a', false],
    ['a/[x', 'a/[x', true],
    ['a/b', 'a/[z-a]', false],
    ['a/b(c)', 'a/b(c)', true],
    // Character classes exactly as CPython's fnmatch reads them (vectors from Python 3.11).
    ['a/q', 'a/[!]abc]', true],
    ['a/Qx]', 'a/[!]x]', false],
    ['a/]', 'a/[]a]', true],
    ['a/x', 'a/[z-a!x]', false],
    ['a/y', 'a/[z-a!x]', true],
    ['a/a', 'a/[!b-a]', true],
    ['a/-', 'a/[a-]', true],
    ['a/b', 'a/[a--b]', true],
    ['a/a', 'a/[a--b]', false],
    ['a/^', 'a/[^a]', true],
    ['a/b', 'a/[^a]', false],
    ['a/\\', 'a/[\\]', true],
    ['a/n', 'a/[a-cx-z]', false],
    ['a/y', 'a/[a-cx-z]', true],
    ['a/\u{1F600}', 'a/?', true],
    ['a/\u{1F600}', 'a/??', false],
    ['a/x\ny', 'a/x*y', true],
  ])('%s ~ %s → %s', (path, pattern, want) => {
    expect(matchesPathPattern(path, pattern)).toBe(want);
  });
});

describe('path patterns cannot stall the search', () => {
  it('matches in time linear in pattern × path (no backtracking blow-up on many `*`)', () => {
    // A delegator's pattern such as *a*a*a…*b against a long name took seconds (and
    // minutes at 60 characters) as a regular expression.
    let started = performance.now();
    expect(matchesPathPattern('a'.repeat(30), `${'*a'.repeat(12)}*b`)).toBe(false);
    expect(performance.now() - started).toBeLessThan(200);
    started = performance.now();
    expect(matchesPathPattern(`${'a'.repeat(30)}b`, `${'*a'.repeat(12)}*b`)).toBe(true);
    expect(matchesPathPattern(`demo/${'a'.repeat(5000)}`, `demo/${'*a'.repeat(200)}*b`)).toBe(false);
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('hash delegations', () => {
  it('path_hash_prefixes match the hex SHA-256 of the path', () => {
    const h = targetPathHash('a/b');
    const role = { name: 'r', keyids: [], threshold: 1, terminating: false };
    expect(isDelegatedPath({ ...role, path_hash_prefixes: [h.slice(0, 3)] }, 'a/b')).toBe(true);
    expect(isDelegatedPath({ ...role, path_hash_prefixes: ['zz'] }, 'a/b')).toBe(false);
    expect(isDelegatedPath(role, 'a/b')).toBe(false);
  });
  it('succinct roles name the bin from the first bit_length bits, zero-padded hex', () => {
    const s = { keyids: [], threshold: 1, bit_length: 5, name_prefix: 'bins' };
    const h = targetPathHash('x');
    const bin = parseInt(h.slice(0, 2), 16) >> 3;
    expect(succinctRoleFor(s, 'x')).toBe(`bins-${bin.toString(16).padStart(2, '0')}`);
    expect(succinctRoleFor({ ...s, bit_length: 32 }, 'x')).toBe(`bins-${h.slice(0, 8)}`);
    expect(rolesForTarget({ keys: {}, succinct_roles: s }, 'x')).toEqual([{ name: succinctRoleFor(s, 'x'), terminating: true }]);
  });
});
