// The trusted metadata of one update, and the only code that decides what becomes
// trusted (python-tuf `ngclient/_internal/trusted_metadata_set.py`, tuf-js `store.ts`).
// Built from trusted root bytes with the reference time fixed at construction (TUF
// §5.1); changed only by the specification's steps, in its order: updateRoot (§5.3),
// updateTimestamp (§5.4), updateSnapshot (§5.5), updateTargets / updateDelegatedTargets
// (§5.6); read through getters. Pure: bytes in, decisions out — no I/O.
//
// Two kinds of failure are kept apart: calling a step out of order is a programming
// error (a plain Error), while anything the repository can cause is an AirlockError
// with a stable code. A refused file never changes the set.
import { AirlockError } from '../core/errors.js';
import {
  isExpired,
  metadataFileName,
  parseMetadata,
  topLevelRoleVerification,
  verifyThreshold,
  type MetaFile,
  type ParsedMetadata,
  type RoleVerification,
  type RootSigned,
  type SnapshotSigned,
  type TargetsSigned,
  type TimestampSigned,
} from '../core/tuf-metadata.js';
import { delegatedRoleVerification } from './delegations.js';
import { checkBytes } from './target-check.js';

/**
 * Where bytes come from. Metadata read back from the client's own state was verified
 * when it was stored: its hashes against the (older) listing are not checked again,
 * and its version and expiry are only checked when it is used as the final one, so
 * that an old file can still serve as the floor for rollback checks (python-tuf
 * `trusted=True`).
 */
export type Origin = 'remote' | 'state';

// --- the steps, named as in the specification ------------------------------------------

// TUF §5.3.4: check for an arbitrary software attack — N+1 must be signed by a threshold
// of the trusted root's keys and by a threshold of its own.
function checkRootSignedByOldAndNewKeys(trusted: RootSigned, candidate: ParsedMetadata<RootSigned>, name: string): void {
  verifyThreshold(candidate, topLevelRoleVerification(trusted, 'root'), `${name} (checked with the keys of root version ${trusted.version})`);
  verifyThreshold(candidate, topLevelRoleVerification(candidate.signed, 'root'), `${name} (checked with its own keys)`);
}

// TUF §5.3.5: check for a rollback attack — the new root's version must be exactly N+1.
function checkRootRollback(trusted: RootSigned, candidate: RootSigned, name: string): void {
  if (candidate.version <= trusted.version) {
    throw new AirlockError('E_ROLLBACK', `${name} has version ${candidate.version}, not newer than trusted root version ${trusted.version} (rollback); do not use this host's data`, {
      details: { trusted: trusted.version, offered: candidate.version },
    });
  }
  if (candidate.version !== trusted.version + 1) {
    throw new AirlockError('E_VERSION_MISMATCH', `${name} has version ${candidate.version}, expected ${trusted.version + 1}; the host's root files are inconsistent`, {
      details: { expected: trusted.version + 1, offered: candidate.version },
    });
  }
}

function expired(role: string, signed: { version: number; expires: string }): AirlockError {
  return new AirlockError(
    'E_EXPIRED',
    `${role} metadata version ${signed.version} expired at ${signed.expires} (a freeze attack, or the publisher has not re-signed); do not trust this host's data until it serves current metadata`,
    { details: { role, version: signed.version, expires: signed.expires } },
  );
}

// TUF §5.3.10: check for a freeze attack — the final root must not have expired.
function checkFinalRootFreeze(root: RootSigned, referenceTime: Date): void {
  if (isExpired(root, referenceTime)) throw expired('root', root);
}

// TUF §5.4.3: check for a rollback attack — the timestamp's version and the snapshot
// version it lists must not go back. Returns false for the same version (§5.4.3.1:
// nothing new; keep the trusted one, no error).
function checkTimestampRollback(trusted: TimestampSigned | undefined, candidate: TimestampSigned): boolean {
  if (trusted === undefined) return true;
  if (candidate.version < trusted.version) {
    throw new AirlockError('E_ROLLBACK', `timestamp.json has version ${candidate.version}, older than trusted version ${trusted.version} (rollback); do not use this host's data`, {
      details: { role: 'timestamp', trusted: trusted.version, offered: candidate.version },
    });
  }
  if (candidate.version === trusted.version) return false;
  const had = trusted.meta['snapshot.json'].version;
  const now = candidate.meta['snapshot.json'].version;
  if (now < had) {
    throw new AirlockError('E_ROLLBACK', `timestamp.json lists snapshot version ${now}, older than trusted version ${had} (rollback); do not use this host's data`, {
      details: { role: 'snapshot', trusted: had, offered: now },
    });
  }
  return true;
}

// TUF §5.4.4 / §5.5.6 / §5.6.5: check for a freeze attack.
function checkFreeze(role: string, signed: { version: number; expires: string }, referenceTime: Date): void {
  if (isExpired(signed, referenceTime)) throw expired(role, signed);
}

// TUF §5.5.2 / §5.6.2: check against the hashes (and length) the trusted listing gives.
function checkAgainstListing(listing: MetaFile, bytes: Uint8Array, name: string): void {
  checkBytes(listing, bytes, name);
}

// TUF §5.5.4 / §5.6.4: the version signed inside must be the one the listing names.
function checkListedVersion(listing: MetaFile, signed: { version: number }, name: string, listedBy: string): void {
  if (signed.version !== listing.version) {
    throw new AirlockError('E_VERSION_MISMATCH', `${name} has version ${signed.version}, but ${listedBy} lists version ${listing.version} (mix-and-match); do not use this host's data`, {
      details: { expected: listing.version, offered: signed.version },
    });
  }
}

// TUF §5.5.5: check for a rollback attack — every targets file the trusted snapshot
// lists must still be listed, at the same or a newer version.
function checkSnapshotRollback(trusted: SnapshotSigned | undefined, candidate: SnapshotSigned): void {
  if (trusted === undefined) return;
  for (const [file, info] of Object.entries(trusted.meta)) {
    const now = Object.hasOwn(candidate.meta, file) ? candidate.meta[file] : undefined;
    if (now === undefined) {
      throw new AirlockError('E_ROLLBACK', `the new snapshot no longer lists ${file}, which the trusted snapshot listed (rollback); do not use this host's data`, {
        details: { file },
      });
    }
    if (now.version < info.version) {
      throw new AirlockError('E_ROLLBACK', `the new snapshot lists ${file} at version ${now.version}, older than trusted version ${info.version} (rollback); do not use this host's data`, {
        details: { file, trusted: info.version, offered: now.version },
      });
    }
  }
}

// --- the set ---------------------------------------------------------------------------

export class TrustedMetadataSet {
  /** TUF §5.1: the fixed update start time; every expiry is judged against it. */
  readonly referenceTime: Date;
  #root: ParsedMetadata<RootSigned>;
  #timestamp: ParsedMetadata<TimestampSigned> | undefined;
  #snapshot: ParsedMetadata<SnapshotSigned> | undefined;
  readonly #targets = new Map<string, ParsedMetadata<TargetsSigned>>();
  /** For each trusted targets role, the delegators whose keys it has been checked against. */
  readonly #delegatedBy = new Map<string, Set<string>>();

  /**
   * TUF §5.2: load the trusted root. It must be signed by a threshold of its own root
   * keys; its expiry does not matter yet (§5.3.10 checks the final root).
   */
  constructor(trustedRoot: Uint8Array, referenceTime: Date = new Date()) {
    this.referenceTime = new Date(referenceTime.getTime());
    const root = parseMetadata(trustedRoot, 'root', 'the trusted root');
    verifyThreshold(root, topLevelRoleVerification(root.signed, 'root'), 'the trusted root');
    this.#root = root;
  }

  get root(): RootSigned {
    return this.#root.signed;
  }
  get timestamp(): TimestampSigned | undefined {
    return this.#timestamp?.signed;
  }
  get snapshot(): SnapshotSigned | undefined {
    return this.#snapshot?.signed;
  }
  get targets(): TargetsSigned | undefined {
    return this.#targets.get('targets')?.signed;
  }
  /** Names of the targets roles trusted so far, in the order they were loaded. */
  loadedTargetsRoles(): string[] {
    return [...this.#targets.keys()];
  }
  /** A trusted targets role by name ("targets" or a delegated role). */
  getTargets(role: string): TargetsSigned | undefined {
    return this.#targets.get(role)?.signed;
  }

  /**
   * TUF §5.3.3–5.3.7: accept version N+1 of the root. Must come before the timestamp.
   * (§5.3.8 persisting is the caller's; §5.3.10–5.3.12 run when the timestamp is loaded.)
   */
  updateRoot(bytes: Uint8Array): RootSigned {
    if (this.#timestamp !== undefined) throw new Error('updateRoot: the root cannot change after the timestamp is loaded');
    const name = metadataFileName('root', this.#root.signed.version + 1);
    const candidate = parseMetadata(bytes, 'root', name);
    // TUF §5.3.4: check for an arbitrary software attack.
    checkRootSignedByOldAndNewKeys(this.#root.signed, candidate, name);
    // TUF §5.3.5: check for a rollback attack.
    checkRootRollback(this.#root.signed, candidate.signed, name);
    // TUF §5.3.6: the new root's expiry does not matter yet; §5.3.10 checks the final one.
    // TUF §5.3.7: set the trusted root metadata file to the new one.
    this.#root = candidate;
    return candidate.signed;
  }

  /**
   * TUF §5.4: accept a timestamp. Returns false when it has the trusted version
   * (§5.4.3.1: nothing has changed; the trusted one stays). The first call fixes the
   * root (§5.3.10 final root freeze check).
   */
  updateTimestamp(bytes: Uint8Array, origin: Origin = 'remote'): boolean {
    if (this.#snapshot !== undefined) throw new Error('updateTimestamp: the timestamp cannot change after the snapshot is loaded');
    // TUF §5.3.10: check for a freeze attack on the final root.
    checkFinalRootFreeze(this.#root.signed, this.referenceTime);
    // TUF §5.3.11: no trusted timestamp or snapshot can be loaded before this point, so a
    // rotated timestamp/snapshot key simply makes the stored ones fail §5.4.2 / §5.5.3
    // (the updater then drops them from its state).
    // TUF §5.4.1: downloading (capped at the timestamp byte limit) is the caller's.
    const candidate = parseMetadata(bytes, 'timestamp');
    // TUF §5.4.2: check for an arbitrary software attack.
    verifyThreshold(candidate, topLevelRoleVerification(this.#root.signed, 'timestamp'), metadataFileName('timestamp'));
    // TUF §5.4.3: check for a rollback attack.
    if (!checkTimestampRollback(this.#timestamp?.signed, candidate.signed)) {
      // §5.4.3.1: the same version — nothing new, keep the trusted one. When that one has
      // expired, this source has nothing current to offer: refuse it (TUF §5.4.4), so
      // that the next mirror is asked rather than one stale mirror freezing a client
      // that also lists a good one.
      if (origin === 'remote') checkFreeze('timestamp', this.#timestamp!.signed, this.referenceTime);
      return false;
    }
    // TUF §5.4.4: check for a freeze attack. A timestamp from state may have expired: it
    // still guards against rollback, and updateSnapshot refuses it as the final one.
    if (origin === 'remote') checkFreeze('timestamp', candidate.signed, this.referenceTime);
    this.#timestamp = candidate;
    return true;
  }

  /** TUF §5.5: accept a snapshot, against the trusted timestamp's listing of it. */
  updateSnapshot(bytes: Uint8Array, origin: Origin = 'remote'): void {
    if (this.#timestamp === undefined) throw new Error('updateSnapshot: load the timestamp first');
    if (this.#targets.size > 0) throw new Error('updateSnapshot: the snapshot cannot change after targets are loaded');
    const timestamp = this.#timestamp.signed;
    // TUF §5.4.4: the timestamp in use must not have expired (it may have come from state).
    checkFreeze('timestamp', timestamp, this.referenceTime);
    const listing = timestamp.meta['snapshot.json'];
    const name = metadataFileName('snapshot', listing.version);
    // TUF §5.5.2: check against the timestamp role's snapshot hashes and length.
    if (origin === 'remote') checkAgainstListing(listing, bytes, name);
    const candidate = parseMetadata(bytes, 'snapshot', name);
    // TUF §5.5.3: check for an arbitrary software attack.
    verifyThreshold(candidate, topLevelRoleVerification(this.#root.signed, 'snapshot'), name);
    // TUF §5.5.4: check against the timestamp role's snapshot version (for a snapshot
    // from state, deferred to checkFinalSnapshot: an older one is still a rollback floor).
    if (origin === 'remote') checkListedVersion(listing, candidate.signed, name, 'timestamp.json');
    // TUF §5.5.5: check for a rollback attack.
    checkSnapshotRollback(this.#snapshot?.signed, candidate.signed);
    // TUF §5.5.6: check for a freeze attack (for state, deferred to checkFinalSnapshot).
    if (origin === 'remote') checkFreeze('snapshot', candidate.signed, this.referenceTime);
    this.#snapshot = candidate;
  }

  /** True when the trusted snapshot is the one the timestamp lists and current (§5.5.4, §5.5.6). */
  hasFinalSnapshot(): boolean {
    try {
      this.#checkFinalSnapshot();
      return true;
    } catch {
      return false;
    }
  }

  #checkFinalSnapshot(): SnapshotSigned {
    if (this.#snapshot === undefined || this.#timestamp === undefined) throw new Error('load the snapshot first');
    const snapshot = this.#snapshot.signed;
    // TUF §5.5.4 and §5.5.6, for a snapshot that came from state.
    checkListedVersion(this.#timestamp.signed.meta['snapshot.json'], snapshot, 'the trusted snapshot', 'timestamp.json');
    checkFreeze('snapshot', snapshot, this.referenceTime);
    return snapshot;
  }

  /** TUF §5.6: accept the top-level targets, signed by the root's targets keys. */
  updateTargets(bytes: Uint8Array, origin: Origin = 'remote'): TargetsSigned {
    return this.updateDelegatedTargets(bytes, 'targets', 'root', origin);
  }

  /**
   * TUF §5.6 for any targets role: `delegator` is "root" for the top-level targets, or
   * the trusted targets role that delegates to `role`.
   */
  updateDelegatedTargets(bytes: Uint8Array, role: string, delegator: string, origin: Origin = 'remote'): TargetsSigned {
    if (this.#snapshot === undefined) throw new Error('updateDelegatedTargets: load the snapshot first');
    if (this.#targets.has(role)) throw new Error(`updateDelegatedTargets: ${role} is already trusted`);
    const snapshot = this.#checkFinalSnapshot();
    const verification = this.#delegation(role, delegator);
    const file = metadataFileName(role);
    const listing = Object.hasOwn(snapshot.meta, file) ? snapshot.meta[file] : undefined;
    if (listing === undefined) {
      throw new AirlockError('E_METADATA_INVALID', `the snapshot does not list ${file}; the repository is inconsistent, tell the publisher`, { details: { role } });
    }
    const name = metadataFileName(role, listing.version);
    // TUF §5.6.1: downloading (capped at the listed length) is the caller's.
    // TUF §5.6.2: check against the snapshot role's targets hashes and length.
    if (origin === 'remote') checkAgainstListing(listing, bytes, name);
    const candidate = parseMetadata(bytes, 'targets', name);
    // TUF §5.6.3: check for an arbitrary software attack (delegator's keys for the role).
    verifyThreshold(candidate, verification, name);
    // TUF §5.6.4: check against the snapshot role's targets version.
    checkListedVersion(listing, candidate.signed, name, 'the snapshot');
    // TUF §5.6.5: check for a freeze attack.
    checkFreeze(role, candidate.signed, this.referenceTime);
    this.#targets.set(role, candidate);
    this.#delegatedBy.set(role, new Set([delegator]));
    return candidate.signed;
  }

  /**
   * TUF §5.6.3 for a role that is already trusted, reached again through another
   * delegator (two roles may delegate to the same name, each with its own keys): the
   * one file must meet this delegator's keys and threshold too. Otherwise a role trusted
   * through one delegation — say, by a key that delegator only trusts for `a/*` — would
   * be believed for paths that only the other delegator's keys may sign.
   */
  checkDelegatedBy(role: string, delegator: string): TargetsSigned {
    const trusted = this.#targets.get(role);
    if (trusted === undefined) throw new Error(`checkDelegatedBy: ${role} is not trusted yet`);
    const checked = this.#delegatedBy.get(role)!;
    if (!checked.has(delegator)) {
      const listing = this.#checkFinalSnapshot().meta[metadataFileName(role)]!;
      verifyThreshold(trusted, this.#delegation(role, delegator), `${metadataFileName(role, listing.version)} (as delegated by ${delegator})`);
      checked.add(delegator);
    }
    return trusted.signed;
  }

  #delegation(role: string, delegator: string): RoleVerification {
    if (delegator === 'root') {
      if (role !== 'targets') throw new Error(`root delegates only the top-level targets, not ${role}`);
      return topLevelRoleVerification(this.#root.signed, 'targets');
    }
    const parent = this.#targets.get(delegator);
    if (parent === undefined) throw new Error(`updateDelegatedTargets: ${delegator} is not trusted yet`);
    const v = parent.signed.delegations === undefined ? undefined : delegatedRoleVerification(parent.signed.delegations, role);
    if (v === undefined) {
      throw new AirlockError('E_DELEGATION', `${delegator} does not delegate to ${role}; the repository is inconsistent`, { details: { role, delegator } });
    }
    return v;
  }
}
