// `airlock key list`: public keys, key ids and the fingerprints each format shows
// (OpenPGP for pgp, minisign key id, OpenSSH SHA256 for publish). Never anything private:
// listing needs no passphrase and decrypts nothing.
import { Keystore } from '../../lib/keys/keystore.js';
import { describeKey } from '../key-description.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import { emit } from '../run.js';

export interface KeyListOptions {
  keystore?: string;
  json?: boolean;
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
