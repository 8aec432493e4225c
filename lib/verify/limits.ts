// Named caps on everything the host can make us download or wait for (TUF §5.3.3,
// §5.4.1, §5.5.1, §5.6.1 leave W, X, Y, Z to the application; values as tuf-js
// `config.ts`). A cap is enforced while bytes stream in, before anything is parsed.

export interface Limits {
  /** Most root versions followed in one update (TUF §5.3.3 "Y"). */
  maxRootRotations: number;
  /** Most targets roles visited in one target search (TUF §5.6.7.1). */
  maxDelegations: number;
  /** Most targets roles `list` walks (an airlock repository alone has 256 hash bins). */
  maxListedRoles: number;
  /** Bytes of one N.root.json: its size is unknown until it is trusted. */
  rootMaxBytes: number;
  /** Bytes of timestamp.json, whose size nothing signed announces. */
  timestampMaxBytes: number;
  /** Bytes of snapshot metadata when the timestamp gives no length. */
  snapshotMaxBytes: number;
  /** Bytes of a targets metadata file when the snapshot gives no length. */
  targetsMaxBytes: number;
  /** A connection that delivers no byte for this long is cut (E_TIMEOUT). */
  idleTimeoutMs: number;
  /** Slow-retrieval guard: fewer bytes than this per second over a window … */
  minBytesPerSecond: number;
  /** … of this length cuts the transfer (E_TIMEOUT). */
  rateWindowMs: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxRootRotations: 32,
  maxDelegations: 32,
  maxListedRoles: 1024,
  rootMaxBytes: 512 * 1024,
  timestampMaxBytes: 16 * 1024,
  snapshotMaxBytes: 2 * 1024 * 1024,
  targetsMaxBytes: 5 * 1024 * 1024,
  idleTimeoutMs: 30_000,
  minBytesPerSecond: 1024,
  rateWindowMs: 10_000,
});

export function resolveLimits(partial: Partial<Limits> = {}): Limits {
  const out = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(partial) as [keyof Limits, number | undefined][]) {
    if (v === undefined) continue;
    if (!Number.isFinite(v) || v < 0) throw new TypeError(`limit ${k} must be a non-negative number`);
    out[k] = v;
  }
  return out;
}
