import { canonicalize as tufJsCanonicalize } from '@tufjs/canonical-json';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalBytes, canonicalString } from '../../lib/core/canonical-json.js';
import { AirlockError } from '../../lib/core/errors.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof AirlockError ? err.code : 'not-an-AirlockError';
  }
  return undefined;
}

describe('canonical JSON (OLPC / securesystemslib)', () => {
  it('sorts keys and drops white space, recursively', () => {
    expect(canonicalString({ b: 1, a: { d: [3, 2, { z: null, y: true }], c: false } })).toBe('{"a":{"c":false,"d":[3,2,{"y":true,"z":null}]},"b":1}');
  });

  it('escapes only backslash and double quote; control and non-ASCII characters stay raw', () => {
    expect(canonicalString('a"b\\c\nd\te\u0001')).toBe('"a\\"b\\\\c\nd\te\u0001"');
    expect(Buffer.from(canonicalBytes({ 'clé': 'ünïcödé ✓ 😀' })).toString('hex')).toBe(
      Buffer.from('{"clé":"ünïcödé ✓ 😀"}', 'utf8').toString('hex'),
    );
  });

  it('orders keys by code point as Python sorted() does, not by UTF-16 unit', () => {
    // U+FFFF sorts before U+1F600 by code point; UTF-16 would put the surrogate pair first.
    expect(canonicalString({ '\u{1F600}': 1, '\uFFFF': 2 })).toBe('{"\uFFFF":2,"\u{1F600}":1}');
  });

  it('refuses floats, non-finite numbers, unsafe integers and non-JSON values', () => {
    expect(codeOf(() => canonicalString({ a: 1.5 }))).toBe('E_CANONICAL_JSON');
    expect(codeOf(() => canonicalString([Number.NaN]))).toBe('E_CANONICAL_JSON');
    expect(codeOf(() => canonicalString(2 ** 60))).toBe('E_CANONICAL_JSON');
    expect(codeOf(() => canonicalString({ a: () => 1 }))).toBe('E_CANONICAL_JSON');
    expect(codeOf(() => canonicalString(new Date(0)))).toBe('E_CANONICAL_JSON');
    expect(codeOf(() => canonicalString('\ud800'))).toBe('E_CANONICAL_JSON');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(codeOf(() => canonicalString(cyclic))).toBe('E_CANONICAL_JSON');
  });

  it('writes integers plainly (negative zero as 0)', () => {
    expect(canonicalString([0, -0, -17, 9007199254740991])).toBe('[0,0,-17,9007199254740991]');
  });

  it('agrees with tuf-js on any JSON with BMP keys, and round-trips through JSON.parse', () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.integer(),
        fc.string(),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(fc.string(), tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    fc.assert(
      fc.property(json, (v) => {
        const ours = canonicalString(v);
        expect(ours).toBe(String(tufJsCanonicalize(v)));
        expect(canonicalString(JSON.parse(ours))).toBe(ours);
      }),
      { numRuns: 300 },
    );
  });
});
