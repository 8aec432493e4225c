// The next version of each top-level role, as plain data (TUF §4.3–4.6). Pure: the
// caller signs what comes out. Versions only go up by one, so a client that saw
// version N can always tell N+1 from a replay (TUF §5.4.3, §5.5.5).
// The builders live with each role's type and parser in lib/core (tuf-root.ts,
// tuf-targets.ts, tuf-snapshot.ts, tuf-timestamp.ts); re-exported for lib/repo callers.
export { buildRoot, metaFileFor, nextSnapshot, nextTargets, nextTimestamp, type RoleAssignment } from '../core/tuf-metadata.js';
