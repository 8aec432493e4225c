// Re-signing the online roles (targets, snapshot, timestamp) without adding anything:
// after their expiry comes near (airlock refresh) or after root changed their keys
// (root publish, key rotate). A new version of a role is always followed by new
// versions of the roles that point at it (targets → snapshot → timestamp, TUF §5.4–5.6),
// so a client walking the chain from timestamp meets only metadata it can verify.
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { AirlockError } from '../core/errors.js';
import { metadataFileName, type Envelope, type MetaFile, type RootSigned, type SnapshotSigned, type TargetsSigned, type TimestampSigned } from '../core/tuf-metadata.js';
import type { Signer } from '../keys/signer.js';
import { expiresAt, type ExpiryDays } from './expiry.js';
import { allBinNames, layoutOf, succinctDelegations } from './hash-bins.js';
import { commitStaged, type CurrentMetadata, type LocalRepository } from './local-repository.js';
import { envelopeBytes, signMetadata } from './sign-metadata.js';
import { metaFileFor, nextSnapshot, nextTargets, nextTimestamp } from './top-level.js';

export type OnlineRole = 'targets' | 'snapshot' | 'timestamp';
export const ONLINE_ROLES: readonly OnlineRole[] = ['targets', 'snapshot', 'timestamp'];

/** Keys that may sign each online role; only those the governing root lists are used. */
export type OnlineSigners = Partial<Record<OnlineRole, readonly Signer[]>>;

export interface StagedFile {
  /** Posix path in the host tree, e.g. `metadata/7.snapshot.json`. */
  path: string;
  bytes: Uint8Array;
}

export interface Resigned {
  files: StagedFile[];
  /** New version of each role that was re-signed. */
  versions: Partial<Record<OnlineRole, number>>;
  /** The metadata as it will be after the commit. */
  next: { targets: Envelope<TargetsSigned>; snapshot: Envelope<SnapshotSigned>; timestamp: Envelope<TimestampSigned> };
}

/** The roles a change to `roles` forces to be re-signed too, in signing order. */
export function withDependents(roles: Iterable<OnlineRole>): OnlineRole[] {
  const set = new Set(roles);
  if (set.has('targets')) set.add('snapshot');
  if (set.has('snapshot')) set.add('timestamp');
  return ONLINE_ROLES.filter((r) => set.has(r));
}

/**
 * The signers of `role` that `root` lists, at least its threshold of them; otherwise
 * E_KEY_NOT_FOUND naming the keys root wants, so the user knows which keystore to bring.
 */
export function listedSigners(root: RootSigned, role: OnlineRole, signers: readonly Signer[] | undefined): Signer[] {
  const { keyids, threshold } = root.roles[role];
  const seen = new Set<string>();
  const usable = (signers ?? []).filter((s) => keyids.includes(s.keyId) && !seen.has(s.keyId) && seen.add(s.keyId));
  if (usable.length < threshold) {
    throw new AirlockError(
      'E_KEY_NOT_FOUND',
      `re-signing ${role} needs ${threshold} of the ${role} keys root v${root.version} lists (${keyids.map((k) => k.slice(0, 12)).join(', ')}), and only ${usable.length} were given; use the keystore that holds them (airlock key list)`,
      { details: { role, needed: threshold, given: usable.length, keyids } },
    );
  }
  return usable;
}

/**
 * New, signed versions of `roles` and of the roles that depend on them, with fresh
 * expiry, under the keys `root` assigns. Pure apart from the signing: nothing is written.
 */
export async function resignOnline(
  current: Pick<CurrentMetadata, 'targets' | 'snapshot' | 'timestamp'>,
  root: RootSigned,
  roles: Iterable<OnlineRole>,
  signers: OnlineSigners,
  options: { now: Date; expiryDays: ExpiryDays; readBin?: LocalRepository['readDelegated'] },
): Promise<Resigned> {
  const order = withDependents(roles);
  // Every key is checked before the first signature, so a missing key costs nothing.
  const chosen = Object.fromEntries(order.map((r) => [r, listedSigners(root, r, signers[r])])) as Record<OnlineRole, Signer[]>;
  const { now, expiryDays } = options;
  const files: StagedFile[] = [];
  const versions: Resigned['versions'] = {};
  let { targets, snapshot, timestamp } = current;

  let targetsBytes: Uint8Array | undefined;
  let snapshotBytes: Uint8Array | undefined;

  const binMeta: Record<string, MetaFile> = {};
  if (order.includes('targets')) {
    const expires = expiresAt('targets', now, expiryDays);
    const next = nextTargets(targets.signed, {}, expires);
    const layout = layoutOf(targets.signed.delegations);
    if (layout) {
      // Hash bins are signed by the targets keys: they follow a rotation (the delegation
      // names the keys root now lists) and get the same fresh expiry as targets.
      if (!options.readBin) throw new Error('resignOnline: a repository with hash bins needs options.readBin');
      next.delegations = succinctDelegations(layout, chosen.targets.map((s) => s.tufKey), root.roles.targets.threshold);
      for (const bin of allBinNames(layout)) {
        const prior = await options.readBin(snapshot.signed, bin);
        if (!prior) throw new AirlockError('E_METADATA_INVALID', `snapshot lists no ${bin}.json; the repository copy is damaged — restore it`);
        const env = await signMetadata(nextTargets(prior.signed, {}, expires), chosen.targets, bin);
        const bytes = envelopeBytes(env);
        files.push({ path: `metadata/${metadataFileName(bin, env.signed.version)}`, bytes });
        binMeta[metadataFileName(bin)] = metaFileFor(env.signed.version, bytes);
      }
    }
    targets = await signMetadata(next, chosen.targets);
    targetsBytes = envelopeBytes(targets);
    files.push({ path: `metadata/${metadataFileName('targets', targets.signed.version)}`, bytes: targetsBytes });
    versions.targets = targets.signed.version;
  }
  if (order.includes('snapshot')) {
    const meta: Record<string, MetaFile> = targetsBytes ? { ...binMeta, 'targets.json': metaFileFor(targets.signed.version, targetsBytes) } : {};
    snapshot = await signMetadata(nextSnapshot(snapshot.signed, meta, expiresAt('snapshot', now, expiryDays)), chosen.snapshot);
    snapshotBytes = envelopeBytes(snapshot);
    files.push({ path: `metadata/${metadataFileName('snapshot', snapshot.signed.version)}`, bytes: snapshotBytes });
    versions.snapshot = snapshot.signed.version;
  }
  if (order.includes('timestamp')) {
    const snapshotMeta = snapshotBytes ? metaFileFor(snapshot.signed.version, snapshotBytes) : timestamp.signed.meta['snapshot.json'];
    timestamp = await signMetadata(nextTimestamp(timestamp.signed, snapshotMeta, expiresAt('timestamp', now, expiryDays)), chosen.timestamp);
    files.push({ path: 'metadata/timestamp.json', bytes: envelopeBytes(timestamp) });
    versions.timestamp = timestamp.signed.version;
  }
  return { files, versions, next: { targets, snapshot, timestamp } };
}

/**
 * Writes `files` into a fresh staging directory and moves them into the repository in
 * publishing order (commitStaged): the repository copy never shows half a change.
 */
export async function commitFiles(repoDir: string, stagingRoot: string, label: string, files: readonly StagedFile[]): Promise<string[]> {
  const staging = join(stagingRoot, `${label}-${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(staging, { recursive: true });
    for (const f of files) await writeFileAtomic(join(staging, ...f.path.split('/')), f.bytes);
    return await commitStaged(staging, repoDir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
