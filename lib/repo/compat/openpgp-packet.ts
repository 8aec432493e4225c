// OpenPGP v4 packets for an Ed25519 or ECDSA P-256 key, written by hand because the
// private key never leaves the Signer (a PKCS#11 token may stand behind it), so
// openpgp.js cannot sign.
//
// Specs: RFC 4880 §4.2 (packet headers), §3.2 (MPIs), §5.2.3-§5.2.4 (v4 signatures and
// what they hash), §5.5.2 (v4 public keys), §5.11 (user IDs), §12.2 (fingerprints);
// draft-koch-eddsa-for-openpgp §4-§5 (EdDSA: algorithm 22, curve OID, 0x40 prefix, the
// digest is what Ed25519 signs, R and S as MPIs) — the "legacy" EdDSA that GnuPG 2.2
// reads; RFC 9580's Ed25519 (algorithm 27) and v6 keys it cannot use; RFC 6637 §9, §11
// (ECDSA: algorithm 19, the NIST P-256 OID, the uncompressed point as an MPI, the digest
// is the hash value ECDSA signs, r and s as MPIs).
import { createHash, type Hash } from 'node:crypto';
import { parseDerSignature, bytesOf } from '../../core/ecdsa-p256.js';
import type { KeyType } from '../../core/key-type.js';

export const PACKET_TAG = { signature: 2, publicKey: 6, userId: 13 } as const;
export const PUBKEY_ALGORITHM_EDDSA = 22;
export const PUBKEY_ALGORITHM_ECDSA = 19;
/** RFC 4880 §9.4: SHA-256. One SHA-256 pass over an artifact serves SHA256SUMS too. */
export const HASH_ALGORITHM_SHA256 = 8;
export const HASH_ALGORITHM_SHA512 = 10;
/** 1.3.6.1.4.1.11591.15.1 (Ed25519), DER without tag and length (draft-koch §4). */
const ED25519_OID = Uint8Array.of(0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01);
/** 1.2.840.10045.3.1.7 (NIST P-256), DER without tag and length (RFC 6637 §11). */
const P256_OID = Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07);

/** RFC 4880 §5.2.1 signature types used here. */
export const SIGNATURE_TYPE = { binary: 0x00, text: 0x01, positiveCertification: 0x13 } as const;
export type SignatureType = (typeof SIGNATURE_TYPE)[keyof typeof SIGNATURE_TYPE];

/** RFC 4880 §5.2.3.1 subpacket types. */
const SUBPACKET = {
  creationTime: 2,
  issuer: 16,
  preferredHash: 21,
  primaryUserId: 25,
  keyFlags: 27,
  issuerFingerprint: 33,
} as const;

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function uint32(n: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function uint16(n: number): Uint8Array {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** Seconds since the epoch as OpenPGP stores time (unsigned 32 bit). */
export function pgpTime(date: Date): number {
  const seconds = Math.floor(date.getTime() / 1000);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 0xffffffff) throw new RangeError('time out of OpenPGP range');
  return seconds;
}

/** RFC 4880 §4.2.2: new-format header with a one-, two- or five-octet length. */
export function packet(tag: number, body: Uint8Array): Uint8Array {
  const len = body.length;
  let header: Uint8Array;
  if (len < 192) header = Uint8Array.of(0xc0 | tag, len);
  else if (len < 8384) header = Uint8Array.of(0xc0 | tag, ((len - 192) >> 8) + 192, (len - 192) & 0xff);
  else header = concat([Uint8Array.of(0xc0 | tag, 0xff), uint32(len)]);
  return concat([header, body]);
}

/** RFC 4880 §3.2: bit count, then the big-endian bytes without leading zeros. */
export function mpi(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  const value = bytes.subarray(start);
  const bits = value.length === 0 ? 0 : (value.length - 1) * 8 + (32 - Math.clz32(value[0]!));
  return concat([uint16(bits), value]);
}

/** A v4 EdDSA or ECDSA public key as the packets and hashes need it. */
export interface PgpPublicKey {
  /** RFC 4880 §9.1 public-key algorithm: 22 (EdDSA) or 19 (ECDSA). */
  readonly algorithm: number;
  /** Body of the public key packet (RFC 4880 §5.5.2). */
  readonly body: Uint8Array;
  /** RFC 4880 §12.2: SHA-1 over 0x99, two-octet length, body. */
  readonly fingerprint: Uint8Array;
  /** The low 64 bits of the fingerprint. */
  readonly keyId: Uint8Array;
}

export function pgpPublicKey(rawPublicKey: Uint8Array, createdAt: Date, keyType: KeyType = 'ed25519'): PgpPublicKey {
  let algorithm: number;
  let material: Uint8Array;
  if (keyType === 'ed25519') {
    if (rawPublicKey.length !== 32) throw new TypeError('an Ed25519 public key is 32 bytes');
    algorithm = PUBKEY_ALGORITHM_EDDSA;
    // draft-koch §5: the point is prefixed with 0x40 (native compressed encoding).
    material = concat([Uint8Array.of(ED25519_OID.length), ED25519_OID, mpi(concat([Uint8Array.of(0x40), rawPublicKey]))]);
  } else {
    if (rawPublicKey.length !== 65 || rawPublicKey[0] !== 0x04) throw new TypeError('a P-256 public key is an uncompressed point (65 bytes)');
    algorithm = PUBKEY_ALGORITHM_ECDSA;
    // RFC 6637 §9: curve OID, then the SEC 1 uncompressed point (0x04 ‖ X ‖ Y) as an MPI.
    material = concat([Uint8Array.of(P256_OID.length), P256_OID, mpi(rawPublicKey)]);
  }
  const body = concat([Uint8Array.of(4), uint32(pgpTime(createdAt)), Uint8Array.of(algorithm), material]);
  const fingerprint = new Uint8Array(createHash('sha1').update(keyHashPrefix(body)).digest());
  return { algorithm, body, fingerprint, keyId: fingerprint.subarray(12) };
}

/** What a key contributes to a certification hash (RFC 4880 §5.2.4). */
export function keyHashPrefix(keyBody: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(0x99), uint16(keyBody.length), keyBody]);
}

/** What a user ID contributes to a certification hash (RFC 4880 §5.2.4). */
export function userIdHashPrefix(userId: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(0xb4), uint32(userId.length), userId]);
}

function subpacket(type: number, data: Uint8Array): Uint8Array {
  // RFC 4880 §5.2.3.1: the length counts the type octet; all ours are < 192.
  return concat([Uint8Array.of(data.length + 1, type), data]);
}

export interface SignatureFields {
  type: SignatureType;
  hashAlgorithm: number;
  created: Date;
  key: PgpPublicKey;
}

/**
 * The v4 signature fields that are hashed (RFC 4880 §5.2.3: version through the hashed
 * subpackets). They are fixed before the data is hashed, so a large file is hashed once
 * while it streams. Both issuer subpackets are hashed, so nothing unsigned names the key.
 */
export function signatureHashedPart(fields: SignatureFields): Uint8Array {
  const subpackets = [
    subpacket(SUBPACKET.creationTime, uint32(pgpTime(fields.created))),
    subpacket(SUBPACKET.issuerFingerprint, concat([Uint8Array.of(4), fields.key.fingerprint])),
    subpacket(SUBPACKET.issuer, fields.key.keyId),
  ];
  if (fields.type === SIGNATURE_TYPE.positiveCertification) {
    subpackets.push(
      subpacket(SUBPACKET.keyFlags, Uint8Array.of(0x02)), // sign data, nothing else
      subpacket(SUBPACKET.preferredHash, Uint8Array.of(HASH_ALGORITHM_SHA512, HASH_ALGORITHM_SHA256)),
      subpacket(SUBPACKET.primaryUserId, Uint8Array.of(1)),
    );
  }
  const hashed = concat(subpackets);
  return concat([Uint8Array.of(4, fields.type, fields.key.algorithm, fields.hashAlgorithm), uint16(hashed.length), hashed]);
}

/** RFC 4880 §5.2.4: the v4 trailer that closes the hash. */
export function signatureTrailer(hashedPart: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(4, 0xff), uint32(hashedPart.length)]);
}

/** Feeds the hashed part and trailer into a hash that already holds the data; returns the digest. */
export function finishSignatureHash(hash: Hash, hashedPart: Uint8Array): Uint8Array {
  hash.update(hashedPart);
  hash.update(signatureTrailer(hashedPart));
  return new Uint8Array(hash.digest());
}

/** The algorithm-specific MPIs of a signature (RFC 4880 §5.2.3: after the hash's left 16 bits). */
function signatureMpis(algorithm: number, signature: Uint8Array): Uint8Array[] {
  if (algorithm === PUBKEY_ALGORITHM_EDDSA) {
    if (signature.length !== 64) throw new TypeError('an Ed25519 signature is 64 bytes');
    // draft-koch §5: R and S, each the 32 native octets read as an MPI.
    return [mpi(signature.subarray(0, 32)), mpi(signature.subarray(32))];
  }
  // RFC 6637 §5 (as RFC 4880 §5.2.2 for DSA): r and s as MPIs, from the Signer's DER.
  const rs = parseDerSignature(signature);
  if (rs === undefined) throw new TypeError('not a DER ECDSA P-256 signature');
  return [mpi(bytesOf(rs.r, 32)), mpi(bytesOf(rs.s, 32))];
}

/**
 * The signature packet from its hashed part, the digest and the Signer's signature
 * (Ed25519: R ‖ S; ECDSA: DER), for the algorithm the hashed part names.
 */
export function signaturePacket(hashedPart: Uint8Array, digest: Uint8Array, signature: Uint8Array): Uint8Array {
  const body = concat([
    hashedPart,
    uint16(0), // no unhashed subpackets
    digest.subarray(0, 2),
    ...signatureMpis(hashedPart[2]!, signature),
  ]);
  return packet(PACKET_TAG.signature, body);
}

export function publicKeyPacket(key: PgpPublicKey): Uint8Array {
  return packet(PACKET_TAG.publicKey, key.body);
}

export function userIdPacket(userId: Uint8Array): Uint8Array {
  return packet(PACKET_TAG.userId, userId);
}

export interface ReadPacket {
  tag: number;
  body: Uint8Array;
  /** The whole packet, header included. */
  bytes: Uint8Array;
}

/**
 * Splits packets (RFC 4880 §4.2: old and new formats; partial and indeterminate lengths,
 * which no key or keyring packet uses, are refused). TypeError on a malformed stream.
 */
export function readPackets(data: Uint8Array): ReadPacket[] {
  const out: ReadPacket[] = [];
  let at = 0;
  const byte = (i: number): number => {
    if (i >= data.length) throw new TypeError('truncated OpenPGP packet');
    return data[i]!;
  };
  while (at < data.length) {
    const first = byte(at);
    if ((first & 0x80) === 0) throw new TypeError('not an OpenPGP packet header');
    let tag: number;
    let len: number;
    let header: number;
    if (first & 0x40) {
      tag = first & 0x3f;
      const l0 = byte(at + 1);
      if (l0 < 192) [len, header] = [l0, 2];
      else if (l0 < 224) [len, header] = [((l0 - 192) << 8) + byte(at + 2) + 192, 3];
      else if (l0 === 255) [len, header] = [((byte(at + 2) << 24) >>> 0) + (byte(at + 3) << 16) + (byte(at + 4) << 8) + byte(at + 5), 6];
      else throw new TypeError('partial-length OpenPGP packet');
    } else {
      tag = (first >> 2) & 0x0f;
      const type = first & 3;
      if (type === 0) [len, header] = [byte(at + 1), 2];
      else if (type === 1) [len, header] = [(byte(at + 1) << 8) + byte(at + 2), 3];
      else if (type === 2) [len, header] = [((byte(at + 1) << 24) >>> 0) + (byte(at + 2) << 16) + (byte(at + 3) << 8) + byte(at + 4), 5];
      else throw new TypeError('indeterminate-length OpenPGP packet');
    }
    const end = at + header + len;
    if (end > data.length) throw new TypeError('truncated OpenPGP packet');
    out.push({ tag, body: data.subarray(at + header, end), bytes: data.subarray(at, end) });
    at = end;
  }
  return out;
}

/** The v4 fingerprint of a public-key packet body (§12.2), upper-case hex. */
export function fingerprintOfKeyBody(body: Uint8Array): string {
  return createHash('sha1').update(keyHashPrefix(body)).digest('hex').toUpperCase();
}
