// `airlock key list`: public keys, key ids and the fingerprints each format shows
// (OpenPGP for pgp, minisign key id, OpenSSH SHA256 for publish). Never anything private:
// listing needs no passphrase and decrypts nothing.
import { Keystore, type KeyInfo } from '../../lib/keys/keystore.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import { fromHex } from '../../lib/core/hex.js';
import { pgpPublicKey } from '../../lib/repo/compat/openpgp-packet.js';
import { minisignKeyIdHex, minisignKeyNumber } from '../../lib/repo/compat/minisign.js';
import { fingerprintOf } from '../../lib/publish/host-key.js';
import { ed25519KeyBlob, openSshPublicKey } from '../../lib/publish/signer-agent.js';
import { emit } from '../run.js';

export interface KeyListOptions {
  keystore?: string;
  json?: boolean;
}

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

export async function keyList(opts: KeyListOptions): Promise<void> {
  const keystore = await Keystore.open(keystoreDirFor(opts));
  const keys = (await keystore.list()).map(describeKey);
  emit(opts, { ok: true, keystore: keystore.dir, keys: keys.map(({ fingerprintLines: _l, ...k }) => k) }, () =>
    keys.length === 0
      ? [`no keys in ${keystore.dir}; \`airlock key generate ROLE\` makes one`]
      : keys.flatMap((k) => [`${k.role} (${k.kind}, created ${k.createdAt})`, ...k.fingerprintLines]),
  );
}
