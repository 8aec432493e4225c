// Key objects inside a token, whatever their curve (PKCS#11 v3.0 §4.8-§4.9): finding a
// private key by label/id, reading the attributes that decide whether airlock may use it,
// finding the public object that pairs with it, and removing objects airlock made but
// will not keep. The curve-specific parts (CKA_EC_POINT forms, key generation, the
// signing mechanism) are in ed25519-objects.ts and ecdsa-p256-objects.ts.
import type { PKCS11, Template } from 'pkcs11js';
import type { KeyType } from '../../core/key-type.js';
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
  CKK_EC,
  CKK_EC_EDWARDS,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
} from './constants.js';
import { isCkr, tokenFailure } from './cryptoki.js';
import { isP256Params, p256FromEcPoint } from './ecdsa-p256-objects.js';
import { ed25519FromEcPoint, isEd25519Params } from './ed25519-objects.js';

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
  /** The kind of key, when it is one airlock signs with (Ed25519, ECDSA P-256). */
  keyType: KeyType | undefined;
  /** CKA_SENSITIVE and not CKA_EXTRACTABLE: the token will not hand the key out. */
  sensitive: boolean;
  extractable: boolean;
  /** CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE: made inside the token, never outside it. */
  bornInToken: boolean;
  onToken: boolean;
  /** CKA_ALWAYS_AUTHENTICATE: the token wants the PIN again before every signature. */
  pinPerSignature: boolean;
}

export function nameTemplate(name: ObjectName): Template {
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

/** CKA_KEY_TYPE and CKA_EC_PARAMS → the kind of key, if airlock signs with it. */
function keyTypeOfObject(api: PKCS11, session: Buffer, key: Buffer): KeyType | undefined {
  const type = ulong(attribute(api, session, key, CKA_KEY_TYPE));
  const params = attribute(api, session, key, CKA_EC_PARAMS);
  if (type === CKK_EC_EDWARDS && isEd25519Params(params)) return 'ed25519';
  if (type === CKK_EC && isP256Params(params)) return 'ecdsa-p256';
  return undefined;
}

export function privateKeyFacts(api: PKCS11, session: Buffer, key: Buffer): PrivateKeyFacts {
  const sensitive = flag(api, session, key, CKA_SENSITIVE) === true;
  const extractable = flag(api, session, key, CKA_EXTRACTABLE) !== false;
  return {
    label: (attribute(api, session, key, CKA_LABEL) ?? Buffer.alloc(0)).toString('utf8'),
    id: new Uint8Array(attribute(api, session, key, CKA_ID) ?? Buffer.alloc(0)),
    keyType: keyTypeOfObject(api, session, key),
    sensitive,
    extractable,
    bornInToken: flag(api, session, key, CKA_ALWAYS_SENSITIVE) === true && flag(api, session, key, CKA_NEVER_EXTRACTABLE) === true,
    onToken: flag(api, session, key, CKA_TOKEN) === true,
    pinPerSignature: flag(api, session, key, CKA_ALWAYS_AUTHENTICATE) === true,
  };
}

/**
 * The raw public key of the public object that pairs with a private key (same id, else
 * same label) and is of `keyType`.
 */
export function pairedPublicKey(api: PKCS11, session: Buffer, facts: Pick<PrivateKeyFacts, 'label' | 'id'>, keyType: KeyType): Uint8Array | undefined {
  const by: ObjectName = facts.id.length > 0 ? { id: facts.id } : facts.label !== '' ? { label: facts.label } : {};
  if (by.id === undefined && by.label === undefined) return undefined;
  let found: Buffer[];
  try {
    found = findObjects(api, session, [{ type: CKA_CLASS, value: CKO_PUBLIC_KEY }, { type: CKA_KEY_TYPE, value: keyType === 'ed25519' ? CKK_EC_EDWARDS : CKK_EC }, ...nameTemplate(by)]);
  } catch (err) {
    throw tokenFailure(err, 'searching the token for the public key');
  }
  const decode = keyType === 'ed25519' ? ed25519FromEcPoint : p256FromEcPoint;
  const keys = new Map<string, Uint8Array>();
  for (const o of found) {
    const point = attribute(api, session, o, CKA_EC_POINT);
    const raw = point === undefined ? undefined : decode(point);
    if (raw !== undefined) keys.set(Buffer.from(raw).toString('hex'), raw);
  }
  // Two different public keys under one id: refuse to guess which pairs with the private key.
  return keys.size === 1 ? [...keys.values()][0] : undefined;
}

export interface NewKeyPair {
  publicKey: Buffer;
  privateKey: Buffer;
}

/**
 * The templates of a new pair kept on the token (CKA_TOKEN): the private half sensitive,
 * not extractable and private, so no call can read it out; the public half carries the
 * curve's domain parameters.
 */
export function keyPairTemplates(keyType: number, params: Buffer, name: { label: string; id: Uint8Array }): { publicTemplate: Template; privateTemplate: Template } {
  const common: Template = [
    { type: CKA_TOKEN, value: true },
    { type: CKA_KEY_TYPE, value: keyType },
    { type: CKA_LABEL, value: name.label },
    { type: CKA_ID, value: Buffer.from(name.id) },
  ];
  return {
    publicTemplate: [{ type: CKA_CLASS, value: CKO_PUBLIC_KEY }, ...common, { type: CKA_PRIVATE, value: false }, { type: CKA_VERIFY, value: true }, { type: CKA_EC_PARAMS, value: params }],
    privateTemplate: [
      { type: CKA_CLASS, value: CKO_PRIVATE_KEY },
      ...common,
      { type: CKA_PRIVATE, value: true },
      { type: CKA_SENSITIVE, value: true },
      { type: CKA_EXTRACTABLE, value: false },
      { type: CKA_SIGN, value: true },
    ],
  };
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
