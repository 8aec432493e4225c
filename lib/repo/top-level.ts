// The next version of each top-level role, as plain data (TUF §4.3–4.6). Pure: the
// caller signs what comes out. Versions only go up by one, so a client that saw
// version N can always tell N+1 from a replay (TUF §5.4.3, §5.5.5).
import { sha256Hex } from '../core/digest.js';
import type { TufKey } from '../core/tuf-key.js';
import { tufKeyId } from '../core/tuf-key.js';
import {
  SPEC_VERSION,
  type MetaFile,
  type RootSigned,
  type SnapshotSigned,
  type TargetFileInfo,
  type TargetsSigned,
  type TimestampSigned,
  type TopLevelRole,
} from '../core/tuf-metadata.js';

export interface RoleAssignment {
  keys: readonly TufKey[];
  threshold: number;
}

export function buildRoot(opts: { version: number; expires: string; roles: Record<TopLevelRole, RoleAssignment> }): RootSigned {
  const keys: Record<string, TufKey> = {};
  const roles = {} as RootSigned['roles'];
  for (const role of ['root', 'targets', 'snapshot', 'timestamp'] as const) {
    const a = opts.roles[role];
    const keyids = [...new Set(a.keys.map((k) => tufKeyId(k)))].sort();
    for (const k of a.keys) keys[tufKeyId(k)] = k;
    roles[role] = { keyids, threshold: a.threshold };
  }
  return {
    _type: 'root',
    spec_version: SPEC_VERSION,
    version: opts.version,
    expires: opts.expires,
    consistent_snapshot: true,
    keys,
    roles,
  };
}

export function nextTargets(current: TargetsSigned | undefined, additions: Record<string, TargetFileInfo>, expires: string): TargetsSigned {
  const next: TargetsSigned = {
    _type: 'targets',
    spec_version: SPEC_VERSION,
    version: (current?.version ?? 0) + 1,
    expires,
    targets: { ...(current?.targets ?? {}), ...additions },
  };
  if (current?.delegations) next.delegations = current.delegations;
  return next;
}

/** Length and hash of a metadata file as published, so a client bounds its download (§5.5.2). */
export function metaFileFor(version: number, bytes: Uint8Array): MetaFile {
  return { version, length: bytes.length, hashes: { sha256: sha256Hex(bytes) } };
}

export function nextSnapshot(current: SnapshotSigned | undefined, meta: Record<string, MetaFile>, expires: string): SnapshotSigned {
  return {
    _type: 'snapshot',
    spec_version: SPEC_VERSION,
    version: (current?.version ?? 0) + 1,
    expires,
    meta: { ...(current?.meta ?? {}), ...meta },
  };
}

export function nextTimestamp(current: TimestampSigned | undefined, snapshot: MetaFile, expires: string): TimestampSigned {
  return {
    _type: 'timestamp',
    spec_version: SPEC_VERSION,
    version: (current?.version ?? 0) + 1,
    expires,
    meta: { 'snapshot.json': snapshot },
  };
}
