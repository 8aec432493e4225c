// The per-entry difference of two archive listings: which entries only one side has,
// and for the entries both have, which of their fields differ. Pure: listings in,
// differences out.
import type { ArchiveEntry, ArchiveListing } from './archive-entries.js';

export const ENTRY_FIELDS = ['type', 'mode', 'owner', 'mtime', 'size', 'digest', 'link'] as const;
export type EntryField = (typeof ENTRY_FIELDS)[number];

export interface FieldDifference {
  field: EntryField;
  published: string | number | null;
  rebuilt: string | number | null;
}

export interface EntryDifference {
  /** The entry's name (a repeated name gets " #2", " #3" … in archive order). */
  entry: string;
  change: 'changed' | 'only-published' | 'only-rebuilt';
  /** For 'changed': the fields that differ. */
  fields: FieldDifference[];
}

export interface ListingDifference {
  /** Entries in the published archive. */
  entries: number;
  differences: EntryDifference[];
  /** The entries both have appear in another order. */
  orderDiffers: boolean;
  /** Compressed tarballs: whether the uncompressed tar streams are identical. */
  uncompressedIdentical?: boolean;
}

/** Names made unique by occurrence, so an archive holding one name twice is compared entry for entry. */
function keyed(entries: readonly ArchiveEntry[]): Map<string, ArchiveEntry> {
  const seen = new Map<string, number>();
  const out = new Map<string, ArchiveEntry>();
  for (const e of entries) {
    const n = (seen.get(e.name) ?? 0) + 1;
    seen.set(e.name, n);
    out.set(n === 1 ? e.name : `${e.name} #${n}`, e);
  }
  return out;
}

export function diffListings(published: ArchiveListing, rebuilt: ArchiveListing): ListingDifference {
  const a = keyed(published.entries);
  const b = keyed(rebuilt.entries);
  const differences: EntryDifference[] = [];
  for (const [name, pe] of a) {
    const re = b.get(name);
    if (re === undefined) {
      differences.push({ entry: name, change: 'only-published', fields: [] });
      continue;
    }
    const fields = ENTRY_FIELDS.filter((f) => pe[f] !== re[f]).map((f) => ({ field: f, published: pe[f], rebuilt: re[f] }));
    if (fields.length > 0) differences.push({ entry: name, change: 'changed', fields });
  }
  for (const name of b.keys()) if (!a.has(name)) differences.push({ entry: name, change: 'only-rebuilt', fields: [] });
  const common = [...a.keys()].filter((k) => b.has(k));
  const rebuiltOrder = [...b.keys()].filter((k) => a.has(k));
  const result: ListingDifference = { entries: published.entries.length, differences, orderDiffers: common.some((k, i) => rebuiltOrder[i] !== k) };
  if (published.uncompressedSha256 !== undefined && rebuilt.uncompressedSha256 !== undefined) {
    result.uncompressedIdentical = published.uncompressedSha256 === rebuilt.uncompressedSha256;
  }
  return result;
}
