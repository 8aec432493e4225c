// What airlock does with a token: make an Ed25519 or ECDSA P-256 key inside it, adopt
// one already there, and open one for signing. Each step checks, in this order and
// before a PIN is asked for, that the module loads (E_TOKEN_MODULE), that the token is
// present (E_TOKEN_ABSENT) and that it offers the key type's mechanisms — EdDSA, or
// ECDSA — (E_TOKEN_MECHANISM); then it logs in once (E_TOKEN_PIN) and finds the key
// (E_TOKEN_KEY). A key is taken on only after a test signature verifies under the public
// key the keystore will record.
import { createHash, randomBytes } from 'node:crypto';
import { AirlockError } from '../../core/errors.js';
import { toHex } from '../../core/hex.js';
import { verifyWithKey, type KeyType } from '../../core/key-type.js';
import type { Pkcs11Reference } from '../key-file.js';
import type { KeyHandle } from '../software-key.js';
import { CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EC_KEY_PAIR_GEN, CKM_ECDSA, CKM_EDDSA } from './constants.js';
import { acquireModule } from './cryptoki.js';
import { generateP256, signEcdsaDigest } from './ecdsa-p256-objects.js';
import { generateEd25519, signEddsa } from './ed25519-objects.js';
import { destroyObjects, findPrivateKeys, pairedPublicKey, privateKeyFacts, type NewKeyPair, type ObjectName, type PrivateKeyFacts } from './key-objects.js';
import { acquireLogin, type LoginLease } from './login.js';
import type { PinSource } from './pin.js';
import { findToken, requireMechanisms, type TokenSlot } from './token-slot.js';
import { formatPkcs11Uri, parsePkcs11Uri, type Pkcs11Uri } from './uri.js';

/** Per key type: the mechanisms to sign and to make a key, and how the refusal names them. */
const CURVES: Readonly<Record<KeyType, { sign: Mechanism; keygen: Mechanism; kind: string; support: string; name: string }>> = {
  ed25519: {
    sign: { code: CKM_EDDSA, name: 'CKM_EDDSA' },
    keygen: { code: CKM_EC_EDWARDS_KEY_PAIR_GEN, name: 'CKM_EC_EDWARDS_KEY_PAIR_GEN' },
    kind: 'an Ed25519 signing key',
    support: 'PKCS#11 v3.0 EdDSA support, or use --key-type ecdsa-p256',
    name: 'Ed25519',
  },
  'ecdsa-p256': {
    sign: { code: CKM_ECDSA, name: 'CKM_ECDSA' },
    keygen: { code: CKM_EC_KEY_PAIR_GEN, name: 'CKM_EC_KEY_PAIR_GEN' },
    kind: 'an ECDSA P-256 signing key',
    support: 'ECDSA support',
    name: 'ECDSA P-256',
  },
};
interface Mechanism {
  code: number;
  name: string;
}
/** CKA_ID bytes of a key airlock makes, unless told otherwise. */
const NEW_KEY_ID_BYTES = 8;
const SELF_TEST = Buffer.from('airlock token key self-test');

/** Where to look: the module's file and a URI naming the token (and, to adopt or open, the key). */
export interface TokenLocation {
  /** Absolute path of the PKCS#11 module. */
  module: string;
  uri: Pkcs11Uri;
}

/** A key in a token, as the keystore will record it: a reference and the public key, nothing secret. */
export interface TokenKey {
  keyType: KeyType;
  publicKey: Uint8Array;
  reference: Pkcs11Reference;
  token: { label: string; serial: string; manufacturer: string; model: string };
  /** CKA_LABEL and CKA_ID (hex) of the private key. */
  label: string;
  id: string;
  /** Made inside the token and never outside it (CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE). */
  bornInToken: boolean;
}

async function logInTo(location: TokenLocation, keyType: KeyType, withKeygen: boolean, pin: PinSource, purpose: string): Promise<LoginLease> {
  const curve = CURVES[keyType];
  const module = await acquireModule(location.module);
  let token: TokenSlot;
  try {
    token = findToken(module.api, module.path, location.uri);
    requireMechanisms(module.api, token, withKeygen ? [curve.sign, curve.keygen] : [curve.sign], curve.kind, curve.support);
  } catch (err) {
    module.release();
    throw err;
  }
  return acquireLogin(module, token, pin, purpose);
}

function keyName(uri: Pkcs11Uri): ObjectName {
  if (uri.type !== undefined && uri.type !== 'private') {
    throw new AirlockError('E_TOKEN_KEY', `the PKCS#11 URI names a ${uri.type} object; name the private key (type=private, or leave type out)`);
  }
  if (uri.object === undefined && uri.id === undefined) {
    throw new AirlockError('E_USAGE', 'name the key in the token: --key-label LABEL, or a PKCS#11 URI with object=… or id=…');
  }
  return { ...(uri.object === undefined ? {} : { label: uri.object }), ...(uri.id === undefined ? {} : { id: uri.id }) };
}

function describeName(name: ObjectName): string {
  return [name.label === undefined ? '' : `labelled "${name.label}"`, name.id === undefined ? '' : `with id ${toHex(name.id)}`].filter(Boolean).join(' and ');
}

/** The one private key `name` picks on the logged-in token, checked to be of `keyType`. */
function theKey(login: LoginLease, name: ObjectName, keyType: KeyType): { key: Buffer; facts: PrivateKeyFacts } {
  const found = findPrivateKeys(login.api, login.session, name);
  const where = `token "${login.token.label}"`;
  if (found.length === 0) {
    throw new AirlockError('E_TOKEN_KEY', `there is no private key ${describeName(name)} on ${where}; list its keys with \`pkcs11-tool --module … --login --list-objects\`, or make one with --generate`, {
      details: { token: login.token.label, label: name.label ?? null, id: name.id === undefined ? null : toHex(name.id) },
    });
  }
  if (found.length > 1) {
    throw new AirlockError('E_TOKEN_KEY', `${found.length > 16 ? 'many' : found.length} private keys ${describeName(name)} are on ${where}; name one by its id (--key-id HEX, or id=… in the URI)`, {
      details: { token: login.token.label, label: name.label ?? null },
    });
  }
  const key = found[0]!;
  const facts = privateKeyFacts(login.api, login.session, key);
  if (facts.keyType !== keyType) {
    const other = facts.keyType === undefined ? 'neither an Ed25519 nor a P-256 key' : `an ${CURVES[facts.keyType].name} key (--key-type ${facts.keyType})`;
    throw new AirlockError('E_TOKEN_KEY', `the key ${describeName(name)} on ${where} is ${other}, not an ${CURVES[keyType].name} key; give the matching --key-type, or make one with --generate`, {
      details: { token: login.token.label, label: facts.label, keyType: facts.keyType ?? null, expected: keyType },
    });
  }
  // A release makes dozens of signatures; airlock logs in once per command and does not
  // re-enter the PIN per signature (CKU_CONTEXT_SPECIFIC), so such a key would fail mid-release.
  if (facts.pinPerSignature) {
    throw new AirlockError('E_TOKEN_KEY', `the key ${describeName(name)} on ${where} wants the PIN before every signature (CKA_ALWAYS_AUTHENTICATE); make it with a PIN policy of "once" (docs/hardware-keys.md)`, {
      details: { token: login.token.label, label: facts.label },
    });
  }
  return { key, facts };
}

function tokenKeyOf(location: TokenLocation, token: TokenSlot, facts: PrivateKeyFacts, publicKey: Uint8Array, keyType: KeyType): TokenKey {
  const uri = formatPkcs11Uri({
    token: token.label,
    ...(token.serial === '' ? {} : { serial: token.serial }),
    ...(facts.label === '' ? {} : { object: facts.label }),
    type: 'private',
    ...(facts.id.length === 0 ? {} : { id: facts.id }),
  });
  return {
    keyType,
    publicKey,
    reference: { module: location.module, uri },
    token: { label: token.label, serial: token.serial, manufacturer: token.manufacturer, model: token.model },
    label: facts.label,
    id: toHex(facts.id),
    bornInToken: facts.bornInToken,
  };
}

/** Ed25519 signs the message (CKM_EDDSA); ECDSA signs its SHA-256 digest (CKM_ECDSA). */
function signMessage(login: LoginLease, key: Buffer, keyType: KeyType, message: Uint8Array, doing: string): Uint8Array {
  if (keyType === 'ed25519') return signEddsa(login.api, login.session, key, message, doing);
  return signEcdsaDigest(login.api, login.session, key, createHash('sha256').update(message).digest(), doing);
}

/** Signs a probe and checks it under `publicKey`: the pair matches and the signing mechanism works. */
function selfTest(login: LoginLease, key: Buffer, publicKey: Uint8Array, keyType: KeyType, what: string): void {
  const signature = signMessage(login, key, keyType, SELF_TEST, `testing ${what}`);
  if (!verifyWithKey(keyType, publicKey, SELF_TEST, signature)) {
    throw new AirlockError('E_TOKEN_KEY', `${what} signs, but not under the public key the token shows for it; the token's objects do not pair up, do not use this key`, {
      details: { publicKey: toHex(publicKey) },
    });
  }
}

/**
 * Makes a new key (Ed25519 unless `keyType` says otherwise) inside the token: on the
 * token, private, sensitive, never extractable. Refuses a label already in use (adopt
 * that key instead).
 */
export async function generateTokenKey(
  location: TokenLocation,
  options: { label: string; id?: Uint8Array; pin: PinSource; purpose: string; keyType?: KeyType },
): Promise<TokenKey> {
  if (options.label === '') throw new AirlockError('E_USAGE', 'a new token key needs a label (--key-label)');
  const keyType = options.keyType ?? 'ed25519';
  const login = await logInTo(location, keyType, true, options.pin, options.purpose);
  try {
    const taken = [
      ...findPrivateKeys(login.api, login.session, { label: options.label }),
      ...(options.id === undefined ? [] : findPrivateKeys(login.api, login.session, { id: options.id })),
    ];
    if (taken.length > 0) {
      throw new AirlockError(
        'E_TOKEN_KEY',
        `token "${login.token.label}" already holds a key ${describeName({ label: options.label, ...(options.id === undefined ? {} : { id: options.id }) })}; adopt it (--key-label without --generate) or choose another label`,
        { details: { token: login.token.label, label: options.label } },
      );
    }
    const id = options.id ?? new Uint8Array(randomBytes(NEW_KEY_ID_BYTES));
    const rw = login.openReadWrite();
    try {
      const pair: NewKeyPair = (keyType === 'ed25519' ? generateEd25519 : generateP256)(login.api, rw, { label: options.label, id });
      try {
        const facts = privateKeyFacts(login.api, login.session, pair.privateKey);
        // A token that ignored the template would leave a readable key behind: refuse it and remove the key.
        if (!facts.sensitive || facts.extractable || !facts.onToken || facts.keyType !== keyType) {
          throw new AirlockError('E_TOKEN_MECHANISM', `token "${login.token.label}" did not make the key sensitive, non-extractable and permanent as asked; the key was removed, use another token`, {
            details: { token: login.token.label, sensitive: facts.sensitive, extractable: facts.extractable, onToken: facts.onToken },
          });
        }
        const publicKey = pairedPublicKey(login.api, login.session, facts, keyType);
        if (publicKey === undefined) throw new AirlockError('E_TOKEN_KEY', `token "${login.token.label}" made a key but shows no ${CURVES[keyType].name} public key for it; the key was removed`);
        selfTest(login, pair.privateKey, publicKey, keyType, `the new key on token "${login.token.label}"`);
        return tokenKeyOf(location, login.token, facts, publicKey, keyType);
      } catch (err) {
        destroyObjects(login.api, rw, [pair.privateKey, pair.publicKey]);
        throw err;
      }
    } finally {
      try {
        login.api.C_CloseSession(rw);
      } catch {
        // closing a session we are done with; the result (or error) stands
      }
    }
  } finally {
    login.release();
  }
}

/**
 * Takes on a key of `keyType` (default Ed25519) already in the token, named by the URI's
 * object and/or id. Refuses a key the token would hand out (not sensitive, or extractable).
 */
export async function adoptTokenKey(location: TokenLocation, options: { pin: PinSource; purpose: string; keyType?: KeyType }): Promise<TokenKey> {
  const name = keyName(location.uri);
  const keyType = options.keyType ?? 'ed25519';
  const login = await logInTo(location, keyType, false, options.pin, options.purpose);
  try {
    const { key, facts } = theKey(login, name, keyType);
    if (!facts.sensitive || facts.extractable) {
      throw new AirlockError(
        'E_TOKEN_KEY',
        `the key ${describeName(name)} on token "${login.token.label}" can be read out of the token (CKA_SENSITIVE false or CKA_EXTRACTABLE true); airlock adopts only keys that cannot leave it: make one with --generate`,
        { details: { token: login.token.label, sensitive: facts.sensitive, extractable: facts.extractable } },
      );
    }
    if (!facts.onToken) throw new AirlockError('E_TOKEN_KEY', `the key ${describeName(name)} is a session object that vanishes at logout; adopt a key stored on the token`);
    const publicKey = pairedPublicKey(login.api, login.session, facts, keyType);
    if (publicKey === undefined) {
      throw new AirlockError('E_TOKEN_KEY', `token "${login.token.label}" shows no (or more than one) ${CURVES[keyType].name} public key paired with the key ${describeName(name)}; give each key pair its own id`);
    }
    selfTest(login, key, publicKey, keyType, `the key ${describeName(name)}`);
    return tokenKeyOf(location, login.token, facts, publicKey, keyType);
  } finally {
    login.release();
  }
}

/**
 * Opens the key a keystore record names, for signing. Refuses (E_TOKEN_KEY) a token key
 * whose public half is not the recorded one. close() gives up the login share; the last
 * share logs out and closes the session.
 */
export async function openTokenKeyHandle(reference: Pkcs11Reference, expectedPublicKey: Uint8Array, pin: PinSource, purpose: string, keyType: KeyType = 'ed25519'): Promise<KeyHandle> {
  const uri = parsePkcs11Uri(reference.uri);
  const name = keyName(uri);
  let login: LoginLease | null = await logInTo({ module: reference.module, uri }, keyType, false, pin, purpose);
  let key: Buffer;
  try {
    const found = theKey(login, name, keyType);
    key = found.key;
    const onToken = pairedPublicKey(login.api, login.session, found.facts, keyType);
    // Without a public object to compare, AuditedSigner's check of every signature still catches a different key.
    if (onToken !== undefined && !Buffer.from(onToken).equals(Buffer.from(expectedPublicKey))) {
      throw new AirlockError(
        'E_TOKEN_KEY',
        `the key ${describeName(name)} on token "${login.token.label}" is not the key the keystore recorded (public key ${toHex(onToken).slice(0, 16)}…, expected ${toHex(expectedPublicKey).slice(0, 16)}…); was the token re-initialised? Add the key again with \`airlock key add-token\``,
        { details: { token: login.token.label, found: toHex(onToken), expected: toHex(expectedPublicKey) } },
      );
    }
  } catch (err) {
    login.release();
    throw err;
  }
  const live = (): LoginLease => {
    if (login === null) throw new Error('token key used after close()');
    return login;
  };
  return {
    async signRaw(message) {
      return signMessage(live(), key, keyType, message, `signing with ${purpose}`);
    },
    ...(keyType === 'ecdsa-p256'
      ? {
          async signDigest(digest: Uint8Array) {
            const l = live();
            return signEcdsaDigest(l.api, l.session, key, digest, `signing with ${purpose}`);
          },
        }
      : {}),
    async close() {
      const l = login;
      login = null;
      l?.release();
    },
  };
}
