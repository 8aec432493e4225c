// The reproduce stage's public surface (see README.md).
export { reproduceRelease, type ArtifactReport, type ReproduceOptions, type ReproduceReport } from './reproduce.js';
export { identifyProvenanceSigner, targetsKeysOf, verifiedRootChain, type ProvenanceSigner } from './provenance-signer.js';
export { fetchVerifiedRelease, parseReleaseId, type PublishedArtifact, type PublishedRelease, type ReleaseId } from './published-release.js';
export { compareArtifact, type ArtifactComparison, type FileFacts } from './artifact-compare.js';
export { archiveKindOf, listArchive, type ArchiveEntry, type ArchiveKind, type ArchiveListing } from './archive-entries.js';
export { diffListings, ENTRY_FIELDS, type EntryDifference, type EntryField, type FieldDifference, type ListingDifference } from './entry-diff.js';
export { findDiffoscope, runDiffoscope, type DiffoscopeResult } from './diffoscope.js';
