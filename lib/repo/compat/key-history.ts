// The public keys a host publishes under keys/ for the tools downloaders already have,
// kept as a history so a release signed before a key changed (replaced, moved into a
// token) still verifies with what the host serves (docs/host-layout.md):
//   keys/release-signing.asc   one OpenPGP keyring (RFC 4880 §11.1: transferable public
//                              keys one after another), ASCII-armored, the current key
//                              first, then every earlier one
//   keys/minisign.pub          the current minisign key
//   keys/minisign-<KEYID>.pub  one file per minisign key ever used (KEYID as minisign
//                              prints it), never removed
import { join } from 'node:path';
import { writeFileAtomic } from '../../core/atomic-file.js';
import type { Signer } from '../../keys/signer.js';
import { armor, dearmor } from './openpgp-armor.js';
import { minisignKeyIdHex, minisignKeyNumber, minisignPublicKey } from './minisign.js';
import { readIfPresent } from './published-keys.js';

function indexOfBytes(hay: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(hay).indexOf(Buffer.from(needle));
}

/**
 * The keyring with `certificate` (an armored transferable public key) first and every
 * key of `previous` (the keyring the host has) after it. Certificates are deterministic
 * for a key, so the same key gives back the same bytes: no change, nothing to publish.
 */
export function keyringWith(certificate: string, previous: string | undefined): { text: string; changed: boolean } {
  const current = dearmor(certificate).data;
  if (previous === undefined) return { text: certificate, changed: true };
  const old = dearmor(previous).data;
  if (indexOfBytes(old, current) === 0) return { text: previous, changed: false };
  // A key that signed before and comes back moves to the front, once.
  const at = indexOfBytes(old, current);
  const rest = at < 0 ? old : Buffer.concat([old.subarray(0, at), old.subarray(at + current.length)]);
  return { text: armor('PGP PUBLIC KEY BLOCK', Buffer.concat([current, rest])), changed: true };
}

/** The minisign key id as minisign prints it (upper-case hex), for file names and messages. */
export function minisignKeyId(signer: Signer): string {
  return minisignKeyIdHex(minisignKeyNumber(signer.publicKey));
}

/**
 * Writes keys/release-signing.asc (the keyring, current first) and keys/minisign.pub plus
 * keys/minisign-<KEYID>.pub into `stagingKeys`, from what `repoKeys` (the copy's keys/)
 * holds. Returns whether the OpenPGP key or the minisign key is another than before.
 */
export async function writeKeyHistory(repoKeys: string, stagingKeys: string, keys: { pgpCertificate?: string; minisign?: Signer }): Promise<{ pgpChanged: boolean; minisignChanged: boolean }> {
  let pgpChanged = false;
  let minisignChanged = false;
  if (keys.pgpCertificate !== undefined) {
    const ring = keyringWith(keys.pgpCertificate, await readIfPresent(join(repoKeys, 'release-signing.asc')));
    pgpChanged = ring.changed;
    await writeFileAtomic(join(stagingKeys, 'release-signing.asc'), ring.text);
  }
  if (keys.minisign !== undefined) {
    const pub = minisignPublicKey(keys.minisign);
    minisignChanged = (await readIfPresent(join(repoKeys, 'minisign.pub'))) !== pub;
    await writeFileAtomic(join(stagingKeys, 'minisign.pub'), pub);
    await writeFileAtomic(join(stagingKeys, `minisign-${minisignKeyId(keys.minisign)}.pub`), pub);
  }
  return { pgpChanged, minisignChanged };
}
