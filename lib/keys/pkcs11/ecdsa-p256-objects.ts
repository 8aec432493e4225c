// ECDSA P-256 key objects inside a token (PKCS#11 v3.0 §2.3 "Elliptic Curve"): the
// curve's domain parameters, its public half from CKA_EC_POINT, making a new pair that
// can never leave the token (CKM_EC_KEY_PAIR_GEN), and signing with CKM_ECDSA — which
// signs a hash computed outside the token and returns r ‖ s (§2.3.1), turned here into
// the DER form TUF, DSSE and OpenPGP's MPIs are made from. This is what a YubiKey in PIV
// mode offers through ykcs11 (it holds no Ed25519 key before firmware 5.7).
import type { PKCS11 } from 'pkcs11js';
import { derFromRawSignature, isP256Point, P256_POINT_BYTES } from '../../core/ecdsa-p256.js';
import { AirlockError } from '../../core/errors.js';
import {
  CKK_EC,
  CKM_EC_KEY_PAIR_GEN,
  CKM_ECDSA,
  P256_PARAMS_OID,
} from './constants.js';
import { isCkr, tokenFailure } from './cryptoki.js';
import { keyPairTemplates, type NewKeyPair } from './key-objects.js';

const RAW_SIGNATURE_BYTES = 64;
const DIGEST_BYTES = 32;

/** P-256 domain parameters (some tokens leave CKA_EC_PARAMS off the private key; the public point settles it then). */
export function isP256Params(params: Buffer | undefined): boolean {
  return params === undefined || params.equals(P256_PARAMS_OID);
}

/**
 * CKA_EC_POINT → the uncompressed point. §2.3.3: "DER-encoding of ANSI X9.62 ECPoint
 * value Q", i.e. an OCTET STRING (04 41 04 …); some tokens give the 65 bytes bare.
 * Anything else (compressed points included) is not taken.
 */
export function p256FromEcPoint(point: Uint8Array): Uint8Array | undefined {
  const raw = point.length === P256_POINT_BYTES + 2 && point[0] === 0x04 && point[1] === P256_POINT_BYTES ? point.subarray(2) : point;
  return isP256Point(raw) ? new Uint8Array(raw) : undefined;
}

/** Signs a SHA-256 digest with CKM_ECDSA; returns the DER signature. */
export function signEcdsaDigest(api: PKCS11, session: Buffer, key: Buffer, digest: Uint8Array, doing: string): Uint8Array {
  if (digest.length !== DIGEST_BYTES) throw new TypeError('CKM_ECDSA is given a 32-byte SHA-256 digest');
  // Init and sign run without an await between them, so two signers on one session cannot interleave.
  let out: Buffer;
  try {
    api.C_SignInit(session, { mechanism: CKM_ECDSA }, key);
    out = api.C_Sign(session, Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength), Buffer.alloc(RAW_SIGNATURE_BYTES));
  } catch (err) {
    throw tokenFailure(err, doing);
  }
  if (out.length !== RAW_SIGNATURE_BYTES) {
    throw new AirlockError('E_TOKEN_MECHANISM', `the token returned a ${out.length}-byte signature while ${doing}; CKM_ECDSA on P-256 gives 64 bytes (r ‖ s)`);
  }
  return derFromRawSignature(out);
}

/**
 * Makes a P-256 pair on the token (keyPairTemplates: never extractable). Needs a
 * read-write, logged-in session.
 */
export function generateP256(api: PKCS11, rwSession: Buffer, name: { label: string; id: Uint8Array }): NewKeyPair {
  const { publicTemplate, privateTemplate } = keyPairTemplates(CKK_EC, P256_PARAMS_OID, name);
  try {
    const pair = api.C_GenerateKeyPair(rwSession, { mechanism: CKM_EC_KEY_PAIR_GEN }, publicTemplate, privateTemplate);
    return { publicKey: pair.publicKey, privateKey: pair.privateKey };
  } catch (err) {
    if (isCkr(err, 'CKR_ATTRIBUTE_VALUE_INVALID', 'CKR_DOMAIN_PARAMS_INVALID', 'CKR_CURVE_NOT_SUPPORTED', 'CKR_TEMPLATE_INCONSISTENT', 'CKR_MECHANISM_INVALID')) {
      throw new AirlockError('E_TOKEN_MECHANISM', 'the token would not make a P-256 key (CKM_EC_KEY_PAIR_GEN on prime256v1); use a token with EC support (docs/hardware-keys.md)', { cause: err });
    }
    throw tokenFailure(err, 'making the key on the token', 'E_TOKEN_KEY');
  }
}
