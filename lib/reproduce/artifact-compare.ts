// One artifact, published against rebuilt: byte for byte (length and SHA-256/SHA-512 of
// the whole file, streamed), and when they differ and the file is an archive, entry by
// entry, so the report says which file inside changed and how.
import { hashFile } from '../core/digest.js';
import { isAirlockError } from '../core/errors.js';
import { archiveKindOf, listArchive, type ArchiveKind } from './archive-entries.js';
import { diffListings, type ListingDifference } from './entry-diff.js';

export interface FileFacts {
  length: number;
  sha256: string;
}

export interface ArtifactComparison {
  name: string;
  status: 'identical' | 'different' | 'missing';
  published: FileFacts;
  /** null when the rebuild did not produce the file. */
  rebuilt: FileFacts | null;
  /** For differing archives: what differs inside. */
  archive?: ListingDifference & { kind: ArchiveKind; unreadable: { side: 'published' | 'rebuilt'; member: string; reason: string }[] };
  /** Why the archive could not be compared entry by entry. */
  archiveError?: string;
  /** A plain-words summary when the entries alone do not explain the difference. */
  note?: string;
}

async function facts(path: string): Promise<FileFacts & { sha512: string }> {
  const { length, digests } = await hashFile(path);
  return { length, sha256: digests.sha256, sha512: digests.sha512 };
}

export async function compareArtifact(name: string, publishedPath: string, rebuiltPath: string | undefined): Promise<ArtifactComparison> {
  const p = await facts(publishedPath);
  const published = { length: p.length, sha256: p.sha256 };
  if (rebuiltPath === undefined) {
    return { name, status: 'missing', published, rebuilt: null, note: 'the rebuild did not produce this file' };
  }
  const r = await facts(rebuiltPath);
  const rebuilt = { length: r.length, sha256: r.sha256 };
  if (p.length === r.length && p.sha256 === r.sha256 && p.sha512 === r.sha512) return { name, status: 'identical', published, rebuilt };

  const result: ArtifactComparison = { name, status: 'different', published, rebuilt };
  const kind = archiveKindOf(name);
  if (kind === undefined) return result;
  try {
    const [a, b] = [await listArchive(publishedPath, kind), await listArchive(rebuiltPath, kind)];
    const diff = diffListings(a, b);
    result.archive = {
      kind,
      ...diff,
      unreadable: [...a.unreadable.map((u) => ({ side: 'published' as const, ...u })), ...b.unreadable.map((u) => ({ side: 'rebuilt' as const, ...u }))],
    };
    if (diff.differences.length === 0) {
      result.note = diff.orderDiffers
        ? 'the same entries, in another order'
        : diff.uncompressedIdentical === true
          ? 'the uncompressed archive is identical: only the compression differs (another zlib or compressor build; see docs/provenance.md)'
          : 'every entry is identical: the difference is in the archive headers, padding or compression';
    }
  } catch (err) {
    if (!isAirlockError(err)) throw err;
    result.archiveError = err.message;
  }
  return result;
}
