// Snapshot metadata (TUF specification §4.5 "snapshot.json"): type, parser, builder.
import { checkCommon, checkMetaFile, COMMON_FIELDS, copyUnrecognised, isPlainObject, nullProto, own, SPEC_VERSION, type MetaFile, type Problems, type SignedCommon } from './tuf-common.js';

export interface SnapshotSigned extends SignedCommon {
  _type: 'snapshot';
  meta: Record<string, MetaFile>;
}

export function snapshotFromJSON(p: Problems, s: Record<string, unknown>): SnapshotSigned {
  const common = checkCommon(p, s, 'snapshot');
  const meta = own(s, 'meta');
  const out: SnapshotSigned = { _type: 'snapshot', ...common, meta: nullProto<MetaFile>() };
  if (!isPlainObject(meta)) p.add('signed.meta', 'expected an object of metadata file name to metafile');
  else for (const [name, m] of Object.entries(meta)) out.meta[name] = checkMetaFile(p, `signed.meta.${name}`, m);
  copyUnrecognised(s, out, [...COMMON_FIELDS, 'meta']);
  return out;
}

/** The next snapshot: version + 1, `meta` merged over the current one (TUF §5.5.5 rollback). */
export function nextSnapshot(current: SnapshotSigned | undefined, meta: Record<string, MetaFile>, expires: string): SnapshotSigned {
  return {
    _type: 'snapshot',
    spec_version: SPEC_VERSION,
    version: (current?.version ?? 0) + 1,
    expires,
    meta: { ...(current?.meta ?? {}), ...meta },
  };
}
