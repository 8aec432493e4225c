// The pgp keys an apt Release needs across a key change, planned from public information:
// the keystore's listing (fingerprints follow from each public key and creation time)
// and the Signed-By of the copy's Releases. The decision itself is
// lib/repo/compat/apt-key-transition.ts; this turns it into keys the session unlocks.
import { join } from 'node:path';
import { AirlockError } from '../core/errors.js';
import type { Signer } from '../keys/signer.js';
import { aptDists } from '../repo/compat/apt-release.js';
import { aptKeyTransition, type AptKeyTransition } from '../repo/compat/apt-key-transition.js';
import { pgpFingerprintOf } from './key-identity.js';
import type { KeyNeed, KeystoreListing } from './plan.js';

export interface PlannedAptKeys extends AptKeyTransition {
  /** Key ids of the co-signing keys, in the order of `cosigners`. */
  cosignerKeyIds: string[];
}

/**
 * The earlier pgp keys that co-sign the apt Release besides `current` (the newest pgp
 * key, already in the plan), as keys to unlock; undefined when the Releases name no
 * other key (no change, or its transition ended).
 */
export function planAptKeys(listing: KeystoreListing, currentKeyId: string, signedBy: readonly string[], retired: readonly string[]): { transition?: PlannedAptKeys; keys: KeyNeed[] } {
  const pgp = listing.keys.filter((k) => k.role === 'pgp').map((k) => ({ info: k, fingerprint: pgpFingerprintOf(k) }));
  const current = pgp.find((k) => k.info.keyId === currentKeyId);
  if (!current) throw new TypeError('the current pgp key is not in the listing');
  const t = aptKeyTransition({ current: current.fingerprint, signedBy, held: pgp.map((k) => k.fingerprint), retired });
  if (t.cosigners.length + t.missing.length + t.retiring.length === 0) return { keys: [] };
  const held = t.cosigners.map((f) => pgp.find((k) => k.fingerprint === f)!.info);
  const keys: KeyNeed[] = held.map((k) => ({ role: 'pgp', keyId: k.keyId, keystore: listing.dir, kind: k.kind, purpose: 'co-signs the apt Release for apt users pinning this earlier key (key change transition)' }));
  return { transition: { ...t, cosignerKeyIds: held.map((k) => k.keyId) }, keys };
}

/** The fingerprints the copy's apt Releases name in Signed-By, every suite (what planAptKeys takes). */
export async function observeAptSignedBy(repoDir: string): Promise<string[]> {
  return [...new Set((await aptDists(join(repoDir, 'apt'))).flatMap((d) => d.signedBy))];
}

/** The session's pgp keys in signing order: the current key, then the co-signers the plan named (in its order). */
export function aptSignersOf(pgp: readonly Signer[], planned: PlannedAptKeys | undefined): Signer[] {
  const ids = planned?.cosignerKeyIds ?? [];
  const current = pgp.find((s) => !ids.includes(s.keyId));
  if (!current) throw new AirlockError('E_KEY_NOT_FOUND', 'no current pgp key was unlocked for this command; airlock key list shows the keys of each keystore');
  return [current, ...ids.map((id) => pgp.find((s) => s.keyId === id)).filter((s): s is Signer => s !== undefined)];
}
