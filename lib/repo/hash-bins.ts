// Succinct hash delegations (TAP 15; TUF spec §4.5 "succinct_roles"): past a configured
// number of targets, the top-level targets role delegates every path to one of 2^B "bin"
// roles by the first B bits of SHA-256(target path). A release then re-signs only the
// bins its new targets fall in, and a client fetches only the bins of what it downloads,
// instead of one targets.json that grows with every release forever.
//
// Bin sizing (PEP 458, "Metadata scalability": PyPI puts 2.27M targets in 16,384 bins so
// that a client fetches a bounded amount of metadata per target): the number of bins is
// 2^k with ~50–100 KB of metadata per bin, chosen from the repository's size when it
// crosses into bins, and raised (re-binning) when the average bin passes MAX_BIN_BYTES:
// a new targets version delegates to 2^k' bins under a new name prefix, every target
// moved into them. The old bins stay listed in snapshot at their last version (a TUF
// client refuses a snapshot that drops a file the previous one listed, §5.5.5), and
// nothing delegates to them any more.
import type { TufKey } from '../core/tuf-key.js';
import { tufKeyId } from '../core/tuf-key.js';
import type { Delegations, SuccinctRoles } from '../core/tuf-metadata.js';
import { succinctRoleFor } from '../verify/delegations.js';

export interface BinLayout {
  bitLength: number;
  namePrefix: string;
}

export const DEFAULT_BIN_LAYOUT: Readonly<BinLayout> = { bitLength: 8, namePrefix: 'bins' };

function asSuccinct(layout: BinLayout): SuccinctRoles {
  return { keyids: [], threshold: 1, bit_length: layout.bitLength, name_prefix: layout.namePrefix };
}

/** Every bin, named as the client names them (TAP 15: prefix-NN, hex, ceil(B/4) digits). */
export function allBinNames(layout: BinLayout): string[] {
  const width = Math.ceil(layout.bitLength / 4);
  return Array.from({ length: 2 ** layout.bitLength }, (_, i) => `${layout.namePrefix}-${i.toString(16).padStart(width, '0')}`);
}

/** The bin a target path belongs to: the same function the client uses to look it up. */
export function binFor(layout: BinLayout, targetPath: string): string {
  return succinctRoleFor(asSuccinct(layout), targetPath);
}

/** Bins are signed by the targets key(s): one key, one role, no new secret to guard. */
export function succinctDelegations(layout: BinLayout, keys: readonly TufKey[], threshold = 1): Delegations {
  const byId: Record<string, TufKey> = {};
  for (const k of keys) byId[tufKeyId(k)] = k;
  const succinct: SuccinctRoles = { keyids: Object.keys(byId).sort(), threshold, bit_length: layout.bitLength, name_prefix: layout.namePrefix };
  return { keys: byId, succinct_roles: succinct };
}

export function layoutOf(delegations: Delegations | undefined): BinLayout | undefined {
  const s = delegations?.succinct_roles;
  return s ? { bitLength: s.bit_length, namePrefix: s.name_prefix } : undefined;
}

/** Every bin a targets role delegates to by succinct hash delegation (none without one). */
export function binNamesOf(targets: { delegations?: Delegations }): string[] {
  const layout = layoutOf(targets.delegations);
  return layout ? allBinNames(layout) : [];
}

/** A bin's metadata grows to at most about this many bytes before the repository re-bins. */
export const MAX_BIN_BYTES = 100 * 1024;
/** The widest layout: 2^20 bins (PyPI's PEP 458 deployment uses 2^14). */
const MAX_BIT_LENGTH = 20;

/** The smallest bit length, at least `minBits`, that keeps `totalBytes` of bin metadata within `maxBinBytes` per bin. */
export function bitLengthFor(totalBytes: number, minBits: number, maxBinBytes = MAX_BIN_BYTES): number {
  let k = Math.max(1, minBits);
  while (k < MAX_BIT_LENGTH && totalBytes / 2 ** k > maxBinBytes) k++;
  return k;
}

/**
 * The layout a repository moves to when its bins have outgrown `maxBinBytes` on average
 * (sizes from the snapshot: nothing is read), or undefined. The new bins get a prefix of
 * their own (`bins` → `bins10`), so no name is reused with other contents.
 */
export function rebinnedLayout(current: BinLayout, binLengths: readonly number[], basePrefix: string, maxBinBytes = MAX_BIN_BYTES): BinLayout | undefined {
  const total = binLengths.reduce((a, b) => a + b, 0);
  if (total / 2 ** current.bitLength <= maxBinBytes || current.bitLength >= MAX_BIT_LENGTH) return undefined;
  const bitLength = bitLengthFor(total, current.bitLength + 1, maxBinBytes);
  return { bitLength, namePrefix: `${basePrefix}${bitLength}` };
}
