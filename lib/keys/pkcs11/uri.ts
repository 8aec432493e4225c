// PKCS#11 URIs, RFC 7512: how a key record names its token and key
// (`pkcs11:token=airlock;serial=5533df7fcb5ba213;object=targets;id=%8a%01;type=private`).
// This module parses and writes them and nothing else.
//
// airlock reads the attributes it can honour: token, serial, manufacturer, model and
// slot-id to pick the token (§2.3 "pk11-token" … "pk11-slot-id"), object, id and type to
// pick the key, and module-path in the query. It refuses the rest rather than ignore an
// attribute that was meant to narrow the choice (a URI that matched more than its author
// meant would select another key), and it refuses pin-value and pin-source: a PIN never
// sits in a key record, argv or a file airlock did not ask for (docs/hardware-keys.md).
import { AirlockError } from '../../core/errors.js';

export const PKCS11_URI_SCHEME = 'pkcs11:';

export type Pkcs11ObjectType = 'private' | 'public' | 'cert' | 'secret-key' | 'data';
const OBJECT_TYPES: readonly Pkcs11ObjectType[] = ['private', 'public', 'cert', 'secret-key', 'data'];

/** The attributes of a PKCS#11 URI that airlock honours; absent ones match anything (RFC 7512 §2.3). */
export interface Pkcs11Uri {
  /** CK_TOKEN_INFO label. */
  token?: string;
  /** CK_TOKEN_INFO serialNumber. */
  serial?: string;
  /** CK_TOKEN_INFO manufacturerID. */
  manufacturer?: string;
  /** CK_TOKEN_INFO model. */
  model?: string;
  /** CK_SLOT_ID, decimal. */
  slotId?: bigint;
  /** CKA_LABEL of the key. */
  object?: string;
  /** CKA_ID of the key (raw bytes). */
  id?: Uint8Array;
  type?: Pkcs11ObjectType;
  /** Query attribute module-path: the module's file. */
  modulePath?: string;
}

function bad(uri: string, why: string): AirlockError {
  return new AirlockError('E_TOKEN_KEY', `"${uri}" is not a PKCS#11 URI airlock can use (${why}); see docs/hardware-keys.md`, { details: { uri } });
}

/** Percent-decoding to bytes (RFC 3986 §2.1): CKA_ID is binary, labels are UTF-8. */
function pctDecode(uri: string, s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw bad(uri, `bad percent-encoding "${s.slice(i, i + 3)}"`);
      out.push(parseInt(hex, 16));
      i += 2;
    } else if (c > 0x7e || c < 0x21) {
      throw bad(uri, 'characters outside printable ASCII must be percent-encoded');
    } else {
      out.push(c);
    }
  }
  return Buffer.from(out);
}

function utf8(uri: string, bytes: Buffer, name: string): string {
  const s = bytes.toString('utf8');
  if (!Buffer.from(s, 'utf8').equals(bytes)) throw bad(uri, `${name} is not UTF-8`);
  return s;
}

const PATH_ATTRIBUTES = ['token', 'serial', 'manufacturer', 'model', 'slot-id', 'object', 'id', 'type'] as const;
const REFUSED_PATH = ['library-manufacturer', 'library-description', 'library-version', 'slot-description', 'slot-manufacturer'];

/** Parses an RFC 7512 URI; E_TOKEN_KEY naming the first problem. */
export function parsePkcs11Uri(text: string): Pkcs11Uri {
  if (typeof text !== 'string' || !text.startsWith(PKCS11_URI_SCHEME)) throw bad(String(text), 'it does not start with "pkcs11:"');
  const rest = text.slice(PKCS11_URI_SCHEME.length);
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? '' : rest.slice(q + 1);
  const uri: Pkcs11Uri = {};
  const seen = new Set<string>();
  for (const part of path === '' ? [] : path.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw bad(text, `path attribute "${part}" has no name=value`);
    const name = part.slice(0, eq).toLowerCase();
    const raw = pctDecode(text, part.slice(eq + 1));
    // RFC 7512 §2.3: a path attribute appears at most once.
    if (seen.has(name)) throw bad(text, `"${name}" appears twice`);
    seen.add(name);
    if (REFUSED_PATH.includes(name) || name.startsWith('x-')) throw bad(text, `airlock does not match on "${name}"; name the token by token, serial, manufacturer or model`);
    if (!(PATH_ATTRIBUTES as readonly string[]).includes(name)) throw bad(text, `unknown attribute "${name}"`);
    switch (name as (typeof PATH_ATTRIBUTES)[number]) {
      case 'token':
        uri.token = utf8(text, raw, name);
        break;
      case 'serial':
        uri.serial = utf8(text, raw, name);
        break;
      case 'manufacturer':
        uri.manufacturer = utf8(text, raw, name);
        break;
      case 'model':
        uri.model = utf8(text, raw, name);
        break;
      case 'slot-id': {
        const s = raw.toString('latin1');
        if (!/^\d{1,20}$/.test(s)) throw bad(text, 'slot-id is not a decimal number');
        uri.slotId = BigInt(s);
        break;
      }
      case 'object':
        uri.object = utf8(text, raw, name);
        break;
      case 'id':
        uri.id = new Uint8Array(raw);
        break;
      case 'type': {
        const t = raw.toString('latin1');
        if (!(OBJECT_TYPES as readonly string[]).includes(t)) throw bad(text, `type "${t}" is not one of ${OBJECT_TYPES.join(', ')}`);
        uri.type = t as Pkcs11ObjectType;
        break;
      }
    }
  }
  for (const part of query === '' ? [] : query.split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw bad(text, `query attribute "${part}" has no name=value`);
    const name = part.slice(0, eq).toLowerCase();
    if (name === 'pin-value' || name === 'pin-source') {
      throw new AirlockError('E_USAGE', `a PKCS#11 URI given to airlock must not carry ${name}: the PIN comes from the no-echo prompt, --pin-fd or AIRLOCK_PIN_FILE, never from a URI`);
    }
    if (name !== 'module-path') throw bad(text, `airlock does not use the query attribute "${name}"; give the module with --module`);
    if (uri.modulePath !== undefined) throw bad(text, '"module-path" appears twice');
    uri.modulePath = utf8(text, pctDecode(text, part.slice(eq + 1)), name);
  }
  return uri;
}

/** RFC 3986 unreserved characters (and `keep`) stay; every other byte is percent-encoded, which RFC 7512 §2.3 allows for any value. */
function pctEncode(bytes: Uint8Array, keep = /[A-Za-z0-9\-._~]/): string {
  let s = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    s += keep.test(c) ? c : `%${b.toString(16).padStart(2, '0').toUpperCase()}`;
  }
  return s;
}

/** Writes a URI, attributes in RFC 7512's order; the id is percent-encoded byte by byte. */
export function formatPkcs11Uri(uri: Pkcs11Uri): string {
  const parts: string[] = [];
  const text = (name: string, v: string | undefined) => {
    if (v !== undefined) parts.push(`${name}=${pctEncode(Buffer.from(v, 'utf8'))}`);
  };
  text('token', uri.token);
  text('manufacturer', uri.manufacturer);
  text('serial', uri.serial);
  text('model', uri.model);
  if (uri.slotId !== undefined) parts.push(`slot-id=${uri.slotId.toString()}`);
  text('object', uri.object);
  if (uri.type !== undefined) parts.push(`type=${uri.type}`);
  if (uri.id !== undefined) parts.push(`id=${[...uri.id].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('')}`);
  const query = uri.modulePath === undefined ? '' : `?module-path=${pctEncode(Buffer.from(uri.modulePath, 'utf8'), /[A-Za-z0-9\-._~/]/)}`;
  return `${PKCS11_URI_SCHEME}${parts.join(';')}${query}`;
}
