// ECDSA over NIST P-256 (FIPS 186-4 §6, SEC 1 v2 §4.1) as TUF/securesystemslib use it:
// public key as a PEM SubjectPublicKeyInfo (RFC 5480), signature DER
// `SEQUENCE { INTEGER r, INTEGER s }` (RFC 3279 §2.2.3), message hashed with SHA-256.
//
// node:crypto verifies such signatures, but offers no way to check (or make) a signature
// over a digest someone else computed — and OpenPGP (RFC 6637 §4: the signature covers
// the hash of data, hashed fields and trailer, which may stream) needs exactly that. The
// digest verifier below does it in BigInt arithmetic over public values only — never
// for signing: BigInt is not constant-time and its copies cannot be wiped, so a software
// key signs with OpenSSL from the hashed bytes (lib/keys/software-key.ts).
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';

/** Uncompressed SEC 1 point: 0x04 ‖ X ‖ Y, 32 bytes each. */
export const P256_POINT_BYTES = 65;
/** DER of SubjectPublicKeyInfo { id-ecPublicKey, prime256v1 } up to the BIT STRING's bytes. */
const SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

// FIPS 186-4 §D.1.2.3: the curve y² = x³ − 3x + b over GF(p), base point G of order n.
const P256 = Object.freeze({
  p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
  n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  gx: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  gy: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
});

export function isP256Point(raw: Uint8Array): boolean {
  if (raw.length !== P256_POINT_BYTES || raw[0] !== 0x04) return false;
  const x = bigintOf(raw.subarray(1, 33));
  const y = bigintOf(raw.subarray(33));
  const { p, b } = P256;
  if (x >= p || y >= p) return false;
  return mod(y * y - (x * x * x - 3n * x + b), p) === 0n;
}

export function p256PublicKeyObject(raw: Uint8Array): KeyObject {
  if (!isP256Point(raw)) throw new TypeError('a P-256 public key is an uncompressed point on the curve (65 bytes, 0x04 ‖ X ‖ Y)');
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** The uncompressed point out of a node KeyObject (public or private) on P-256. */
export function p256RawPublicKey(key: KeyObject): Uint8Array {
  const der = (key.type === 'public' ? key : createPublicKey(key)).export({ format: 'der', type: 'spki' });
  if (der.length !== SPKI_PREFIX.length + P256_POINT_BYTES || !der.subarray(0, SPKI_PREFIX.length).equals(SPKI_PREFIX)) {
    throw new TypeError('not a P-256 key');
  }
  return new Uint8Array(der.subarray(SPKI_PREFIX.length));
}

/** The point of a PEM SPKI public key, or undefined when it is not a P-256 key. */
export function p256PointFromPem(pem: string): Uint8Array | undefined {
  try {
    return p256RawPublicKey(createPublicKey({ key: pem, format: 'pem' }));
  } catch {
    return undefined;
  }
}

/** SHA-256 then ECDSA (what TUF's `ecdsa-sha2-nistp256` and DSSE mean). Malformed input is false. */
export function p256Verify(publicKey: Uint8Array, message: Uint8Array, derSignature: Uint8Array): boolean {
  try {
    return cryptoVerify('sha256', message, { key: p256PublicKeyObject(publicKey), dsaEncoding: 'der' }, derSignature);
  } catch {
    return false;
  }
}

// ---- DER ⇄ (r, s) -------------------------------------------------------------------

function derInteger(v: bigint): Buffer {
  let hex = v.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.of(0), bytes]);
  return Buffer.concat([Buffer.of(0x02, bytes.length), bytes]);
}

function derSignature(r: bigint, s: bigint): Uint8Array {
  const body = Buffer.concat([derInteger(r), derInteger(s)]);
  return new Uint8Array(Buffer.concat([Buffer.of(0x30, body.length), body]));
}

/** r ‖ s, 32 bytes each (what PKCS#11 CKM_ECDSA returns, IEEE P1363) → DER. */
export function derFromRawSignature(raw: Uint8Array): Uint8Array {
  if (raw.length !== 64) throw new TypeError('a raw P-256 signature is 64 bytes');
  return derSignature(bigintOf(raw.subarray(0, 32)), bigintOf(raw.subarray(32)));
}

/** A strict DER P-256 signature → (r, s) with 0 < r, s < n, or undefined. */
export function parseDerSignature(der: Uint8Array): { r: bigint; s: bigint } | undefined {
  const readInt = (at: number): { v: bigint; next: number } | undefined => {
    if (der[at] !== 0x02) return undefined;
    const len = der[at + 1];
    if (len === undefined || len === 0 || len > 33 || at + 2 + len > der.length) return undefined;
    const bytes = der.subarray(at + 2, at + 2 + len);
    // Minimal encoding: no needless leading zero, never negative.
    if (bytes[0]! & 0x80) return undefined;
    if (len > 1 && bytes[0] === 0 && !(bytes[1]! & 0x80)) return undefined;
    return { v: bigintOf(bytes), next: at + 2 + len };
  };
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) return undefined;
  const r = readInt(2);
  const s = r && readInt(r.next);
  if (!r || !s || s.next !== der.length) return undefined;
  if (r.v <= 0n || r.v >= P256.n || s.v <= 0n || s.v >= P256.n) return undefined;
  return { r: r.v, s: s.v };
}

function bigintOf(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

/** A non-negative integer as exactly `length` big-endian bytes. */
export function bytesOf(v: bigint, length: number): Uint8Array {
  const hex = v.toString(16).padStart(length * 2, '0');
  if (hex.length > length * 2) throw new RangeError('integer too large');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function modInverse(a: bigint, m: bigint): bigint {
  // Fermat: m is prime for both p and n.
  let result = 1n;
  let base = mod(a, m);
  let e = m - 2n;
  while (e > 0n) {
    if (e & 1n) result = (result * base) % m;
    base = (base * base) % m;
    e >>= 1n;
  }
  return result;
}

// ---- verifying a signature over a given digest (public values only) ------------------

/** Jacobian point (X, Y, Z) for y² = x³ − 3x + b; Z = 0 is the point at infinity. */
type Jacobian = readonly [bigint, bigint, bigint];
const INFINITY: Jacobian = [0n, 1n, 0n];

function double([x, y, z]: Jacobian): Jacobian {
  const { p } = P256;
  if (z === 0n || y === 0n) return INFINITY;
  const zz = (z * z) % p;
  const m = mod(3n * (x - zz) * (x + zz), p); // a = −3
  const yy = (y * y) % p;
  const s = (4n * x * yy) % p;
  const x3 = mod(m * m - 2n * s, p);
  const y3 = mod(m * (s - x3) - 8n * yy * yy, p);
  return [x3, y3, (2n * y * z) % p];
}

function add(a: Jacobian, b: Jacobian): Jacobian {
  const { p } = P256;
  if (a[2] === 0n) return b;
  if (b[2] === 0n) return a;
  const z1z1 = (a[2] * a[2]) % p;
  const z2z2 = (b[2] * b[2]) % p;
  const u1 = (a[0] * z2z2) % p;
  const u2 = (b[0] * z1z1) % p;
  const s1 = (a[1] * b[2] * z2z2) % p;
  const s2 = (b[1] * a[2] * z1z1) % p;
  if (u1 === u2) return s1 === s2 ? double(a) : INFINITY;
  const h = mod(u2 - u1, p);
  const r = mod(s2 - s1, p);
  const hh = (h * h) % p;
  const hhh = (h * hh) % p;
  const v = (u1 * hh) % p;
  const x3 = mod(r * r - hhh - 2n * v, p);
  const y3 = mod(r * (v - x3) - s1 * hhh, p);
  return [x3, y3, (a[2] * b[2] * h) % p];
}

/** u1·G + u2·Q (Shamir's trick); never used with secret scalars. */
function doubleMultiply(u1: bigint, u2: bigint, q: Jacobian): Jacobian {
  const g: Jacobian = [P256.gx, P256.gy, 1n];
  const gq = add(g, q);
  let acc = INFINITY;
  for (let i = 255; i >= 0; i--) {
    acc = double(acc);
    const bit1 = (u1 >> BigInt(i)) & 1n;
    const bit2 = (u2 >> BigInt(i)) & 1n;
    if (bit1 && bit2) acc = add(acc, gq);
    else if (bit1) acc = add(acc, g);
    else if (bit2) acc = add(acc, q);
  }
  return acc;
}

/**
 * ECDSA verification (SEC 1 §4.1.4) of a DER signature over a 32-byte digest that is
 * used as is (no further hashing). Malformed input is false, never a throw.
 */
export function p256VerifyDigest(publicKey: Uint8Array, digest: Uint8Array, derSig: Uint8Array): boolean {
  if (digest.length !== 32 || !isP256Point(publicKey)) return false;
  const sig = parseDerSignature(derSig);
  if (!sig) return false;
  const { n, p } = P256;
  const e = bigintOf(digest);
  const w = modInverse(sig.s, n);
  const q: Jacobian = [bigintOf(publicKey.subarray(1, 33)), bigintOf(publicKey.subarray(33)), 1n];
  const [x, , z] = doubleMultiply(mod(e * w, n), mod(sig.r * w, n), q);
  if (z === 0n) return false;
  const zInv = modInverse(z, p);
  const affineX = (x * ((zInv * zInv) % p)) % p;
  return mod(affineX, n) === sig.r;
}
