// What `airlock sync --from HOST` takes from the terminal before it reads the host
// (lib/repo/sync-from-host.ts): where the host's tree is, and the pgp key its apt and rpm
// indices must be signed by. Reads only; nothing here writes, prompts or decrypts.
import { AirlockError, isAirlockError } from '../core/errors.js';
import { newestKeyOf } from '../keys/keystore.js';
import { keystoreDirFor } from '../keys/location.js';
import { parseHostUrl } from '../publish/host-url.js';
import { readHosts } from '../publish/hosts.js';
import type { SyncOptions } from '../repo/sync-from-host.js';
import { listKeystore } from './observe.js';

/**
 * The tree `from` names: a registered directory host, an absolute directory or an http(s)
 * URL — an SFTP host is read through its web server's URL, since publishing keys are for
 * writing, not reading.
 */
export async function observeSyncSource(hostsFile: string, from: string): Promise<string> {
  const known = (await readHosts(hostsFile)).find((h) => h.name === from);
  if (known === undefined) {
    if (/^https?:\/\//i.test(from) || from.startsWith('/')) return from;
    throw new AirlockError('E_HOST_UNKNOWN', `no host named ${from}; give a registered directory host, an absolute directory or the host's http(s) URL`);
  }
  const loc = parseHostUrl(known.url);
  if (loc.kind !== 'directory') throw new AirlockError('E_USAGE', `host ${from} is written over SFTP; sync reads it through its web server: --from https://…`);
  return loc.path;
}

/**
 * The pgp key the host's apt and rpm indices are held to (lib/repo/sync-pgp-keys.ts): the
 * one the next release signs with, the keystore's newest (public listing, no passphrase).
 * A home without a keystore gives none — the copy's keys/release-signing.asc then names
 * the current key — but a keystore named with --keystore must open.
 */
export async function observeSyncKeys(opts: { keystore?: string }): Promise<Pick<SyncOptions, 'signingPgpKey'>> {
  const keys = await listKeystore(keystoreDirFor(opts)).then(
    (l) => l.keys,
    (err: unknown) => {
      if (opts.keystore === undefined && isAirlockError(err, 'E_NOT_INITIALISED')) return [];
      throw err;
    },
  );
  const key = newestKeyOf(keys, 'pgp');
  return key === undefined ? {} : { signingPgpKey: key };
}
