// Ed25519 key objects inside a token (PKCS#11 v3.0 §2.3.10 "EC Edwards"): the curve's
// domain parameters, its public half from CKA_EC_POINT, making a new pair that can never
// leave the token, and signing with CKM_EDDSA (pure Ed25519, RFC 8032).
import type { PKCS11 } from 'pkcs11js';
import { AirlockError } from '../../core/errors.js';
import {
  CKK_EC_EDWARDS,
  CKM_EC_EDWARDS_KEY_PAIR_GEN,
  CKM_EDDSA,
  ED25519_PARAMS_NAME,
  ED25519_PARAMS_OID,
} from './constants.js';
import { isCkr, tokenFailure } from './cryptoki.js';
import { keyPairTemplates, type NewKeyPair } from './key-objects.js';

export const ED25519_SIGNATURE_BYTES = 64;

/** Ed25519 domain parameters, in either of the two encodings PKCS#11 v3.0 allows. */
export function isEd25519Params(params: Buffer | undefined): boolean {
  // Some tokens leave CKA_EC_PARAMS off the private key; the public key's length settles it then.
  return params === undefined || params.equals(ED25519_PARAMS_OID) || params.equals(ED25519_PARAMS_NAME);
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

/**
 * Makes an Ed25519 pair on the token (keyPairTemplates: never extractable). Tries the OID
 * encoding of the curve, then the PrintableString one. Needs a read-write, logged-in session.
 */
export function generateEd25519(api: PKCS11, rwSession: Buffer, name: { label: string; id: Uint8Array }): NewKeyPair {
  let last: unknown;
  for (const params of [ED25519_PARAMS_OID, ED25519_PARAMS_NAME]) {
    const { publicTemplate, privateTemplate } = keyPairTemplates(CKK_EC_EDWARDS, params, name);
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
