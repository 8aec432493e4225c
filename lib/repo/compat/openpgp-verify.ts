// Checking the OpenPGP signatures airlock makes (openpgp-sign.ts) against a keyring airlock
// wrote (keys/release-signing.asc, key-history.ts): v4 signature packets (RFC 4880
// §5.2.3) over SHA-256, by an EdDSA (draft-koch §5) or ECDSA P-256 (RFC 6637 §5) primary
// key; a detached signature over bytes, or a cleartext message (§7) over a given text.
// `airlock sync` uses it to believe a host's apt Release files and rpm repomd.xml before
// copying them, and to learn which keys signed them (sync-pgp-keys.ts decides whose
// signature counts). Anything else — another hash or version, a key not in the keyring,
// a malformed packet — does not verify (undefined, never a throw).
import { createHash } from 'node:crypto';
import { derFromRawSignature, p256VerifyDigest } from '../../core/ecdsa-p256.js';
import { ed25519Verify } from '../../core/ed25519.js';
import type { KeyType } from '../../core/key-type.js';
import { cleartextMessage, cleartextSignedBytes, dearmor } from './openpgp-armor.js';
import {
  fingerprintOfKeyBody,
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
  /** RFC 4880 §12.2 v4 fingerprint, upper-case hex (as keys/KEYS and `airlock key list` print it). */
  fingerprint: string;
}

/** A key airlock makes, from its raw public key and creation time (a keystore's public listing). */
export function keyringKeyOf(raw: Uint8Array, createdAt: Date, type: KeyType): KeyringKey {
  const key = pgpPublicKey(raw, createdAt, type);
  return { algorithm: key.algorithm, type, raw, fingerprint: fingerprintOfKeyBody(key.body) };
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
    const fingerprint = fingerprintOfKeyBody(body);
    const key: KeyringKey | undefined =
      body[5] === PUBKEY_ALGORITHM_EDDSA && point.length === 33 && point[0] === 0x40
        ? { algorithm: PUBKEY_ALGORITHM_EDDSA, type: 'ed25519', raw: point.subarray(1), fingerprint }
        : body[5] === PUBKEY_ALGORITHM_ECDSA && point.length === 65
          ? { algorithm: PUBKEY_ALGORITHM_ECDSA, type: 'ecdsa-p256', raw: point, fingerprint }
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

/** The key of `keys` whose signature one v4 signature packet body over `document` is, if any. */
function signerOf(body: Uint8Array, type: SignatureType, document: Uint8Array, keys: readonly KeyringKey[]): KeyringKey | undefined {
  if (body.length < 6 || body[0] !== 4 || body[1] !== type || body[3] !== HASH_ALGORITHM_SHA256) return undefined;
  const hashedEnd = 6 + ((body[4]! << 8) | body[5]!);
  if (hashedEnd + 2 > body.length) return undefined;
  const left16At = hashedEnd + 2 + ((body[hashedEnd]! << 8) | body[hashedEnd + 1]!);
  const r = mpi32(body, left16At + 2);
  const s = r && mpi32(body, r.next);
  if (s === undefined || s.next !== body.length) return undefined;
  const digest = finishSignatureHash(createHash('sha256').update(document), body.subarray(0, hashedEnd));
  if (body[left16At] !== digest[0] || body[left16At + 1] !== digest[1]) return undefined;
  const rs = Buffer.concat([r!.value, s.value]);
  return keys.find((k) => k.algorithm === body[2] && (k.type === 'ed25519' ? ed25519Verify(k.raw, digest, rs) : p256VerifyDigest(k.raw, digest, derFromRawSignature(rs))));
}

/**
 * The fingerprints of the keys that signed, one per packet, when every packet of an
 * armored signature block is a signature of `type` over `document` by a key of `keys`
 * (at least one packet); undefined otherwise.
 */
function signersOf(armored: string, type: SignatureType, document: Uint8Array, keys: readonly KeyringKey[]): string[] | undefined {
  let packets;
  try {
    const block = dearmor(armored);
    if (block.type !== 'PGP SIGNATURE') return undefined;
    packets = readPackets(block.data);
  } catch {
    return undefined;
  }
  if (packets.length === 0) return undefined;
  const signers: string[] = [];
  for (const p of packets) {
    const key = p.tag === PACKET_TAG.signature ? signerOf(p.body, type, document, keys) : undefined;
    if (key === undefined) return undefined;
    signers.push(key.fingerprint);
  }
  return signers;
}

/** A detached binary signature (Release.gpg, repomd.xml.asc) of `document`: who signed it, or undefined. */
export function detachedSignatureSigners(armored: string, document: Uint8Array, keys: readonly KeyringKey[]): string[] | undefined {
  return signersOf(armored, SIGNATURE_TYPE.binary, document, keys);
}

/**
 * A cleartext message (InRelease) that is exactly `text` signed as airlock writes it:
 * the framing around the text is compared byte for byte, so what a reader of the message
 * sees is `text`, and its signatures verify over it. Who signed it, or undefined.
 */
export function cleartextSigners(message: string, text: string, keys: readonly KeyringKey[]): string[] | undefined {
  const at = message.indexOf('\n-----BEGIN PGP SIGNATURE-----');
  if (at < 0) return undefined;
  const signature = message.slice(at + 1);
  if (cleartextMessage(text, 'SHA256', signature) !== message) return undefined;
  return signersOf(signature, SIGNATURE_TYPE.text, cleartextSignedBytes(text), keys);
}
