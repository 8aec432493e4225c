// The build stage's public surface (see README.md).
export { buildRelease, checkPins, prepareBuild, rebuildFromProvenance, BUILD_LOG_NAME, BUILDER_VERSION } from './build-release.js';
export type { BuildRequest, BuildResult, BuiltArtifact, PinReport, RebuildOptions } from './build-release.js';
export { signProvenance, parseProvenanceEnvelope, parseTrustedProvenanceEnvelope, provenanceFileName } from './provenance-envelope.js';
export type { VerifiedProvenance } from './provenance-envelope.js';
export { pae, verifyDsse, type DsseEnvelope, type TrustedKey } from './dsse.js';
export { BUILD_TYPE, BUILDER_RELEASE, BUILDER_REPRODUCE, IN_TOTO_PAYLOAD_TYPE, parseStatement } from './provenance.js';
export type { InTotoStatement, InTotoSubject, RecordedBuild, SlsaProvenance } from './provenance.js';
export { DEFAULT_RELEASE_PATTERN, branchMatches, describeBranchHead } from './checkout.js';
export { commitInfo, remoteBranchHead, signatureInWords, type CommitInfo } from './git.js';
export { parseRecipe, RECIPE_FILE, type Recipe } from './recipe.js';
export { writeDeterministicTarGz, type ArchiveSpec } from './archive.js';
export type { CheckedLockfile } from './lockfiles.js';
