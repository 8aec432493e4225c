// Canonical JSON in the OLPC form that securesystemslib, python-tuf, tuf-js and go-tuf
// sign over (http://wiki.laptop.org/go/Canonical_JSON; securesystemslib
// formats.encode_canonical): objects with keys sorted by code point and no white space,
// strings with only `\` and `"` escaped (every other character, control characters and
// non-ASCII included, is written as its raw UTF-8), integers only, no floats.
import { AirlockError } from './errors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Compares by Unicode code point, as Python's sorted() does (UTF-16 order differs above U+FFFF). */
function compareCodePoints(a: string, b: string): number {
  const ai = a[Symbol.iterator]();
  const bi = b[Symbol.iterator]();
  for (;;) {
    const x = ai.next();
    const y = bi.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

function encodeString(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function encode(value: unknown, path: string, seen: Set<object>, str: (s: string) => string = encodeString): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      checkWellFormed(value, path);
      return str(value);
    case 'number':
      if (!Number.isSafeInteger(value)) {
        throw new AirlockError('E_CANONICAL_JSON', `${path}: ${value} is not a safe integer; canonical JSON has no floats`);
      }
      return Object.is(value, -0) ? '0' : String(value);
    case 'object': {
      if (seen.has(value)) throw new AirlockError('E_CANONICAL_JSON', `${path}: cyclic structure`);
      seen.add(value);
      let out: string;
      if (Array.isArray(value)) {
        out = `[${value.map((v, i) => encode(v, `${path}[${i}]`, seen, str)).join(',')}]`;
      } else {
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) {
          throw new AirlockError('E_CANONICAL_JSON', `${path}: only plain objects can be encoded`);
        }
        const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
        entries.sort(([a], [b]) => compareCodePoints(a, b));
        out = `{${entries
          .map(([k, v]) => {
            // A key, too, must have one UTF-8 form: TextEncoder would write every lone
            // surrogate as U+FFFD, so "x\uD800" and "x\uFFFD" would sign as the same bytes.
            checkWellFormed(k, `${path} key`);
            return `${str(k)}:${encode(v, `${path}.${k}`, seen, str)}`;
          })
          .join(',')}}`;
      }
      seen.delete(value);
      return out;
    }
    default:
      throw new AirlockError('E_CANONICAL_JSON', `${path}: a ${typeof value} cannot be encoded as JSON`);
  }
}

function checkWellFormed(s: string, path: string): void {
  if (/[\ud800-\udfff]/u.test(s) && !isWellFormed(s)) {
    throw new AirlockError('E_CANONICAL_JSON', `${path}: string holds a lone surrogate, which has no UTF-8 form`);
  }
}

function isWellFormed(s: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/u.test(s);
}

/** The canonical form as a string. Undefined object members are left out, as JSON.stringify does. */
export function canonicalString(value: unknown): string {
  return encode(value, '$', new Set());
}

/** The canonical form as the UTF-8 bytes that are signed and hashed. */
export function canonicalBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalString(value));
}

/**
 * The bytes of a metadata file: the canonical form, except that strings are escaped as
 * JSON requires (RFC 8259 §7: control characters as \n, \u001f …), so the file parses
 * as JSON — canonical JSON leaves a PEM public key's newlines raw, which JSON.parse and
 * python's json refuse. Without control characters both forms are the same bytes; what
 * is signed is always canonicalBytes of the parsed `signed` object.
 */
export function canonicalJsonFileBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(encode(value, '$', new Set(), (s) => JSON.stringify(s)));
}
