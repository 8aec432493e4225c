// `airlock sync --from HOST [--dry-run]`: verify a host's tree against the repository
// copy's own root and bring the copy up to date (lib/repo/sync-from-host.ts). HOST is a
// registered directory host, a directory, or an http(s) URL — an SFTP host is read
// through its web server's URL, since publishing keys are for writing, not reading.
import { AirlockError, isAirlockError } from '../../lib/core/errors.js';
import { Keystore } from '../../lib/keys/keystore.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import { parseHostUrl } from '../../lib/publish/host-url.js';
import { readHosts } from '../../lib/publish/hosts.js';
import { planSync, syncFromHost, type SyncOptions as LibSyncOptions } from '../../lib/repo/sync-from-host.js';
import { signingPgpKey } from '../../lib/repo/sync-pgp-keys.js';
import { terminalPaths } from '../../lib/terminal/home.js';
import { openSource } from '../../lib/verify/index.js';
import { emit } from '../run.js';

export interface SyncOptions {
  from: string;
  dryRun?: boolean;
  json?: boolean;
  keystore?: string;
}

/** The keystore's newest pgp key (public listing, no passphrase): the only key whose signature vouches for the host's apt and rpm indices. */
async function signingKeyOf(opts: SyncOptions): Promise<LibSyncOptions> {
  const listing = await Keystore.open(keystoreDirFor(opts))
    .then((ks) => ks.list())
    .catch((err: unknown) => {
      // A home without a keystore: the copy's published keyring names the current key. A
      // keystore named with --keystore must open.
      if (opts.keystore === undefined && isAirlockError(err, 'E_NOT_INITIALISED')) return [];
      throw err;
    });
  const key = signingPgpKey(listing);
  return key === undefined ? {} : { signingPgpKey: key };
}

async function sourceFor(hostsFile: string, from: string): Promise<string> {
  const known = (await readHosts(hostsFile)).find((h) => h.name === from);
  if (known === undefined) {
    if (/^https?:\/\//i.test(from) || from.startsWith('/')) return from;
    throw new AirlockError('E_HOST_UNKNOWN', `no host named ${from}; give a registered directory host, an absolute directory or the host's http(s) URL`);
  }
  const loc = parseHostUrl(known.url);
  if (loc.kind !== 'directory') throw new AirlockError('E_USAGE', `host ${from} is written over SFTP; sync reads it through its web server: --from https://…`);
  return loc.path;
}

export async function sync(opts: SyncOptions): Promise<void> {
  const paths = terminalPaths();
  const source = openSource(await sourceFor(paths.hosts, opts.from));
  const keys = await signingKeyOf(opts);
  if (opts.dryRun) {
    const plan = await planSync(paths.repository, source, keys);
    emit(opts, { ok: true, dryRun: true, ...plan }, () =>
      plan.upToDate ? `the repository copy is up to date with ${source.name} (timestamp v${plan.local})` : [`would bring timestamp v${plan.local} → v${plan.host} from ${source.name}, ${plan.files.length} file(s):`, ...plan.files.map((f) => `  ${f}`)],
    );
    return;
  }
  const r = await syncFromHost(paths.repository, paths.staging, source, keys);
  emit(opts, { ok: true, dryRun: false, ...r }, () =>
    r.upToDate ? `the repository copy is up to date with ${source.name} (timestamp v${r.local})` : `brought the repository copy from timestamp v${r.local} to v${r.host} (root v${r.rootVersion}): ${r.files.length} file(s) verified and written`,
  );
}
