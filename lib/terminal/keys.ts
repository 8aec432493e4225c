// Which keys of a keystore the repository's root trusts for a role. After a rotation a
// keystore may still hold the retired key of a role beside the new one; signing must use
// the one root lists (a signature by the other would be refused by every client), so
// keys are chosen by what root says, never by role name alone.
import { AirlockError } from '../core/errors.js';
import { fromHex, isHex } from '../core/hex.js';
import { isRawPublicKey, tufKeyFor, type KeyType } from '../core/key-type.js';
import type { TufKey } from '../core/tuf-key.js';
import type { RootSigned, TopLevelRole } from '../core/tuf-metadata.js';
import { newestKeyOf, type KeyInfo, type Keystore } from '../keys/keystore.js';
import type { Passphrase } from '../keys/passphrase.js';
import type { Signer } from '../keys/signer.js';

/** The keys in `keystore` that `root` lists for `role` (public information only). */
export async function keysListedBy(keystore: Keystore, root: RootSigned, role: TopLevelRole): Promise<KeyInfo[]> {
  const listed = new Set(root.roles[role].keyids);
  return (await keystore.list()).filter((k) => k.role === role && listed.has(k.keyId));
}

/** Unlocks each key; if one fails (wrong passphrase …), those already unlocked are closed. */
export async function unlockKeys(keystore: Keystore, keys: readonly KeyInfo[], passphrase: Passphrase): Promise<Signer[]> {
  const out: Signer[] = [];
  try {
    for (const k of keys) out.push(await keystore.unlock(k.keyId, passphrase));
  } catch (err) {
    await closeSigners(out);
    throw err;
  }
  return out;
}

/** Unlocks the keys of `keystore` that `root` lists for `role`. */
export async function unlockListed(keystore: Keystore, root: RootSigned, role: TopLevelRole, passphrase: Passphrase): Promise<Signer[]> {
  return unlockKeys(keystore, await keysListedBy(keystore, root, role), passphrase);
}

/** Unlocks the key in use of a role root does not govern (lib/keys newestKeyOf). */
export async function unlockNewest(keystore: Keystore, role: 'pgp' | 'minisign' | 'ssh' | 'publish', passphrase: Passphrase): Promise<Signer | undefined> {
  const newest = newestKeyOf(await keystore.list(), role);
  return newest ? keystore.unlock(newest.keyId, passphrase) : undefined;
}

/** The publish key SFTP hosts need (E_KEY_NOT_FOUND without one). */
export async function unlockPublishKey(keystore: Keystore, passphrase: Passphrase): Promise<Signer> {
  const s = await unlockNewest(keystore, 'publish', passphrase);
  if (!s) throw new AirlockError('E_KEY_NOT_FOUND', `${keystore.dir} has no publish key for SFTP hosts; run \`airlock key generate publish\` and install it on the host (airlock host add prints the line)`);
  return s;
}

/** Lets go of private keys (software keys are dropped, tokens logged out). */
export async function closeSigners(signers: readonly Signer[]): Promise<void> {
  for (const s of signers) await s.close().catch(() => undefined);
}

/**
 * A TUF key from a public key in hex, as `airlock key list` prints it: 64 digits are an
 * Ed25519 key, 130 (04 ‖ X ‖ Y) a P-256 point.
 */
export function tufKeyFromHex(hex: string, keyType?: KeyType): TufKey {
  const type: KeyType | undefined = keyType ?? (isHex(hex, 32) ? 'ed25519' : isHex(hex, 65) ? 'ecdsa-p256' : undefined);
  if (type === undefined || !isHex(hex) || !isRawPublicKey(type, fromHex(hex))) {
    throw new AirlockError('E_ROOT_PROPOSAL', `"${hex}" is not a public key (64 hex digits for Ed25519, 130 for ECDSA P-256: the "public key" line of \`airlock key list\`)`);
  }
  return tufKeyFor(type, fromHex(hex.toLowerCase()));
}
