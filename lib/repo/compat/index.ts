export { openpgpCertificate, openpgpFingerprint, openpgpDetachedSignature, openpgpClearsign } from './openpgp-sign.js';
export { minisignPublicKey } from './minisign.js';
export { writeReleaseSignatures, type ReleaseSignatureOptions } from './release-signatures.js';
export { updateAptRepository, type AptRepositoryOptions } from './apt-repository.js';
export { sshFileSignature, sshPublicKeyLine, parseSshSignature } from './sshsig.js';
export { ALLOWED_SIGNERS_FILE, formatAllowedSigners, parseAllowedSigners, recordSshSigning } from './allowed-signers.js';
export { KEYS_FILE, formatKeysFile, parseKeysFile, withCurrentKey } from './keys-file.js';
export { updateKeysFile, updateAllowedSigners } from './published-keys.js';
export { aptDists, parseAptLayout, resignAptRelease, DEFAULT_APT_LAYOUT, type AptLayout } from './apt-release.js';
