// The one Signer the keystore hands out, whatever holds the private key (software seed
// or PKCS#11 token): it refuses a purpose outside the key's role (docs/formats.md "One key, one role, one format"), checks
// each signature against the public key before letting it out (a faulty token or a
// bit flip in memory must not publish a bad or key-leaking signature), and appends the
// audit entry before returning it, so no signature leaves without its entry.
import { createHash } from 'node:crypto';
import { p256VerifyDigest } from '../core/ecdsa-p256.js';
import { tufKeyFor, verifyWithKey, type KeyType } from '../core/key-type.js';
import { AirlockError } from '../core/errors.js';
import { fromHex, toHex } from '../core/hex.js';
import type { TufKey } from '../core/tuf-key.js';
import { assertSignSubject, type AuditLog } from './audit-log.js';
import { keyTypeOf, type KeyRecord } from './key-file.js';
import { ROLE_PURPOSES, type KeyRole, type SignRequest, type Signer } from './signer.js';
import type { KeyHandle } from './software-key.js';

const PAE_PREFIX = Buffer.from('DSSEv1 ', 'ascii');
const OPEN_BRACE = 0x7b;
/** PROTOCOL.sshsig: the signed data of an SSH file signature starts with this preamble. */
const SSHSIG_PREAMBLE = Buffer.from('SSHSIG', 'ascii');

function startsWith(m: Uint8Array, prefix: Buffer): boolean {
  return m.length >= prefix.length && Buffer.from(m.buffer, m.byteOffset, prefix.length).equals(prefix);
}

const DOMAIN_NAMES: Partial<Record<SignRequest['purpose'], string>> = {
  'tuf-metadata': 'canonical JSON metadata',
  dsse: 'a DSSE pre-authentication encoding',
  sshsig: 'SSHSIG signed data',
  ssh: 'an SSH authentication request',
};

/**
 * The purpose a caller names must match the bytes: TUF metadata is canonical JSON (an
 * object, so it starts with "{"), a DSSE signature covers PAE (which starts with
 * "DSSEv1 "). The targets key signs both, and this is what keeps their message spaces
 * apart (docs/formats.md "One key, one role, one format") whatever a caller claims: no PAE is ever signed as metadata, and no
 * JSON document as a DSSE envelope.
 */
function assertMessageDomain(keyId: string, request: SignRequest): void {
  const m = request.message;
  const isSshsig = startsWith(m, SSHSIG_PREAMBLE);
  const ok =
    request.purpose === 'tuf-metadata'
      ? m[0] === OPEN_BRACE
      : request.purpose === 'dsse'
        ? startsWith(m, PAE_PREFIX)
        : request.purpose === 'sshsig'
          ? isSshsig
          : request.purpose === 'ssh'
            ? !isSshsig // an authentication request starts with the session id's length, never "SSHS"
            : true;
  if (!ok) {
    throw new AirlockError(
      'E_KEY_ROLE',
      `key ${keyId.slice(0, 16)} was asked to sign bytes that are not ${DOMAIN_NAMES[request.purpose] ?? request.purpose} as ${request.purpose}; refused, a signature is made only in the format it is named for`,
      { details: { keyId, purpose: request.purpose } },
    );
  }
}

export class AuditedSigner implements Signer {
  readonly role: KeyRole;
  readonly keyId: string;
  readonly tufKey: TufKey;
  readonly keyType: KeyType;
  readonly publicKey: Uint8Array;
  readonly createdAt: Date;
  readonly kind: KeyRecord['kind'];
  #handle: KeyHandle | null;
  readonly #audit: AuditLog;

  constructor(record: KeyRecord, handle: KeyHandle, audit: AuditLog) {
    this.role = record.role;
    this.keyId = record.keyId;
    this.publicKey = fromHex(record.publicKey);
    this.keyType = keyTypeOf(record);
    this.tufKey = tufKeyFor(this.keyType, this.publicKey);
    this.createdAt = new Date(record.createdAt);
    this.kind = record.kind;
    this.#handle = handle;
    this.#audit = audit;
  }

  async sign(request: SignRequest): Promise<Uint8Array> {
    if (this.#handle === null) throw new Error(`signer for key ${this.keyId} used after close()`);
    if (!ROLE_PURPOSES[this.role].includes(request.purpose)) {
      throw new AirlockError(
        'E_KEY_ROLE',
        `key ${this.keyId.slice(0, 16)} is a ${this.role} key and signs only ${ROLE_PURPOSES[this.role].join(', ')}, not ${request.purpose}; use a ${this.role === 'root' ? 'different' : 'matching'} key`,
        { details: { keyId: this.keyId, role: this.role, purpose: request.purpose } },
      );
    }
    if (!(request.message instanceof Uint8Array)) throw new TypeError('SignRequest.message must be bytes');
    assertSignSubject(request.subject);
    assertMessageDomain(this.keyId, request);
    // An ECDSA OpenPGP signature covers the digest as the hash value (see SignRequest.message).
    const prehashed = this.keyType === 'ecdsa-p256' && request.purpose === 'openpgp';
    let signature: Uint8Array;
    if (prehashed) {
      if (this.#handle.signDigest === undefined) throw new Error(`key ${this.keyId} cannot sign a digest`);
      signature = await this.#handle.signDigest(request.message, request.preimage);
    } else {
      signature = await this.#handle.signRaw(request.message);
    }
    const valid = prehashed ? p256VerifyDigest(this.publicKey, request.message, signature) : verifyWithKey(this.keyType, this.publicKey, request.message, signature);
    if (!valid) {
      throw new AirlockError(
        'E_KEY_CORRUPT',
        `key ${this.keyId.slice(0, 16)} made a signature that does not verify under its public key; its file or token is faulty, do not use it`,
        { details: { keyId: this.keyId } },
      );
    }
    await this.#audit.append({
      event: 'sign',
      keyId: this.keyId,
      role: this.role,
      purpose: request.purpose,
      subject: request.subject,
      messageSha256: createHash('sha256').update(request.message).digest('hex'),
      signature: toHex(signature),
    });
    return signature;
  }

  /** Lets go of the private key (software: drops the key object; token: logs out). */
  async close(): Promise<void> {
    const h = this.#handle;
    this.#handle = null;
    await h?.close();
  }
}
