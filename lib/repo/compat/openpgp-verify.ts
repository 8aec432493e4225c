// Checking the OpenPGP signatures airlock makes (openpgp-sign.ts) against a keyring airlock
// wrote (keys/release-signing.asc, key-history.ts): v4 signature packets (RFC 4880
// §5.2.3) over SHA-256, by an EdDSA (draft-koch §5) or ECDSA P-256 (RFC 6637 §5) primary
// key; a detached signature over bytes, or a cleartext message (§7) over a given text.
// `airlock sync` uses it to believe a host's apt Release files before copying them.
// Anything else — another hash or version, a key not in the keyring, a malformed
// packet — does not verify (false, never a throw).
import { createHash } from 'node:crypto';
import { derFromRawSignature, p256VerifyDigest } from '../../core/ecdsa-p256.js';
import { ed25519Verify } from '../../core/ed25519.js';
import type { KeyType } from '../../core/key-type.js';
import { cleartextMessage, cleartextSignedBytes, dearmor } from './openpgp-armor.js';
import {
  finishSignatureHash,
  HASH_ALGORITHM_SHA256,
  PACKET_TAG,
  pgpPublicKey,
  PUBKEY_ALGORITHM_ECDSA,
  PUBKEY_ALGORITHM_EDDSA,
  readPackets,
  SIGNATURE_TYPE,
  type SignatureType,
} from './openpgp-packet.js';

export interface KeyringKey {
  algorithm: number;
  type: KeyType;
  /** Raw public key: Ed25519's 32 bytes or P-256's uncompressed point. */
  raw: Uint8Array;
}

/** The primary keys of an armored keyring that are the keys airlock makes (rebuilt byte for byte from their packets). */
export function keyringKeys(armored: string): KeyringKey[] {
  let packets;
  try {
    packets = readPackets(dearmor(armored).data);
  } catch {
    return [];
  }
  const keys: KeyringKey[] = [];
  for (const { tag, body } of packets) {
    if (tag !== PACKET_TAG.publicKey || body.length < 8 || body[0] !== 4) continue;
    const created = new Date(Buffer.from(body.subarray(1, 5)).readUInt32BE() * 1000);
    const point = body.subarray(7 + body[6]! + 2);
    const key: KeyringKey | undefined =
      body[5] === PUBKEY_ALGORITHM_EDDSA && point.length === 33 && point[0] === 0x40
        ? { algorithm: PUBKEY_ALGORITHM_EDDSA, type: 'ed25519', raw: point.subarray(1) }
        : body[5] === PUBKEY_ALGORITHM_ECDSA && point.length === 65
          ? { algorithm: PUBKEY_ALGORITHM_ECDSA, type: 'ecdsa-p256', raw: point }
          : undefined;
    if (key === undefined) continue;
    try {
      if (Buffer.compare(pgpPublicKey(key.raw, created, key.type).body, body) === 0) keys.push(key);
    } catch {
      // not a key airlock makes
    }
  }
  return keys;
}

/** RFC 4880 §3.2: an MPI at `at`, as a 32-byte big-endian integer; undefined if longer. */
function mpi32(body: Uint8Array, at: number): { value: Uint8Array; next: number } | undefined {
  if (at + 2 > body.length) return undefined;
  const bytes = Math.ceil(((body[at]! << 8) | body[at + 1]!) / 8);
  if (bytes > 32 || at + 2 + bytes > body.length) return undefined;
  const value = new Uint8Array(32);
  value.set(body.subarray(at + 2, at + 2 + bytes), 32 - bytes);
  return { value, next: at + 2 + bytes };
}

/** One v4 signature packet body over `document`, by one of `keys`. */
function signatureVerifies(body: Uint8Array, type: SignatureType, document: Uint8Array, keys: readonly KeyringKey[]): boolean {
  if (body.length < 6 || body[0] !== 4 || body[1] !== type || body[3] !== HASH_ALGORITHM_SHA256) return false;
  const hashedEnd = 6 + ((body[4]! << 8) | body[5]!);
  if (hashedEnd + 2 > body.length) return false;
  const left16At = hashedEnd + 2 + ((body[hashedEnd]! << 8) | body[hashedEnd + 1]!);
  const r = mpi32(body, left16At + 2);
  const s = r && mpi32(body, r.next);
  if (s === undefined || s.next !== body.length) return false;
  const digest = finishSignatureHash(createHash('sha256').update(document), body.subarray(0, hashedEnd));
  if (body[left16At] !== digest[0] || body[left16At + 1] !== digest[1]) return false;
  const rs = Buffer.concat([r!.value, s.value]);
  return keys.some((k) => k.algorithm === body[2] && (k.type === 'ed25519' ? ed25519Verify(k.raw, digest, rs) : p256VerifyDigest(k.raw, digest, derFromRawSignature(rs))));
}

/** Every packet of an armored signature block is a signature of `type` over `document` by a key of `keys` (at least one). */
function everySignatureVerifies(armored: string, type: SignatureType, document: Uint8Array, keys: readonly KeyringKey[]): boolean {
  let packets;
  try {
    const block = dearmor(armored);
    if (block.type !== 'PGP SIGNATURE') return false;
    packets = readPackets(block.data);
  } catch {
    return false;
  }
  return packets.length > 0 && packets.every((p) => p.tag === PACKET_TAG.signature && signatureVerifies(p.body, type, document, keys));
}

/** A detached binary signature (Release.gpg) of `document`. */
export function detachedSignatureVerifies(armored: string, document: Uint8Array, keys: readonly KeyringKey[]): boolean {
  return everySignatureVerifies(armored, SIGNATURE_TYPE.binary, document, keys);
}

/**
 * A cleartext message (InRelease) that is exactly `text` signed as airlock writes it:
 * the framing around the text is compared byte for byte, so what a reader of the message
 * sees is `text`, and its signatures verify over it.
 */
export function cleartextVerifies(message: string, text: string, keys: readonly KeyringKey[]): boolean {
  const at = message.indexOf('\n-----BEGIN PGP SIGNATURE-----');
  if (at < 0) return false;
  const signature = message.slice(at + 1);
  if (cleartextMessage(text, 'SHA256', signature) !== message) return false;
  return everySignatureVerifies(signature, SIGNATURE_TYPE.text, cleartextSignedBytes(text), keys);
}
