// minisign public keys and prehashed signatures, written and parsed.
// Spec: https://jedisct1.github.io/minisign/ ("Public key format", "Signature format")
// and minisign.h: public key = base64("Ed" || keynum(8) || pk(32)); signature file =
// "untrusted comment: …", base64("ED" || keynum || Ed25519(BLAKE2b-512(file))),
// "trusted comment: …", base64(Ed25519(signature || trusted comment)).
//
// Key number: minisign draws it at random; ours has no secret half to keep it in, so it
// is derived: the first 8 bytes of SHA-256("airlock minisign key id\0" || public key).
// minisign prints it as the hex of those 8 bytes read as a little-endian integer.
import { createHash } from 'node:crypto';
import { ed25519Verify } from '../../core/ed25519.js';
import { AirlockError } from '../../core/errors.js';
import type { SignSubject, Signer } from '../../keys/signer.js';

const ALG_PUBLIC = 'Ed';
const ALG_PREHASHED = 'ED';
const UNTRUSTED = 'untrusted comment: ';
const TRUSTED = 'trusted comment: ';
/** minisign.h TRUSTEDCOMMENTMAXBYTES. */
export const TRUSTED_COMMENT_MAX_BYTES = 8192;

export function minisignKeyNumber(rawPublicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update('airlock minisign key id\0').update(rawPublicKey).digest().subarray(0, 8));
}

/** The key id as minisign prints it: upper-case hex of the little-endian 64-bit key number. */
export function minisignKeyIdHex(keyNumber: Uint8Array): string {
  return Buffer.from(keyNumber).reverse().toString('hex').toUpperCase();
}

/** Contents of minisign.pub. */
export function minisignPublicKey(signer: Signer): string {
  const keyNumber = minisignKeyNumber(signer.publicKey);
  const blob = Buffer.concat([Buffer.from(ALG_PUBLIC, 'latin1'), keyNumber, signer.publicKey]);
  return `${UNTRUSTED}minisign public key ${minisignKeyIdHex(keyNumber)}\n${blob.toString('base64')}\n`;
}

export interface MinisignReleaseComment {
  timestamp: Date;
  file: string;
  project: string;
  version: string;
}

/**
 * The trusted comment: minisign's own "timestamp:<unix>\tfile:<name>" first, then the
 * project and version, tab-separated, then "hashed" as minisign marks prehashed
 * signatures. The timestamp is the release's signing time, so re-signing the same
 * release at the same time gives the same bytes (Ed25519 is deterministic).
 */
export function releaseTrustedComment(c: MinisignReleaseComment): string {
  for (const [field, value] of Object.entries({ file: c.file, project: c.project, version: c.version })) {
    if (/[\t\r\n]/.test(value) || value === '') {
      throw new AirlockError('E_ARTIFACT_NAME', `the ${field} "${JSON.stringify(value)}" cannot go into a minisign trusted comment: use a name without tabs or line breaks`);
    }
  }
  return `timestamp:${Math.floor(c.timestamp.getTime() / 1000)}\tfile:${c.file}\tproject:${c.project}\tversion:${c.version}\thashed`;
}

/** Signs and checks the result, so a token holding another key is caught here, not by users. */
async function signChecked(signer: Signer, message: Uint8Array, subject: SignSubject): Promise<Uint8Array> {
  const signature = await signer.sign({ purpose: 'minisign', message, subject });
  if (!ed25519Verify(signer.publicKey, message, signature)) {
    throw new AirlockError('E_SIGNER_MISMATCH', `the ${signer.role} key's signature does not verify under its public key; check that the keystore entry or token holds the key published in minisign.pub`);
  }
  return signature;
}

/** Signs a BLAKE2b-512 digest of the file and the trusted comment; returns the .minisig contents. */
export async function minisignSignature(signer: Signer, blake2b512: Uint8Array, trustedComment: string, subject: SignSubject): Promise<string> {
  if (blake2b512.length !== 64) throw new TypeError('a BLAKE2b-512 digest is 64 bytes');
  const comment = Buffer.from(trustedComment, 'utf8');
  if (comment.length > TRUSTED_COMMENT_MAX_BYTES || /[\r\n]/.test(trustedComment)) {
    throw new AirlockError('E_ARTIFACT_NAME', 'the minisign trusted comment must be one line of at most 8192 bytes; shorten the file, project or version name');
  }
  const keyNumber = minisignKeyNumber(signer.publicKey);
  const signature = await signChecked(signer, blake2b512, subject);
  const globalSignature = await signChecked(signer, new Uint8Array(Buffer.concat([signature, comment])), subject);
  const sigBlob = Buffer.concat([Buffer.from(ALG_PREHASHED, 'latin1'), keyNumber, signature]);
  return (
    `${UNTRUSTED}signature from airlock minisign key ${minisignKeyIdHex(keyNumber)}\n` +
    `${sigBlob.toString('base64')}\n${TRUSTED}${trustedComment}\n${Buffer.from(globalSignature).toString('base64')}\n`
  );
}

export interface ParsedMinisignPublicKey {
  keyNumber: Uint8Array;
  publicKey: Uint8Array;
}

export interface ParsedMinisignSignature {
  algorithm: 'Ed' | 'ED';
  keyNumber: Uint8Array;
  signature: Uint8Array;
  trustedComment: string;
  globalSignature: Uint8Array;
}

function invalid(what: string): AirlockError {
  return new AirlockError('E_MINISIGN_FORMAT', `${what}; fetch the file again from the release host`);
}

export function parseMinisignPublicKey(text: string): ParsedMinisignPublicKey {
  const lines = text.split(/\r?\n/);
  const b64 = lines[0]?.startsWith(UNTRUSTED) ? lines[1] : lines[0];
  const blob = Buffer.from(b64 ?? '', 'base64');
  if (blob.length !== 42 || blob.subarray(0, 2).toString('latin1') !== ALG_PUBLIC) throw invalid('not a minisign Ed25519 public key');
  return { keyNumber: new Uint8Array(blob.subarray(2, 10)), publicKey: new Uint8Array(blob.subarray(10)) };
}

export function parseMinisignSignature(text: string): ParsedMinisignSignature {
  const lines = text.split(/\r?\n/);
  if (!lines[0]?.startsWith(UNTRUSTED) || !lines[2]?.startsWith(TRUSTED)) throw invalid('not a minisign signature file');
  const blob = Buffer.from(lines[1] ?? '', 'base64');
  const algorithm = blob.subarray(0, 2).toString('latin1');
  if (blob.length !== 74 || (algorithm !== 'Ed' && algorithm !== 'ED')) throw invalid('unknown minisign signature algorithm');
  const globalSignature = Buffer.from(lines[3] ?? '', 'base64');
  if (globalSignature.length !== 64) throw invalid('the minisign global signature is not 64 bytes');
  return {
    algorithm,
    keyNumber: new Uint8Array(blob.subarray(2, 10)),
    signature: new Uint8Array(blob.subarray(10)),
    trustedComment: lines[2].slice(TRUSTED.length),
    globalSignature: new Uint8Array(globalSignature),
  };
}
