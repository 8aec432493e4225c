// Signing TUF metadata (TUF §4.2): every signature (Ed25519, or DER ECDSA P-256) is over
// the canonical JSON of the `signed` object, made through a Signer so the key's role is
// checked and the signature lands in the audit log. The file is the canonical JSON of the
// whole envelope (control characters escaped, so it stays JSON: see
// canonicalJsonFileBytes), so the same metadata always has the same bytes (and the same
// hashes in snapshot).
import { canonicalBytes, canonicalJsonFileBytes } from '../core/canonical-json.js';
import { sha256Hex } from '../core/digest.js';
import { AirlockError } from '../core/errors.js';
import { toHex } from '../core/hex.js';
import type { Envelope, Signature, Signed } from '../core/tuf-metadata.js';
import type { Signer } from '../keys/signer.js';

/** Signs `signed` with each signer; refuses two signers with one key id (one key, one vote). */
export async function signMetadata<T extends Signed>(signed: T, signers: readonly Signer[], roleName: string = signed._type): Promise<Envelope<T>> {
  const seen = new Set<string>();
  const message = canonicalBytes(signed);
  const signatures: Signature[] = [];
  for (const signer of signers) {
    if (seen.has(signer.keyId)) continue;
    seen.add(signer.keyId);
    const sig = await signer.sign({
      purpose: 'tuf-metadata',
      message,
      subject: { kind: 'metadata', name: `${roleName}.json`, version: signed.version, sha256: sha256Hex(message) },
    });
    signatures.push({ keyid: signer.keyId, sig: toHex(sig) });
  }
  if (signatures.length === 0) {
    throw new AirlockError('E_KEY_NOT_FOUND', `no key to sign ${roleName} metadata with; generate one with \`airlock key generate ${roleName}\``);
  }
  return { signatures, signed };
}

/** Adds signatures to an envelope that may already carry some (root signing ceremonies). */
export async function addSignatures<T extends Signed>(envelope: Envelope<T>, signers: readonly Signer[], roleName: string = envelope.signed._type): Promise<Envelope<T>> {
  const fresh = await signMetadata(envelope.signed, signers, roleName);
  const byKey = new Map(envelope.signatures.map((s) => [s.keyid, s]));
  for (const s of fresh.signatures) byKey.set(s.keyid, s);
  return { signatures: [...byKey.values()].sort((a, b) => (a.keyid < b.keyid ? -1 : 1)), signed: envelope.signed };
}

export function envelopeBytes(envelope: Envelope): Uint8Array {
  return canonicalJsonFileBytes(envelope);
}
