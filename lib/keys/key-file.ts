// The key file format, version 1: one JSON file per key, `<keyId>.key`, specified in
// docs/keys.md ("Key file format"). This module writes and parses it and nothing else:
// it holds no secrets and does no key derivation (see sealed-seed.ts for that).
//
// A record is either `kind: "software"` (the 32-byte private key — an Ed25519 seed or a
// P-256 scalar — sealed under a passphrase: scrypt, RFC 7914, then AES-256-GCM, NIST SP
// 800-38D) or `kind: "pkcs11"` (only a reference to a key inside a token, RFC 7512 URI,
// plus its public key). `keyType` says which kind of key (`ed25519`, `ecdsa-p256`); files
// written before it existed lack it and hold Ed25519 keys. The format tag, version, kind
// and key id come first, so a reader learns what it holds before anything else, and the
// key id is checked against the public key before any cryptography.
import { canonicalBytes } from '../core/canonical-json.js';
import { sha256Hex } from '../core/digest.js';
import { AirlockError } from '../core/errors.js';
import { fromHex, isHex } from '../core/hex.js';
import { isKeyType, isRawPublicKey, PUBLIC_KEY_BYTES, tufKeyFor, type KeyType } from '../core/key-type.js';
import { tufKeyId } from '../core/tuf-key.js';
import { KEY_ROLES, type KeyRole } from './signer.js';

export const KEY_FILE_FORMAT = 'airlock-key';
export const KEY_FILE_VERSION = 1;
/** A key file name: the full key id, so a listing never needs to decrypt anything. */
export const KEY_FILE_PATTERN = /^([0-9a-f]{64})\.key$/;
/** A key file is small; anything larger is not one (read cap before parsing). */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

export type KeyKind = 'software' | 'pkcs11';

export interface ScryptParams {
  name: 'scrypt';
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
  /** 32 random bytes, hex. */
  salt: string;
}

export interface AesGcmBox {
  name: 'aes-256-gcm';
  /** 12 random bytes, hex. */
  nonce: string;
  /** The 32-byte private key (Ed25519 seed or P-256 scalar), encrypted, hex. */
  ciphertext: string;
  /** 16-byte GCM tag, hex. */
  tag: string;
}

interface KeyRecordHead {
  format: typeof KEY_FILE_FORMAT;
  version: typeof KEY_FILE_VERSION;
  kind: KeyKind;
  /** Absent in files from before ECDSA support: those are Ed25519. */
  keyType?: KeyType;
  keyId: string;
  role: KeyRole;
  /** Raw public key, hex: Ed25519's 32 bytes, or P-256's uncompressed point (65 bytes). */
  publicKey: string;
  /** ISO 8601, whole seconds, UTC. */
  createdAt: string;
}

export interface SoftwareKeyRecord extends KeyRecordHead {
  kind: 'software';
  kdf: ScryptParams;
  cipher: AesGcmBox;
  /** HMAC-SHA256 under the second half of the KDF output: tells a wrong passphrase apart. */
  passphraseCheck: string;
}

/** Where a token key lives. Only a reference: the private key never leaves the token. */
export interface Pkcs11Reference {
  /** Path of the PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so). */
  module: string;
  /** RFC 7512 URI naming the token and the key (token=…;object=…;id=…). */
  uri: string;
}

export interface Pkcs11KeyRecord extends KeyRecordHead {
  kind: 'pkcs11';
  token: Pkcs11Reference;
}

export type KeyRecord = SoftwareKeyRecord | Pkcs11KeyRecord;

/** The plain-text checksum field; its name is kept out of KeyRecord so it is never signed into AAD. */
const CHECKSUM_FIELD = 'checksum';

export function keyFileName(keyId: string): string {
  return `${keyId}.key`;
}

/** The kind of key a record holds. */
export function keyTypeOf(record: Pick<KeyRecord, 'keyType'>): KeyType {
  return record.keyType ?? 'ed25519';
}

/** Key id of a public key: the TUF key id (docs/formats.md). */
export function keyIdOf(publicKeyHex: string, type: KeyType = 'ed25519'): string {
  return tufKeyId(tufKeyFor(type, fromHex(publicKeyHex)));
}

/**
 * The associated data the AEAD binds: every field except the sealed box's own bytes and
 * the check value, in canonical JSON. A swapped role, key id, public key, date or KDF
 * parameter therefore fails the GCM tag.
 */
export function associatedData(record: SoftwareKeyRecord): Buffer {
  const { format, version, kind, keyType, keyId, role, publicKey, createdAt, kdf } = record;
  // keyType is bound only when present, so files written before it existed still open.
  return Buffer.from(
    canonicalBytes({ format, version, kind, ...(keyType === undefined ? {} : { keyType }), keyId, role, publicKey, createdAt, kdf, cipher: { name: record.cipher.name } }),
  );
}

/**
 * An unkeyed SHA-256 of the rest of the file. It is not a security control (anyone who
 * can edit the file can recompute it); it catches damage and careless edits before the
 * costly KDF runs, and makes a changed KDF parameter E_KEY_CORRUPT rather than a
 * misleading "wrong passphrase". docs/keys.md lists what it can and cannot tell.
 */
function checksumOf(record: KeyRecord): string {
  return `sha256:${sha256Hex(canonicalBytes(record))}`;
}

/** The bytes of a key file, fields in a fixed order (format, version, kind, key id first). */
export function serializeKeyRecord(record: KeyRecord): Buffer {
  const head = {
    format: record.format,
    version: record.version,
    kind: record.kind,
    ...(record.keyType === undefined ? {} : { keyType: record.keyType }),
    keyId: record.keyId,
    role: record.role,
    publicKey: record.publicKey,
    createdAt: record.createdAt,
  };
  const body =
    record.kind === 'software'
      ? { ...head, kdf: record.kdf, cipher: record.cipher, passphraseCheck: record.passphraseCheck }
      : { ...head, token: record.token };
  return Buffer.from(`${JSON.stringify({ ...body, [CHECKSUM_FIELD]: checksumOf(record) }, null, 2)}\n`, 'utf8');
}

function corrupt(file: string, problems: string[]): AirlockError {
  return new AirlockError(
    'E_KEY_CORRUPT',
    `key file ${file} is damaged or was altered (${problems.join('; ')}); restore it from your backup`,
    { details: { file, problems } },
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(obj: Record<string, unknown>, allowed: readonly string[], where: string, problems: string[]): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) problems.push(`${where}: unexpected field "${k}"`);
}

/**
 * Parses and checks a key file's bytes. Every structural problem, a checksum mismatch,
 * a key id that is not the public key's, or a file name that is not the key id is
 * E_KEY_CORRUPT, listing all problems found.
 */
export function parseKeyRecord(bytes: Uint8Array, file: string, expectedKeyId?: string): KeyRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw corrupt(file, ['not JSON (truncated?)']);
  }
  if (!isRecord(raw)) throw corrupt(file, ['not a JSON object']);
  const problems: string[] = [];
  if (raw.format !== KEY_FILE_FORMAT) throw corrupt(file, [`format is not "${KEY_FILE_FORMAT}"`]);
  if (raw.version !== KEY_FILE_VERSION) {
    throw corrupt(file, [`format version ${String(raw.version)} is not ${KEY_FILE_VERSION} (made by a newer airlock?)`]);
  }
  if (raw.kind !== 'software' && raw.kind !== 'pkcs11') problems.push('kind is neither "software" nor "pkcs11"');
  if (raw.keyType !== undefined && !isKeyType(raw.keyType)) problems.push('keyType is neither "ed25519" nor "ecdsa-p256"');
  const type: KeyType = isKeyType(raw.keyType) ? raw.keyType : 'ed25519';
  const publicBytes = PUBLIC_KEY_BYTES[type];
  const publicOk = isHex(raw.publicKey, publicBytes) && raw.publicKey === raw.publicKey.toLowerCase() && isRawPublicKey(type, fromHex(raw.publicKey));
  if (!publicOk) problems.push(`publicKey is not ${type === 'ed25519' ? 'an Ed25519 key (32 bytes' : 'a P-256 point (65 bytes'} of lower-case hex)`);
  if (!isHex(raw.keyId, 32)) problems.push('keyId is not 32 bytes of hex');
  else if (publicOk && keyIdOf(raw.publicKey as string, type) !== raw.keyId) problems.push('keyId is not the key id of publicKey');
  if (expectedKeyId !== undefined && raw.keyId !== expectedKeyId) problems.push(`file is named for key ${expectedKeyId} but holds ${String(raw.keyId)}`);
  if (typeof raw.role !== 'string' || !(KEY_ROLES as readonly string[]).includes(raw.role)) problems.push('role is not a known role');
  if (typeof raw.createdAt !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(raw.createdAt) || Number.isNaN(Date.parse(raw.createdAt))) {
    problems.push('createdAt is not an ISO 8601 UTC time in whole seconds');
  }
  const head = ['format', 'version', 'kind', 'keyType', 'keyId', 'role', 'publicKey', 'createdAt', CHECKSUM_FIELD];
  if (raw.kind === 'software') {
    onlyKeys(raw, [...head, 'kdf', 'cipher', 'passphraseCheck'], 'file', problems);
    const kdf = raw.kdf;
    if (!isRecord(kdf)) problems.push('kdf is missing');
    else {
      onlyKeys(kdf, ['name', 'N', 'r', 'p', 'salt'], 'kdf', problems);
      if (kdf.name !== 'scrypt') problems.push('kdf.name is not "scrypt"');
      for (const k of ['N', 'r', 'p'] as const) {
        if (!Number.isSafeInteger(kdf[k]) || (kdf[k] as number) < 1) problems.push(`kdf.${k} is not a positive integer`);
      }
      if (!isHex(kdf.salt, 32)) problems.push('kdf.salt is not 32 bytes of hex');
    }
    const cipher = raw.cipher;
    if (!isRecord(cipher)) problems.push('cipher is missing');
    else {
      onlyKeys(cipher, ['name', 'nonce', 'ciphertext', 'tag'], 'cipher', problems);
      if (cipher.name !== 'aes-256-gcm') problems.push('cipher.name is not "aes-256-gcm"');
      if (!isHex(cipher.nonce, 12)) problems.push('cipher.nonce is not 12 bytes of hex');
      if (!isHex(cipher.ciphertext, 32)) problems.push('cipher.ciphertext is not 32 bytes of hex');
      if (!isHex(cipher.tag, 16)) problems.push('cipher.tag is not 16 bytes of hex');
    }
    if (!isHex(raw.passphraseCheck, 32)) problems.push('passphraseCheck is not 32 bytes of hex');
  } else if (raw.kind === 'pkcs11') {
    onlyKeys(raw, [...head, 'token'], 'file', problems);
    const token = raw.token;
    if (!isRecord(token)) problems.push('token is missing');
    else {
      onlyKeys(token, ['module', 'uri'], 'token', problems);
      if (typeof token.module !== 'string' || token.module === '') problems.push('token.module is not a path');
      if (typeof token.uri !== 'string' || !token.uri.startsWith('pkcs11:')) problems.push('token.uri is not a pkcs11: URI');
    }
  }
  if (problems.length > 0) throw corrupt(file, problems);
  const { [CHECKSUM_FIELD]: checksum, ...rest } = raw;
  const record = rest as unknown as KeyRecord;
  if (checksum !== checksumOf(record)) throw corrupt(file, ['checksum does not match the contents']);
  return record;
}
