// Rotating an online key (targets, snapshot or timestamp) by root (docs/threat-model.md,
// TUF §6.1): a new root lists the new key in place of the old ones, signed there and
// then by enough root keys, and the role's metadata is re-signed with the new key. From
// the moment a client has the new root, signatures by the old key no longer count — the
// answer to a suspected compromise of that key.
import type { Envelope, RootSigned } from '../core/tuf-metadata.js';
import type { Signer } from '../keys/signer.js';
import { expiresAt, type ExpiryDays } from './expiry.js';
import { LocalRepository } from './local-repository.js';
import type { OnlineRole, RoleSigners } from './transaction.js';
import { assertRootSignersSuffice, proposeRoot, publishRoot, signRootProposal, type RootPublishResult } from './root-ceremony.js';

export interface RotationInput {
  role: OnlineRole;
  /** The freshly generated key that takes the role over. */
  newKey: Signer;
  /** Root keys at hand; at least the root threshold of them. */
  rootSigners: readonly Signer[];
  /**
   * Keys of the online roles, for the metadata re-signed after the rotation. The rotated
   * role's outgoing key, when given, signs the transition too (no refusal window).
   */
  online: RoleSigners;
  now: Date;
  expiryDays: ExpiryDays;
}

export interface RotationResult extends RootPublishResult {
  role: OnlineRole;
  oldKeyIds: string[];
  newKeyId: string;
}

/** The root that rotates `role` to `newKey` alone (threshold 1), with a fresh expiry. */
export function rotationRoot(current: RootSigned, role: OnlineRole, newKey: Signer, now: Date, expiryDays: ExpiryDays): RootSigned {
  return proposeRoot(current, { replace: { [role]: [newKey.tufKey] }, thresholds: { [role]: 1 }, expires: expiresAt('root', now, expiryDays) });
}

/**
 * Checks, before a key is generated, that the root keys at hand can sign a rotation: the
 * root role does not change, so the current root's threshold is the one to meet.
 */
export async function assertCanRotate(repoDir: string, rootSigners: readonly Signer[]): Promise<RootSigned> {
  const root = (await new LocalRepository(repoDir).current()).root.signed;
  assertRootSignersSuffice(root, root, rootSigners);
  return root;
}

export async function rotateKey(repoDir: string, stagingRoot: string, input: RotationInput): Promise<RotationResult> {
  const current = (await new LocalRepository(repoDir).current()).root.signed;
  const proposed = rotationRoot(current, input.role, input.newKey, input.now, input.expiryDays);
  assertRootSignersSuffice(current, proposed, input.rootSigners);
  const unsigned: Envelope<RootSigned> = { signatures: [], signed: proposed };
  const { proposal } = await signRootProposal(current, unsigned, input.rootSigners, input.now);
  const result = await publishRoot(repoDir, stagingRoot, proposal, { ...input.online, [input.role]: [input.newKey, ...(input.online[input.role] ?? [])] }, { now: input.now, expiryDays: input.expiryDays });
  return { ...result, role: input.role, oldKeyIds: current.roles[input.role].keyids, newKeyId: input.newKey.keyId };
}
