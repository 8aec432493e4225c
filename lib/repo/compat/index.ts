export { openpgpCertificate, openpgpFingerprint, openpgpDetachedSignature, openpgpClearsign } from './openpgp-sign.js';
export { minisignPublicKey } from './minisign.js';
export { writeReleaseSignatures, type ReleaseSignatureOptions } from './release-signatures.js';
export { updateAptRepository, type AptRepositoryOptions } from './apt-repository.js';
