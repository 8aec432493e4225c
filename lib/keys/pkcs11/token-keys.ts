// What airlock does with a token: make an Ed25519 key inside it, adopt one already
// there, and open one for signing. Each step checks, in this order and before a PIN is
// asked for, that the module loads (E_TOKEN_MODULE), that the token is present
// (E_TOKEN_ABSENT) and that it offers EdDSA (E_TOKEN_MECHANISM); then it logs in once
// (E_TOKEN_PIN) and finds the key (E_TOKEN_KEY). A key is taken on only after a test
// signature verifies under the public key the keystore will record.
import { randomBytes } from 'node:crypto';
import { AirlockError } from '../../core/errors.js';
import { ed25519Verify } from '../../core/ed25519.js';
import { toHex } from '../../core/hex.js';
import type { Pkcs11Reference } from '../key-file.js';
import type { KeyHandle } from '../software-key.js';
import { CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA } from './constants.js';
import { acquireModule } from './cryptoki.js';
import {
  destroyObjects,
  findPrivateKeys,
  generateEd25519,
  pairedPublicKey,
  privateKeyFacts,
  signEddsa,
  type ObjectName,
  type PrivateKeyFacts,
} from './ed25519-objects.js';
import { acquireLogin, type LoginLease } from './login.js';
import type { PinSource } from './pin.js';
import { findToken, requireMechanisms, type TokenSlot } from './token-slot.js';
import { formatPkcs11Uri, parsePkcs11Uri, type Pkcs11Uri } from './uri.js';

const EDDSA = { code: CKM_EDDSA, name: 'CKM_EDDSA' };
const EDDSA_KEYGEN = { code: CKM_EC_EDWARDS_KEY_PAIR_GEN, name: 'CKM_EC_EDWARDS_KEY_PAIR_GEN' };
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
  publicKey: Uint8Array;
  reference: Pkcs11Reference;
  token: { label: string; serial: string; manufacturer: string; model: string };
  /** CKA_LABEL and CKA_ID (hex) of the private key. */
  label: string;
  id: string;
  /** Made inside the token and never outside it (CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE). */
  bornInToken: boolean;
}

async function logInTo(location: TokenLocation, mechanisms: readonly { code: number; name: string }[], pin: PinSource, purpose: string): Promise<LoginLease> {
  const module = await acquireModule(location.module);
  let token: TokenSlot;
  try {
    token = findToken(module.api, module.path, location.uri);
    requireMechanisms(module.api, token, mechanisms);
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

/** The one private key `name` picks on the logged-in token, checked to be Ed25519. */
function theKey(login: LoginLease, name: ObjectName): { key: Buffer; facts: PrivateKeyFacts } {
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
  if (!facts.isEd25519) {
    throw new AirlockError('E_TOKEN_KEY', `the key ${describeName(name)} on ${where} is not an Ed25519 key; airlock signs only with Ed25519 (make one with --generate)`, {
      details: { token: login.token.label, label: facts.label },
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

function tokenKeyOf(location: TokenLocation, token: TokenSlot, facts: PrivateKeyFacts, publicKey: Uint8Array): TokenKey {
  const uri = formatPkcs11Uri({
    token: token.label,
    ...(token.serial === '' ? {} : { serial: token.serial }),
    ...(facts.label === '' ? {} : { object: facts.label }),
    type: 'private',
    ...(facts.id.length === 0 ? {} : { id: facts.id }),
  });
  return {
    publicKey,
    reference: { module: location.module, uri },
    token: { label: token.label, serial: token.serial, manufacturer: token.manufacturer, model: token.model },
    label: facts.label,
    id: toHex(facts.id),
    bornInToken: facts.bornInToken,
  };
}

/** Signs a probe and checks it under `publicKey`: the pair matches and CKM_EDDSA works. */
function selfTest(login: LoginLease, key: Buffer, publicKey: Uint8Array, what: string): void {
  const signature = signEddsa(login.api, login.session, key, SELF_TEST, `testing ${what}`);
  if (!ed25519Verify(publicKey, SELF_TEST, signature)) {
    throw new AirlockError('E_TOKEN_KEY', `${what} signs, but not under the public key the token shows for it; the token's objects do not pair up, do not use this key`, {
      details: { publicKey: toHex(publicKey) },
    });
  }
}

/**
 * Makes a new Ed25519 key inside the token: on the token, private, sensitive, never
 * extractable. Refuses a label already in use (adopt that key instead).
 */
export async function generateTokenKey(location: TokenLocation, options: { label: string; id?: Uint8Array; pin: PinSource; purpose: string }): Promise<TokenKey> {
  if (options.label === '') throw new AirlockError('E_USAGE', 'a new token key needs a label (--key-label)');
  const login = await logInTo(location, [EDDSA, EDDSA_KEYGEN], options.pin, options.purpose);
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
      const pair = generateEd25519(login.api, rw, { label: options.label, id });
      try {
        const facts = privateKeyFacts(login.api, login.session, pair.privateKey);
        // A token that ignored the template would leave a readable key behind: refuse it and remove the key.
        if (!facts.sensitive || facts.extractable || !facts.onToken || !facts.isEd25519) {
          throw new AirlockError('E_TOKEN_MECHANISM', `token "${login.token.label}" did not make the key sensitive, non-extractable and permanent as asked; the key was removed, use another token`, {
            details: { token: login.token.label, sensitive: facts.sensitive, extractable: facts.extractable, onToken: facts.onToken },
          });
        }
        const publicKey = pairedPublicKey(login.api, login.session, facts);
        if (publicKey === undefined) throw new AirlockError('E_TOKEN_KEY', `token "${login.token.label}" made a key but shows no Ed25519 public key for it; the key was removed`);
        selfTest(login, pair.privateKey, publicKey, `the new key on token "${login.token.label}"`);
        return tokenKeyOf(location, login.token, facts, publicKey);
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
 * Takes on an Ed25519 key already in the token, named by the URI's object and/or id.
 * Refuses a key the token would hand out (not sensitive, or extractable).
 */
export async function adoptTokenKey(location: TokenLocation, options: { pin: PinSource; purpose: string }): Promise<TokenKey> {
  const name = keyName(location.uri);
  const login = await logInTo(location, [EDDSA], options.pin, options.purpose);
  try {
    const { key, facts } = theKey(login, name);
    if (!facts.sensitive || facts.extractable) {
      throw new AirlockError(
        'E_TOKEN_KEY',
        `the key ${describeName(name)} on token "${login.token.label}" can be read out of the token (CKA_SENSITIVE false or CKA_EXTRACTABLE true); airlock adopts only keys that cannot leave it: make one with --generate`,
        { details: { token: login.token.label, sensitive: facts.sensitive, extractable: facts.extractable } },
      );
    }
    if (!facts.onToken) throw new AirlockError('E_TOKEN_KEY', `the key ${describeName(name)} is a session object that vanishes at logout; adopt a key stored on the token`);
    const publicKey = pairedPublicKey(login.api, login.session, facts);
    if (publicKey === undefined) {
      throw new AirlockError('E_TOKEN_KEY', `token "${login.token.label}" shows no (or more than one) Ed25519 public key paired with the key ${describeName(name)}; give each key pair its own id`);
    }
    selfTest(login, key, publicKey, `the key ${describeName(name)}`);
    return tokenKeyOf(location, login.token, facts, publicKey);
  } finally {
    login.release();
  }
}

/**
 * Opens the key a keystore record names, for signing. Refuses (E_TOKEN_KEY) a token key
 * whose public half is not the recorded one. close() gives up the login share; the last
 * share logs out and closes the session.
 */
export async function openTokenKeyHandle(reference: Pkcs11Reference, expectedPublicKey: Uint8Array, pin: PinSource, purpose: string): Promise<KeyHandle> {
  const uri = parsePkcs11Uri(reference.uri);
  const name = keyName(uri);
  let login: LoginLease | null = await logInTo({ module: reference.module, uri }, [EDDSA], pin, purpose);
  let key: Buffer;
  try {
    const found = theKey(login, name);
    key = found.key;
    const onToken = pairedPublicKey(login.api, login.session, found.facts);
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
  return {
    async signRaw(message) {
      if (login === null) throw new Error('token key used after close()');
      return signEddsa(login.api, login.session, key, message, `signing with ${purpose}`);
    },
    async close() {
      const l = login;
      login = null;
      l?.release();
    },
  };
}
