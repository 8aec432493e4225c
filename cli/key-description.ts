// How `airlock key list`, `key generate` and `key add-token` describe a key: its id and
// the fingerprint each format shows (OpenPGP, minisign key id, OpenSSH SHA256).
import { fromHex } from '../lib/core/hex.js';
import { pgpPublicKey } from '../lib/repo/compat/openpgp-packet.js';
import { minisignKeyIdHex, minisignKeyNumber } from '../lib/repo/compat/minisign.js';
import { fingerprintOf } from '../lib/publish/host-key.js';
import { ed25519KeyBlob, openSshPublicKey } from '../lib/publish/signer-agent.js';
import type { KeyInfo } from '../lib/keys/keystore.js';

export interface KeyDescription extends Omit<KeyInfo, 'file'> {
  file: string;
  /** The fingerprint the role's own format shows (besides the TUF key id). */
  fingerprints: { openpgp?: string; minisign?: string; ssh?: string };
  openssh?: string;
  fingerprintLines: string[];
}

export function describeKey(info: KeyInfo): KeyDescription {
  const raw = fromHex(info.publicKey);
  const fingerprints: KeyDescription['fingerprints'] = {};
  let openssh: string | undefined;
  if (info.role === 'pgp') fingerprints.openpgp = Buffer.from(pgpPublicKey(raw, new Date(info.createdAt), info.keyType).fingerprint).toString('hex').toUpperCase();
  if (info.role === 'minisign') fingerprints.minisign = minisignKeyIdHex(minisignKeyNumber(raw));
  if (info.role === 'publish' || info.role === 'ssh') {
    fingerprints.ssh = fingerprintOf(ed25519KeyBlob(raw));
    openssh = openSshPublicKey(raw, info.role === 'ssh' ? 'airlock-ssh' : undefined).trim();
  }
  const fingerprintLines = [
    `  key id     ${info.keyId}`,
    `  type       ${info.keyType}`,
    `  public key ${info.publicKey}`,
    ...(fingerprints.openpgp ? [`  OpenPGP    ${fingerprints.openpgp}`] : []),
    ...(fingerprints.minisign ? [`  minisign   ${fingerprints.minisign}`] : []),
    ...(fingerprints.ssh ? [`  ssh        ${fingerprints.ssh}`, `  ${info.role === 'ssh' ? 'public    ' : 'authorized'} ${openssh}`] : []),
  ];
  return { ...info, fingerprints, ...(openssh ? { openssh } : {}), fingerprintLines };
}

