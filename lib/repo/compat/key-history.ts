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
import type { Signer } from '../../keys/signer.js';
import { armor, dearmor } from './openpgp-armor.js';
import { PACKET_TAG, fingerprintOfKeyBody, readPackets } from './openpgp-packet.js';
import { minisignKeyIdHex, minisignKeyNumber, minisignPublicKey, parseMinisignPublicKey } from './minisign.js';
import { readIfPresent, stageKeysFile } from './published-keys.js';

/** A transferable public key of a keyring (RFC 4880 §11.1): its fingerprint and its packets. */
interface KeyBlock {
  fingerprint: string;
  bytes: Uint8Array;
}

/** The keys of an (unarmored) keyring, in order: each public-key packet starts one. */
function keyBlocks(data: Uint8Array): KeyBlock[] {
  const blocks: { fingerprint: string; parts: Uint8Array[] }[] = [];
  for (const p of readPackets(data)) {
    if (p.tag === PACKET_TAG.publicKey) blocks.push({ fingerprint: fingerprintOfKeyBody(p.body), parts: [] });
    else if (blocks.length === 0) throw new TypeError('a keyring must start with a public-key packet');
    blocks[blocks.length - 1]!.parts.push(p.bytes);
  }
  return blocks.map((b) => ({ fingerprint: b.fingerprint, bytes: Buffer.concat(b.parts) }));
}

/** The fingerprints of an armored keyring's keys, in order (the first is the current key). */
export function keyringFingerprints(armored: string): string[] {
  return keyBlocks(dearmor(armored).data).map((b) => b.fingerprint);
}

/**
 * The keyring with `certificate` (an armored transferable public key) first and every
 * other key of `previous` (the keyring the host has) after it. Keys are merged by
 * fingerprint: the same key with a new user id (or self-signature) replaces its earlier
 * block instead of standing twice, and a key that signed before and comes back moves to
 * the front, once. Certificates are deterministic for a key and user id, so the same
 * ones give back the same bytes: no change, nothing to publish.
 */
export function keyringWith(certificate: string, previous: string | undefined): { text: string; changed: boolean } {
  const current = dearmor(certificate).data;
  if (previous === undefined) return { text: certificate, changed: true };
  const [head] = keyBlocks(current);
  if (!head) throw new TypeError('the certificate holds no public key');
  const rest = keyBlocks(dearmor(previous).data).filter((b) => b.fingerprint !== head.fingerprint);
  const bytes = Buffer.concat([current, ...rest.map((b) => b.bytes)]);
  if (Buffer.compare(bytes, Buffer.from(dearmor(previous).data)) === 0) return { text: previous, changed: false };
  return { text: armor('PGP PUBLIC KEY BLOCK', bytes), changed: true };
}

/** The minisign key id as minisign prints it (upper-case hex), for file names and messages. */
export function minisignKeyId(signer: Signer): string {
  return minisignKeyIdHex(minisignKeyNumber(signer.publicKey));
}

/** What changed in keys/ since the copy's previous keys: what users must compare, and whether it is another key. */
export interface KeyHistoryChange {
  /** The OpenPGP key is another than the one the copy published (a new user id alone is not a change). */
  pgpChanged: boolean;
  minisignChanged: boolean;
  /** The current OpenPGP fingerprint, and the one it replaces when it changed. */
  openpgp?: { fingerprint: string; previous?: string };
  /** The current minisign key id, and the one it replaces when it changed. */
  minisign?: { keyId: string; previous?: string };
}

/**
 * Writes keys/release-signing.asc (the keyring, current first) and keys/minisign.pub plus
 * keys/minisign-<KEYID>.pub into `stagingKeys`, from what `repoKeys` (the copy's keys/)
 * holds — each only when its bytes change. Returns whether the OpenPGP key or the
 * minisign key is another than before.
 */
export async function writeKeyHistory(repoKeys: string, stagingKeys: string, keys: { pgpCertificate?: string; minisign?: Signer }): Promise<KeyHistoryChange> {
  const out: KeyHistoryChange = { pgpChanged: false, minisignChanged: false };
  if (keys.pgpCertificate !== undefined) {
    const previous = await readIfPresent(join(repoKeys, 'release-signing.asc'));
    const ring = keyringWith(keys.pgpCertificate, previous);
    const fingerprint = keyringFingerprints(keys.pgpCertificate)[0]!;
    const before = previous === undefined ? undefined : keyringFingerprints(previous)[0];
    out.pgpChanged = before !== fingerprint;
    out.openpgp = { fingerprint, ...(before !== undefined && before !== fingerprint ? { previous: before } : {}) };
    await stageKeysFile(stagingKeys, repoKeys, 'release-signing.asc', ring.text);
  }
  if (keys.minisign !== undefined) {
    const pub = minisignPublicKey(keys.minisign);
    const previous = await readIfPresent(join(repoKeys, 'minisign.pub'));
    const keyId = minisignKeyId(keys.minisign);
    out.minisignChanged = previous !== pub;
    const before = previous === undefined ? undefined : minisignKeyIdHex(parseMinisignPublicKey(previous).keyNumber);
    out.minisign = { keyId, ...(before !== undefined && before !== keyId ? { previous: before } : {}) };
    await stageKeysFile(stagingKeys, repoKeys, 'minisign.pub', pub);
    await stageKeysFile(stagingKeys, repoKeys, `minisign-${keyId}.pub`, pub);
  }
  return out;
}

/** The identities users compare: the current OpenPGP fingerprint and minisign key id, each with the one it replaced when it changed. */
export interface PublishedKeyIdentity {
  openpgp?: { fingerprint: string; changed: boolean; previous?: string };
  minisign?: { keyId: string; changed: boolean; previous?: string };
}

/** The current OpenPGP fingerprint and minisign key id a keys/ directory publishes (absent files: absent fields). */
export async function publishedKeyIds(keysDir: string): Promise<{ openpgp?: string; minisign?: string }> {
  const ring = await readIfPresent(join(keysDir, 'release-signing.asc'));
  const mini = await readIfPresent(join(keysDir, 'minisign.pub'));
  const openpgp = ring === undefined ? undefined : keyringFingerprints(ring)[0];
  const minisign = mini === undefined ? undefined : minisignKeyIdHex(parseMinisignPublicKey(mini).keyNumber);
  return { ...(openpgp ? { openpgp } : {}), ...(minisign ? { minisign } : {}) };
}

/**
 * The identities `next` carries compared with `before` (the previous release's), field by
 * field: a key is changed when `before` published another one. A key only `before` has is
 * reported unchanged (the release did not sign with that role).
 */
export function keyIdentityChange(before: { openpgp?: string; minisign?: string }, next: { openpgp?: string; minisign?: string }): PublishedKeyIdentity {
  const one = (now: string | undefined, was: string | undefined): { id: string; changed: boolean; previous?: string } | undefined => {
    const id = now ?? was;
    if (id === undefined) return undefined;
    const changed = was !== undefined && id !== was;
    return { id, changed, ...(changed ? { previous: was } : {}) };
  };
  const p = one(next.openpgp, before.openpgp);
  const m = one(next.minisign, before.minisign);
  return {
    ...(p ? { openpgp: { fingerprint: p.id, changed: p.changed, ...(p.previous ? { previous: p.previous } : {}) } } : {}),
    ...(m ? { minisign: { keyId: m.id, changed: m.changed, ...(m.previous ? { previous: m.previous } : {}) } } : {}),
  };
}

/** Lines for people: what to compare, and a WARNING line for each key that changed. `when` says against what ("since the previous release"). */
export function describeKeyIdentity(k: PublishedKeyIdentity, when: string): string[] {
  return [
    ...(k.openpgp ? [`OpenPGP fingerprint  ${k.openpgp.fingerprint}   (users compare it with \`gpg --show-keys keys/release-signing.asc\`)`] : []),
    ...(k.minisign ? [`minisign key id      ${k.minisign.keyId}   (users compare it with the key id \`minisign -V\` prints)`] : []),
    ...(k.openpgp?.changed ? [`WARNING: the OpenPGP key ${when}: ${k.openpgp.previous} -> ${k.openpgp.fingerprint}; announce the new fingerprint (apt users: docs/rotation.md "The OpenPGP key and apt")`] : []),
    ...(k.minisign?.changed ? [`WARNING: the minisign key ${when}: ${k.minisign.previous} -> ${k.minisign.keyId}; announce the new key id (keys/minisign-${k.minisign.keyId}.pub)`] : []),
  ];
}
