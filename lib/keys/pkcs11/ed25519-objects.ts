// Ed25519 key objects inside a token (PKCS#11 v3.0 §2.3.10 "EC Edwards"): finding a
// private key by label/id, reading its public half from CKA_EC_POINT, making a new pair
// that can never leave the token, and signing with CKM_EDDSA (pure Ed25519, RFC 8032).
import type { PKCS11, Template } from 'pkcs11js';
import { AirlockError } from '../../core/errors.js';
import {
  CKA_ALWAYS_AUTHENTICATE,
  CKA_ALWAYS_SENSITIVE,
  CKA_CLASS,
  CKA_EC_PARAMS,
  CKA_EC_POINT,
  CKA_EXTRACTABLE,
  CKA_ID,
  CKA_KEY_TYPE,
  CKA_LABEL,
  CKA_NEVER_EXTRACTABLE,
  CKA_PRIVATE,
  CKA_SENSITIVE,
  CKA_SIGN,
  CKA_TOKEN,
  CKA_VERIFY,
  CKK_EC_EDWARDS,
  CKM_EC_EDWARDS_KEY_PAIR_GEN,
  CKM_EDDSA,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  ED25519_PARAMS_NAME,
  ED25519_PARAMS_OID,
} from './constants.js';
import { isCkr, tokenFailure } from './cryptoki.js';

export const ED25519_SIGNATURE_BYTES = 64;
/** Most keys an airlock reference can match before the search is called off as too broad. */
const MAX_MATCHES = 16;

/** What identifies a key object: its label and/or id (both from the reference's URI). */
export interface ObjectName {
  label?: string;
  id?: Uint8Array;
}

/** The attributes of a private key that decide whether airlock may use it. */
export interface PrivateKeyFacts {
  label: string;
  id: Uint8Array;
  isEd25519: boolean;
  /** CKA_SENSITIVE and not CKA_EXTRACTABLE: the token will not hand the key out. */
  sensitive: boolean;
  extractable: boolean;
  /** CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE: made inside the token, never outside it. */
  bornInToken: boolean;
  onToken: boolean;
  /** CKA_ALWAYS_AUTHENTICATE: the token wants the PIN again before every signature. */
  pinPerSignature: boolean;
}

function nameTemplate(name: ObjectName): Template {
  const t: Template = [];
  if (name.label !== undefined) t.push({ type: CKA_LABEL, value: name.label });
  if (name.id !== undefined) t.push({ type: CKA_ID, value: Buffer.from(name.id) });
  return t;
}

function findObjects(api: PKCS11, session: Buffer, template: Template): Buffer[] {
  api.C_FindObjectsInit(session, template);
  try {
    return api.C_FindObjects(session, MAX_MATCHES + 1);
  } finally {
    api.C_FindObjectsFinal(session);
  }
}

/** Private keys (of any type) with the given label and/or id; needs a logged-in session. */
export function findPrivateKeys(api: PKCS11, session: Buffer, name: ObjectName): Buffer[] {
  try {
    return findObjects(api, session, [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }, ...nameTemplate(name)]);
  } catch (err) {
    throw tokenFailure(err, 'searching the token for the key');
  }
}

function attribute(api: PKCS11, session: Buffer, object: Buffer, type: number): Buffer | undefined {
  try {
    return api.C_GetAttributeValue(session, object, [{ type }])[0]?.value as Buffer | undefined;
  } catch (err) {
    if (isCkr(err, 'CKR_ATTRIBUTE_TYPE_INVALID', 'CKR_ATTRIBUTE_SENSITIVE')) return undefined;
    throw tokenFailure(err, 'reading a key attribute');
  }
}

function flag(api: PKCS11, session: Buffer, object: Buffer, type: number): boolean | undefined {
  const v = attribute(api, session, object, type);
  return v === undefined || v.length === 0 ? undefined : v[0] !== 0;
}

function ulong(bytes: Buffer | undefined): number | undefined {
  if (bytes === undefined || bytes.length === 0 || bytes.length > 8) return undefined;
  return Number(bytes.length === 8 ? bytes.readBigUInt64LE(0) : BigInt(bytes.readUIntLE(0, bytes.length)));
}

/** Ed25519 domain parameters, in either of the two encodings PKCS#11 v3.0 allows. */
function isEd25519Params(params: Buffer | undefined): boolean {
  // Some tokens leave CKA_EC_PARAMS off the private key; the public key's length settles it then.
  return params === undefined || params.equals(ED25519_PARAMS_OID) || params.equals(ED25519_PARAMS_NAME);
}

export function privateKeyFacts(api: PKCS11, session: Buffer, key: Buffer): PrivateKeyFacts {
  const sensitive = flag(api, session, key, CKA_SENSITIVE) === true;
  const extractable = flag(api, session, key, CKA_EXTRACTABLE) !== false;
  return {
    label: (attribute(api, session, key, CKA_LABEL) ?? Buffer.alloc(0)).toString('utf8'),
    id: new Uint8Array(attribute(api, session, key, CKA_ID) ?? Buffer.alloc(0)),
    isEd25519: ulong(attribute(api, session, key, CKA_KEY_TYPE)) === CKK_EC_EDWARDS && isEd25519Params(attribute(api, session, key, CKA_EC_PARAMS)),
    sensitive,
    extractable,
    bornInToken: flag(api, session, key, CKA_ALWAYS_SENSITIVE) === true && flag(api, session, key, CKA_NEVER_EXTRACTABLE) === true,
    onToken: flag(api, session, key, CKA_TOKEN) === true,
    pinPerSignature: flag(api, session, key, CKA_ALWAYS_AUTHENTICATE) === true,
  };
}

/**
 * CKA_EC_POINT → the raw 32-byte Ed25519 public key. v3.0 §2.3.10 says "DER-encoding of
 * the b-bit public key value in little endian order as defined in RFC 8032", i.e. an
 * OCTET STRING (04 20 …); some tokens give the 32 bytes bare. Anything else is not Ed25519.
 */
export function ed25519FromEcPoint(point: Uint8Array): Uint8Array | undefined {
  if (point.length === 34 && point[0] === 0x04 && point[1] === 0x20) return new Uint8Array(point.subarray(2));
  if (point.length === 32) return new Uint8Array(point);
  return undefined;
}

/** The raw public key of the public object that pairs with a private key (same id, else same label). */
export function pairedPublicKey(api: PKCS11, session: Buffer, facts: Pick<PrivateKeyFacts, 'label' | 'id'>): Uint8Array | undefined {
  const by: ObjectName = facts.id.length > 0 ? { id: facts.id } : facts.label !== '' ? { label: facts.label } : {};
  if (by.id === undefined && by.label === undefined) return undefined;
  let found: Buffer[];
  try {
    found = findObjects(api, session, [{ type: CKA_CLASS, value: CKO_PUBLIC_KEY }, { type: CKA_KEY_TYPE, value: CKK_EC_EDWARDS }, ...nameTemplate(by)]);
  } catch (err) {
    throw tokenFailure(err, 'searching the token for the public key');
  }
  const keys = new Map<string, Uint8Array>();
  for (const o of found) {
    const point = attribute(api, session, o, CKA_EC_POINT);
    const raw = point === undefined ? undefined : ed25519FromEcPoint(point);
    if (raw !== undefined) keys.set(Buffer.from(raw).toString('hex'), raw);
  }
  // Two different public keys under one id: refuse to guess which pairs with the private key.
  return keys.size === 1 ? [...keys.values()][0] : undefined;
}

/** Signs `message` with CKM_EDDSA (no parameters: pure Ed25519, RFC 8032 §5.1). */
export function signEddsa(api: PKCS11, session: Buffer, key: Buffer, message: Uint8Array, doing: string): Uint8Array {
  // Init and sign run without an await between them, so two signers on one session cannot interleave.
  try {
    api.C_SignInit(session, { mechanism: CKM_EDDSA }, key);
    const out = api.C_Sign(session, Buffer.from(message.buffer, message.byteOffset, message.byteLength), Buffer.alloc(ED25519_SIGNATURE_BYTES));
    if (out.length !== ED25519_SIGNATURE_BYTES) {
      throw new AirlockError('E_TOKEN_MECHANISM', `the token returned a ${out.length}-byte signature while ${doing}; Ed25519 signatures are 64 bytes`);
    }
    return new Uint8Array(out);
  } catch (err) {
    throw tokenFailure(err, doing);
  }
}

export interface NewKeyPair {
  publicKey: Buffer;
  privateKey: Buffer;
}

/**
 * Makes an Ed25519 pair on the token (CKA_TOKEN): the private half sensitive, not
 * extractable and private, so no call can read it out. Tries the OID encoding of the
 * curve, then the PrintableString one. Needs a read-write, logged-in session.
 */
export function generateEd25519(api: PKCS11, rwSession: Buffer, name: { label: string; id: Uint8Array }): NewKeyPair {
  const common: Template = [
    { type: CKA_TOKEN, value: true },
    { type: CKA_KEY_TYPE, value: CKK_EC_EDWARDS },
    { type: CKA_LABEL, value: name.label },
    { type: CKA_ID, value: Buffer.from(name.id) },
  ];
  const privateTemplate: Template = [
    { type: CKA_CLASS, value: CKO_PRIVATE_KEY },
    ...common,
    { type: CKA_PRIVATE, value: true },
    { type: CKA_SENSITIVE, value: true },
    { type: CKA_EXTRACTABLE, value: false },
    { type: CKA_SIGN, value: true },
  ];
  let last: unknown;
  for (const params of [ED25519_PARAMS_OID, ED25519_PARAMS_NAME]) {
    const publicTemplate: Template = [
      { type: CKA_CLASS, value: CKO_PUBLIC_KEY },
      ...common,
      { type: CKA_PRIVATE, value: false },
      { type: CKA_VERIFY, value: true },
      { type: CKA_EC_PARAMS, value: params },
    ];
    try {
      const pair = api.C_GenerateKeyPair(rwSession, { mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN }, publicTemplate, privateTemplate);
      return { publicKey: pair.publicKey, privateKey: pair.privateKey };
    } catch (err) {
      last = err;
      // Only a refusal of the curve's encoding is worth the second try.
      if (!isCkr(err, 'CKR_ATTRIBUTE_VALUE_INVALID', 'CKR_DOMAIN_PARAMS_INVALID', 'CKR_CURVE_NOT_SUPPORTED', 'CKR_TEMPLATE_INCONSISTENT')) break;
    }
  }
  if (isCkr(last, 'CKR_ATTRIBUTE_VALUE_INVALID', 'CKR_DOMAIN_PARAMS_INVALID', 'CKR_CURVE_NOT_SUPPORTED', 'CKR_TEMPLATE_INCONSISTENT', 'CKR_MECHANISM_INVALID')) {
    throw new AirlockError('E_TOKEN_MECHANISM', 'the token would not make an Ed25519 key (CKM_EC_EDWARDS_KEY_PAIR_GEN); use a token with PKCS#11 v3.0 EdDSA support (docs/hardware-keys.md)', {
      cause: last,
    });
  }
  throw tokenFailure(last, 'making the key on the token', 'E_TOKEN_KEY');
}

/** Removes objects airlock just made and will not keep (best effort: the error that led here matters more). */
export function destroyObjects(api: PKCS11, rwSession: Buffer, objects: readonly Buffer[]): void {
  for (const o of objects) {
    try {
      api.C_DestroyObject(rwSession, o);
    } catch {
      // see above
    }
  }
}
