// Timestamp metadata (TUF specification §4.6 "timestamp.json"): type, parser, builder.
import { checkCommon, checkMetaFile, COMMON_FIELDS, copyUnrecognised, isPlainObject, own, SPEC_VERSION, type MetaFile, type Problems, type SignedCommon } from './tuf-common.js';

export interface TimestampSigned extends SignedCommon {
  _type: 'timestamp';
  meta: { 'snapshot.json': MetaFile };
}

export function timestampFromJSON(p: Problems, s: Record<string, unknown>): TimestampSigned {
  const common = checkCommon(p, s, 'timestamp');
  const meta = own(s, 'meta');
  let snap: MetaFile = { version: 1 };
  if (!isPlainObject(meta) || !Object.hasOwn(meta, 'snapshot.json')) p.add('signed.meta', 'expected an object with "snapshot.json"');
  else snap = checkMetaFile(p, 'signed.meta.snapshot.json', meta['snapshot.json']);
  const out: TimestampSigned = { _type: 'timestamp', ...common, meta: { 'snapshot.json': snap } };
  copyUnrecognised(s, out, [...COMMON_FIELDS, 'meta']);
  return out;
}

/** The next timestamp: version + 1 (TUF §5.4.3 lets a client tell it from a replay). */
export function nextTimestamp(current: TimestampSigned | undefined, snapshot: MetaFile, expires: string): TimestampSigned {
  return {
    _type: 'timestamp',
    spec_version: SPEC_VERSION,
    version: (current?.version ?? 0) + 1,
    expires,
    meta: { 'snapshot.json': snapshot },
  };
}
