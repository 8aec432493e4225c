// Pinning the root of trust once, out of band (`airlock-verify init`): the user compares
// the SHA-256 of the root.json bytes with the fingerprint the publisher announced, and
// only a matching, self-signed root becomes the state's trusted root.
import { sha256Hex } from '../core/digest.js';
import { AirlockError } from '../core/errors.js';
import { parseMetadata } from '../core/tuf-metadata.js';
import { StateDirectory } from './state-directory.js';
import { TrustedMetadataSet } from './trusted-metadata-set.js';

/** Hex SHA-256 of the exact root.json bytes: what users compare with the publisher's. */
export function rootFingerprint(rootBytes: Uint8Array): string {
  return sha256Hex(rootBytes);
}

/** Accepts "AB:CD …", spaces and either case, since fingerprints get copied from print. */
function normaliseFingerprint(fingerprint: string): string {
  return fingerprint.replace(/[\s:]/g, '').toLowerCase();
}

export interface PinResult {
  fingerprint: string;
  version: number;
  expires: string;
  /** False when the state already held this root (or started from it and followed rotations since). */
  written: boolean;
  /** The root version the state trusts now, when it has followed rotations past this root. */
  trustedVersion?: number;
}

/**
 * Checks a root against the fingerprint (E_FINGERPRINT) and its own signatures
 * (E_SIG_THRESHOLD), then stores it as the state's trusted root. A state that already
 * trusts another root is refused (E_ALREADY_INITIALISED): re-pinning would silently
 * undo the rotations it has followed.
 */
export async function initState(stateDir: string | undefined, rootBytes: Uint8Array, fingerprint: string): Promise<PinResult> {
  const actual = rootFingerprint(rootBytes);
  const expected = normaliseFingerprint(fingerprint);
  if (!/^[0-9a-f]{64}$/.test(expected)) {
    throw new AirlockError('E_USAGE', '--fingerprint takes the 64 hex digits of the root\'s SHA-256');
  }
  if (actual !== expected) {
    throw new AirlockError('E_FINGERPRINT', `the root's SHA-256 is ${actual}, not the fingerprint given; this is not the publisher's root — get root.json again from a trusted channel`, {
      details: { expected, actual },
    });
  }
  const trusted = new TrustedMetadataSet(rootBytes);
  const result = { fingerprint: actual, version: trusted.root.version, expires: trusted.root.expires, written: false };
  if (stateDir === undefined) return result;
  const state = new StateDirectory(stateDir);
  const stored = await state.read('root');
  if (stored !== undefined) {
    if (Buffer.from(stored).equals(Buffer.from(rootBytes))) return result;
    // The root this state started from, since replaced by rotations it followed: nothing
    // to do (pinning it again would undo those rotations).
    if ((await state.readPinnedFingerprint()) === actual) {
      const version = parseMetadata(stored, 'root', `${stateDir}/root.json`).signed.version;
      return { ...result, trustedVersion: version };
    }
    throw new AirlockError('E_ALREADY_INITIALISED', `${stateDir} already trusts another root; use a new --state directory to pin another`);
  }
  await state.writePinnedFingerprint(actual);
  await state.write('root', rootBytes);
  return { ...result, written: true };
}
