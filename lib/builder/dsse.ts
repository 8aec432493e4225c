// DSSE envelopes (Dead Simple Signing Envelope, v1.0:
// https://github.com/secure-systems-lab/dsse/blob/master/envelope.md and protocol.md).
// Signatures are over PAE(payloadType, payload) =
//   "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
// with LEN the byte length in ASCII decimal; never over the JSON of the envelope. The
// envelope is serialised as one JSON line (a valid .intoto.jsonl file).
import { sha256Hex } from '../core/digest.js';
import { verifyWithKey, type KeyType } from '../core/key-type.js';
import { AirlockError } from '../core/errors.js';
import type { SignSubject, Signer } from '../keys/signer.js';

/** A provenance envelope is a few KiB; refuse anything wildly bigger before parsing. */
export const DSSE_MAX_BYTES = 4 << 20;

export interface DsseSignature {
  keyid: string;
  sig: string;
}

export interface DsseEnvelope {
  payload: string;
  payloadType: string;
  signatures: DsseSignature[];
}

/** A public key the verifier trusts for this envelope. */
export interface TrustedKey {
  keyId: string;
  /** Ed25519 unless said otherwise. */
  keyType?: KeyType;
  /** Raw public key: Ed25519's 32 bytes, or P-256's uncompressed point (signature DER over SHA-256). */
  publicKey: Uint8Array;
}

/** DSSE v1 pre-authentication encoding. */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'ascii'),
    type,
    Buffer.from(` ${payload.length} `, 'ascii'),
    payload,
  ]);
}

/** Signs a payload into a one-signature envelope. */
export async function signDsse(payloadType: string, payload: Uint8Array, signer: Signer, subject: SignSubject): Promise<DsseEnvelope> {
  const sig = await signer.sign({ purpose: 'dsse', message: pae(payloadType, payload), subject });
  return {
    payload: Buffer.from(payload).toString('base64'),
    payloadType,
    signatures: [{ keyid: signer.keyId, sig: Buffer.from(sig).toString('base64') }],
  };
}

export function serializeDsse(env: DsseEnvelope): Uint8Array {
  return Buffer.from(`${JSON.stringify({ payload: env.payload, payloadType: env.payloadType, signatures: env.signatures })}\n`, 'utf8');
}

/** Standard or URL-safe base64, padded or not (DSSE accepts both); anything else refused. */
function decodeBase64(s: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) return undefined;
  const std = s.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  if (std.length % 4 === 1) return undefined;
  const bytes = Buffer.from(std, 'base64');
  if (bytes.toString('base64').replace(/=+$/, '') !== std) return undefined;
  return new Uint8Array(bytes);
}

function bad(message: string, details?: Record<string, unknown>): AirlockError {
  return new AirlockError('E_PROVENANCE', message, details ? { details } : {});
}

/** Parses envelope bytes into its fields; checks structure only, not signatures. */
export function parseDsse(bytes: Uint8Array): DsseEnvelope {
  if (bytes.length > DSSE_MAX_BYTES) throw bad(`the provenance envelope is larger than ${DSSE_MAX_BYTES} bytes; it is not one airlock wrote`);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new AirlockError('E_PROVENANCE', 'the provenance envelope is not JSON; it is damaged or not a DSSE envelope', { cause: err });
  }
  const problems: string[] = [];
  const o = json as Record<string, unknown>;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('the provenance envelope is not a JSON object');
  if (typeof o.payload !== 'string' || decodeBase64(o.payload) === undefined) problems.push('payload must be base64');
  if (typeof o.payloadType !== 'string' || o.payloadType === '') problems.push('payloadType must be a non-empty string');
  const sigs: DsseSignature[] = [];
  if (!Array.isArray(o.signatures) || o.signatures.length === 0) problems.push('signatures must be a non-empty array');
  else
    o.signatures.forEach((s: unknown, i) => {
      const so = s as Record<string, unknown>;
      if (typeof s !== 'object' || s === null) problems.push(`signatures[${i}] must be an object`);
      else if (typeof so.sig !== 'string' || decodeBase64(so.sig) === undefined) problems.push(`signatures[${i}].sig must be base64`);
      else if (so.keyid !== undefined && typeof so.keyid !== 'string') problems.push(`signatures[${i}].keyid must be a string`);
      else sigs.push({ keyid: (so.keyid as string | undefined) ?? '', sig: so.sig });
    });
  if (problems.length > 0) throw bad(`the provenance envelope is malformed: ${problems.join('; ')}`, { problems });
  return { payload: o.payload as string, payloadType: o.payloadType as string, signatures: sigs };
}

/**
 * Checks that at least `threshold` distinct trusted keys signed the envelope and returns
 * the payload bytes. Key ids are matched before any signature is checked, so a wrong
 * key is reported as such, naming both ids.
 */
export function verifyDsse(env: DsseEnvelope, keys: readonly TrustedKey[], threshold = 1): { payload: Uint8Array; keyIds: string[] } {
  const trusted = new Map(keys.map((k) => [k.keyId, k]));
  const matching = env.signatures.filter((s) => trusted.has(s.keyid));
  if (matching.length === 0) {
    throw bad(`the provenance is signed by key ${env.signatures.map((s) => s.keyid || '(no key id)').join(', ')}, but the trusted key is ${[...trusted.keys()].join(', ')}; it was not signed by this repository's targets key`, {
      signedBy: env.signatures.map((s) => s.keyid),
      trusted: [...trusted.keys()],
    });
  }
  const payload = decodeBase64(env.payload)!;
  const message = pae(env.payloadType, payload);
  const good = new Set<string>();
  for (const s of matching) {
    const key = trusted.get(s.keyid)!;
    if (verifyWithKey(key.keyType ?? 'ed25519', key.publicKey, message, decodeBase64(s.sig)!)) good.add(s.keyid);
  }
  if (good.size < threshold) {
    throw bad(`the provenance signature does not verify (${good.size} of ${threshold} required); the envelope was altered after signing`, {
      valid: good.size,
      threshold,
    });
  }
  return { payload, keyIds: [...good] };
}

/** What the audit log records for a provenance signature. */
export function provenanceSubject(name: string, version: string, payload: Uint8Array): SignSubject {
  return { kind: 'provenance', name, version, sha256: sha256Hex(payload) };
}
