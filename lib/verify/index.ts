// The verifier's public surface (lib/verify imports only lib/core).
export { Updater, type TargetFile, type UpdaterOptions } from './updater.js';
export { TrustedMetadataSet, type Origin } from './trusted-metadata-set.js';
export { DEFAULT_LIMITS, type Limits } from './limits.js';
export { openSource, checkSegment, DirectorySource, HttpSource, type Source, type FetchRequest } from './source.js';
export { rootFingerprint, initState } from './pin.js';
