// The one threshold check (TUF §5.3.4, §5.4.2, §5.5.3, §5.6.3, delegations §5.6.7): which
// keys of a role signed, which did not, and which signatures came from keys the role
// does not list (python-tuf `api/_payload.py` `get_verification_result`). The client
// (lib/verify), the root ceremony and root publish (lib/repo) all count through it.
// Keys count by their public key material, not their id (signature-schemes.ts
// `identity`): one key listed under two ids, or re-encoded, counts once. Key ids are
// taken as the metadata states them and never recomputed.
import { AirlockError } from './errors.js';
import { fromHex, isHex } from './hex.js';
import { verificationKey } from './signature-schemes.js';
import type { TufKey } from './tuf-key.js';

/** Keys and threshold a role's metadata must be signed with. */
export interface RoleVerification {
  /** For messages: "root", "targets", "bins-0a" … */
  role: string;
  keyids: readonly string[];
  threshold: number;
  keys: Readonly<Record<string, TufKey>>;
}

/** What a metadata file's signatures are worth to one role. */
export interface ThresholdResult {
  role: string;
  threshold: number;
  /** Key ids of the role with a valid signature, one per distinct public key, in signature order. */
  signed: string[];
  /** Key ids of the role whose key has no valid signature here (including unusable keys). */
  missing: string[];
  /** Key ids of the role whose key cannot verify anything: unsupported scheme or malformed. */
  unusable: string[];
  /** Key ids of signatures made by keys the role does not list. */
  unlisted: string[];
  /** The threshold is met by distinct keys. */
  verified: boolean;
}

/** The message and signatures of a metadata file. */
export interface SignedMessage {
  signatures: readonly { keyid: string; sig: string }[];
  signedBytes: Uint8Array;
}

export function thresholdResult(metadata: SignedMessage, role: RoleVerification): ThresholdResult {
  const listed = new Set(role.keyids);
  const keyOf = (id: string): TufKey | undefined => (listed.has(id) && Object.hasOwn(role.keys, id) ? role.keys[id] : undefined);
  const counted = new Set<string>();
  const signed: string[] = [];
  const unlisted: string[] = [];
  for (const sig of metadata.signatures) {
    if (!listed.has(sig.keyid)) {
      unlisted.push(sig.keyid);
      continue;
    }
    const key = keyOf(sig.keyid);
    const vk = key === undefined ? undefined : verificationKey(key);
    if (vk === undefined || counted.has(vk.identity) || !isHex(sig.sig)) continue;
    if (vk.verify(metadata.signedBytes, fromHex(sig.sig))) {
      counted.add(vk.identity);
      signed.push(sig.keyid);
    }
  }
  const unusable: string[] = [];
  const missing: string[] = [];
  for (const id of role.keyids) {
    const key = keyOf(id);
    const vk = key === undefined ? undefined : verificationKey(key);
    if (vk === undefined) unusable.push(id);
    // A key listed under a second id has signed when its material has.
    if (vk === undefined || !counted.has(vk.identity)) missing.push(id);
  }
  return { role: role.role, threshold: role.threshold, signed, missing, unusable, unlisted, verified: role.threshold >= 1 && counted.size >= role.threshold };
}

function idList(ids: readonly string[]): string {
  if (ids.length === 0) return 'none';
  return ids.length > 8 ? `${ids.slice(0, 8).join(', ')} and ${ids.length - 8} more` : ids.join(', ');
}

/**
 * Refuses (E_SIG_THRESHOLD) metadata whose valid signatures from distinct keys of the
 * role are fewer than its threshold, naming the keys that signed, those missing and any
 * signature from a key the role does not list. Returns the count when met.
 */
export function verifyThreshold(metadata: SignedMessage, role: RoleVerification, name: string): number {
  const r = thresholdResult(metadata, role);
  if (!r.verified) {
    const unlisted = r.unlisted.length > 0 ? `; signatures from keys the ${role.role} role does not list: ${idList(r.unlisted)}` : '';
    const unusable = r.unusable.length > 0 ? `; keys of an unsupported scheme or malformed: ${idList(r.unusable)}` : '';
    throw new AirlockError(
      'E_SIG_THRESHOLD',
      `${name} has ${r.signed.length} valid signature(s) from ${role.role} keys, ${role.threshold} needed (signed: ${idList(r.signed)}; missing: ${idList(r.missing)}${unusable}${unlisted}); it was not signed by the repository's keys — do not use this host's data`,
      { details: { role: r.role, valid: r.signed.length, threshold: r.threshold, signed: r.signed, missing: r.missing, unusable: r.unusable, unlisted: r.unlisted } },
    );
  }
  return r.signed.length;
}
