// OpenPGP signatures made through a Signer: the certificate users import, detached
// signatures of files of any size (hashed while they stream), and cleartext signatures
// (apt's InRelease). The Signer's message is the OpenPGP hash digest: Ed25519 signs it as
// its message (draft-koch §5), ECDSA P-256 as the hash value (RFC 6637 §5).
import { createHash, type Hash } from 'node:crypto';
import { p256VerifyDigest } from '../../core/ecdsa-p256.js';
import { ed25519Verify } from '../../core/ed25519.js';
import { AirlockError } from '../../core/errors.js';
import { toHex } from '../../core/hex.js';
import type { Preimage, SignSubject, Signer } from '../../keys/signer.js';
import { armor, cleartextMessage, cleartextSignedBytes } from './openpgp-armor.js';
import {
  HASH_ALGORITHM_SHA256,
  SIGNATURE_TYPE,
  concat,
  finishSignatureHash,
  keyHashPrefix,
  pgpPublicKey,
  publicKeyPacket,
  signatureHashedPart,
  signaturePacket,
  signatureTrailer,
  userIdHashPrefix,
  userIdPacket,
  type PgpPublicKey,
  type SignatureType,
} from './openpgp-packet.js';

/** Hash name for the cleartext "Hash:" header; must match HASH_ALGORITHM below. */
const HASH_NAME = 'SHA256';
const HASH_ALGORITHM = HASH_ALGORITHM_SHA256;

export function pgpKeyOf(signer: Signer): PgpPublicKey {
  return pgpPublicKey(signer.publicKey, signer.createdAt, signer.keyType);
}

/** The 40-hex-digit v4 fingerprint, upper case as GnuPG prints it. */
export function openpgpFingerprint(signer: Signer): string {
  return toHex(pgpKeyOf(signer).fingerprint).toUpperCase();
}

/**
 * Signs a finished OpenPGP digest and checks the result, so a token holding another key is
 * caught here, not by users. `preimage` gives the hashed bytes again (a software ECDSA key
 * signs from them: SignRequest.preimage).
 */
async function signDigest(signer: Signer, digest: Uint8Array, preimage: Preimage, subject: SignSubject): Promise<Uint8Array> {
  const signature = await signer.sign({ purpose: 'openpgp', message: digest, preimage, subject });
  const valid = signer.keyType === 'ecdsa-p256' ? p256VerifyDigest(signer.publicKey, digest, signature) : ed25519Verify(signer.publicKey, digest, signature);
  if (!valid) {
    throw new AirlockError('E_SIGNER_MISMATCH', `the ${signer.role} key's signature does not verify under its public key; check that the keystore entry or token holds the key published as ${openpgpFingerprint(signer)}`);
  }
  return signature;
}

/**
 * The transferable public key users import (RFC 4880 §11.1): key, user ID, positive
 * self-certification dated at key creation, so the same key always gives the same bytes.
 */
export async function openpgpCertificate(signer: Signer, userId: string): Promise<string> {
  if (userId === '' || /[\r\n]/.test(userId)) throw new AirlockError('E_USAGE', 'the OpenPGP user ID must be one non-empty line, e.g. "Example Releases <releases@example.org>"');
  const key = pgpKeyOf(signer);
  const uid = new Uint8Array(Buffer.from(userId, 'utf8'));
  const hashedPart = signatureHashedPart({ type: SIGNATURE_TYPE.positiveCertification, hashAlgorithm: HASH_ALGORITHM, created: signer.createdAt, key });
  const hash = createHash('sha256').update(keyHashPrefix(key.body)).update(userIdHashPrefix(uid));
  const digest = finishSignatureHash(hash, hashedPart);
  const preimage = () => [keyHashPrefix(key.body), userIdHashPrefix(uid), hashedPart, signatureTrailer(hashedPart)];
  const signature = await signDigest(signer, digest, preimage, { kind: 'openpgp-certificate', name: userId, sha256: toHex(digest) });
  return armor('PGP PUBLIC KEY BLOCK', concat([publicKeyPacket(key), userIdPacket(uid), signaturePacket(hashedPart, digest, signature)]));
}

/**
 * A detached signature in progress: the signed fields are fixed first, then the caller
 * feeds the data (a stream, chunk by chunk) and finishes. `finish` may take a copy of a
 * SHA-256 hash the caller also uses for something else (SHA256SUMS).
 */
export interface PendingSignature {
  /**
   * Finishes with a SHA-256 that has seen exactly the document bytes (consumed), and a way
   * to read those bytes again, which only a software ECDSA key calls (SignRequest.preimage).
   */
  finish(documentHash: Hash, subject: SignSubject, document: Preimage): Promise<string>;
}

interface PendingPacket {
  finishPacket(documentHash: Hash, subject: SignSubject, document: Preimage): Promise<Uint8Array>;
}

function beginSignaturePacket(signer: Signer, created: Date, type: SignatureType): PendingPacket {
  const key = pgpKeyOf(signer);
  if (created.getTime() < signer.createdAt.getTime()) {
    // GnuPG refuses a signature older than its key ("public key is newer than signature").
    throw new AirlockError('E_SIGNATURE_TIME', `the signature time ${created.toISOString()} is before the ${signer.role} key was made (${signer.createdAt.toISOString()}); check the clock or the release date`);
  }
  const hashedPart = signatureHashedPart({ type, hashAlgorithm: HASH_ALGORITHM, created, key });
  return {
    async finishPacket(documentHash, subject, document) {
      const digest = finishSignatureHash(documentHash, hashedPart);
      const preimage = async function* (): AsyncIterable<Uint8Array> {
        yield* document();
        yield hashedPart;
        yield signatureTrailer(hashedPart);
      };
      return signaturePacket(hashedPart, digest, await signDigest(signer, digest, preimage, subject));
    },
  };
}

export function beginDetachedSignature(signer: Signer, created: Date, type: SignatureType = SIGNATURE_TYPE.binary): PendingSignature {
  const pending = beginSignaturePacket(signer, created, type);
  return {
    async finish(documentHash, subject, document) {
      return armor('PGP SIGNATURE', await pending.finishPacket(documentHash, subject, document));
    },
  };
}

/**
 * One armored block with a signature packet by each signer over the same bytes (RFC 4880
 * §5.2, §11.4: a detached signature or a cleartext message may carry several). A verifier
 * that holds any one of the keys accepts it: what lets apt clients pinning the old key
 * and those pinning the new one both follow a key change (docs/rotation.md).
 */
async function signaturesOf(signers: Signer | readonly Signer[], created: Date, type: SignatureType, document: Uint8Array, subject: SignSubject): Promise<string> {
  const documentHash = createHash('sha256').update(document);
  const all = Array.isArray(signers) ? (signers as readonly Signer[]) : [signers as Signer];
  if (all.length === 0) throw new TypeError('no OpenPGP signer');
  const pending = all.map((s) => beginSignaturePacket(s, created, type));
  const packets: Uint8Array[] = [];
  for (const p of pending) packets.push(await p.finishPacket(documentHash.copy(), subject, () => [document]));
  return armor('PGP SIGNATURE', concat(packets));
}

/** A detached, armored binary signature of bytes already in memory (small files: Release, SHA256SUMS), by one key or several. */
export async function openpgpDetachedSignature(signer: Signer | readonly Signer[], data: Uint8Array, created: Date, subject: SignSubject): Promise<string> {
  return signaturesOf(signer, created, SIGNATURE_TYPE.binary, data, subject);
}

/**
 * A cleartext-signed message (RFC 4880 §7), as apt's InRelease, by one key or several.
 * Only text whose every reading is the same is signed: no control characters but line
 * feeds (a form feed at a line's end let GnuPG verify text a reader saw differently,
 * CVE-2025-68972) and no trailing blanks (the signature would cover a line other than
 * the one shown).
 */
export async function openpgpClearsign(signer: Signer | readonly Signer[], text: string, created: Date, subject: SignSubject): Promise<string> {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x09\x0b-\x1f\x7f]/.test(text) || /[ \t]$/m.test(text)) {
    throw new AirlockError('E_CLEARSIGN_TEXT', `${subject.name} holds a control character or a line ending in blanks; such text is never clearsigned (CVE-2025-68972) — remove them from the configured names`);
  }
  return cleartextMessage(text, HASH_NAME, await signaturesOf(signer, created, SIGNATURE_TYPE.text, cleartextSignedBytes(text), subject));
}
