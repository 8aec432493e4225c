// Succinct hash delegations (TAP 15; TUF spec §4.5 "succinct_roles"): past a configured
// number of targets, the top-level targets role delegates every path to one of 2^B "bin"
// roles by the first B bits of SHA-256(target path). A release then re-signs only the
// bins its new targets fall in, and a client fetches only the bins of what it downloads,
// instead of one targets.json that grows with every release forever.
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
