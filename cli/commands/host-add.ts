// `airlock host add NAME URL [--host-key KEY | --known-hosts FILE | --endpoint URL ...]`:
// records a host with its pinned SSH host key (or its S3 endpoint), and prints the
// host-side lines (authorized_keys entry for the publish key, sshd Match block) the
// host's administrator installs.
import { existsSync, readFileSync } from 'node:fs';
import { AirlockError, isAirlockError } from '../../lib/core/errors.js';
import { fromHex } from '../../lib/core/hex.js';
import { Keystore } from '../../lib/keys/keystore.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import { fingerprintOf, keysFromKnownHosts, parseHostKeyPin } from '../../lib/publish/host-key.js';
import { hostSideInstructions } from '../../lib/publish/host-side.js';
import { isPlainAbsolutePath, parseHostUrl, type S3HostOptions } from '../../lib/publish/host-url.js';
import { addHost } from '../../lib/publish/hosts.js';
import type { HostSpec } from '../../lib/publish/publish.js';
import { terminalPaths } from '../../lib/terminal/home.js';
import { emit, note } from '../run.js';

export interface HostAddOptions {
  hostKey?: string;
  knownHosts?: string;
  chroot?: string;
  replace?: boolean;
  fileMode?: string;
  dirMode?: string;
  keystore?: string;
  json?: boolean;
  endpoint?: string;
  region?: string;
  pathStyle?: boolean;
  mutableMaxAge?: string;
}

/** The s3 options given on the command line, if any (addHost checks them against the URL). */
function s3OptionsOf(opts: HostAddOptions): S3HostOptions | undefined {
  if (opts.endpoint === undefined) {
    if (opts.region !== undefined || opts.pathStyle || opts.mutableMaxAge !== undefined) throw new AirlockError('E_USAGE', '--region, --path-style and --mutable-max-age need --endpoint (s3:// hosts)');
    return undefined;
  }
  const s3: S3HostOptions = { endpoint: opts.endpoint };
  if (opts.region !== undefined) s3.region = opts.region;
  if (opts.pathStyle) s3.pathStyle = true;
  if (opts.mutableMaxAge !== undefined) s3.mutableMaxAge = /^[0-9]+$/.test(opts.mutableMaxAge) ? Number(opts.mutableMaxAge) : Number.NaN;
  return s3;
}

/** A pin given on the command line, or the first line of a .pub file named instead. */
function pinFromArgument(value: string): string {
  try {
    return parseHostKeyPin(value);
  } catch (err) {
    if (existsSync(value)) return parseHostKeyPin(readFileSync(value, 'utf8').split('\n')[0] ?? '');
    throw err;
  }
}

async function publishKeyOf(opts: HostAddOptions): Promise<Uint8Array | undefined> {
  try {
    const keystore = await Keystore.open(keystoreDirFor(opts));
    const key = (await keystore.list()).find((k) => k.role === 'publish');
    return key ? fromHex(key.publicKey) : undefined;
  } catch (err) {
    if (isAirlockError(err)) return undefined;
    throw err;
  }
}

export async function hostAdd(name: string, url: string, opts: HostAddOptions): Promise<void> {
  const loc = parseHostUrl(url);
  // Checked before anything is recorded: the chroot goes into lines root pastes.
  if (opts.chroot !== undefined && (!isPlainAbsolutePath(opts.chroot) || opts.chroot === '/')) {
    throw new AirlockError('E_USAGE', `--chroot ${JSON.stringify(opts.chroot)}: give a plain absolute directory other than / (letters, digits, . _ + - and /; no "..")`);
  }
  if (opts.hostKey !== undefined && opts.knownHosts !== undefined) throw new AirlockError('E_USAGE', 'give --host-key or --known-hosts, not both');
  let hostKey = opts.hostKey === undefined ? undefined : pinFromArgument(opts.hostKey);
  if (opts.knownHosts !== undefined) {
    if (loc.kind !== 'sftp') throw new AirlockError('E_USAGE', '--known-hosts applies only to sftp:// hosts');
    const keys = await keysFromKnownHosts(opts.knownHosts, loc.hostname, loc.port);
    if (keys.length === 0) {
      const shown = loc.port === 22 ? loc.hostname : `[${loc.hostname}]:${loc.port}`;
      throw new AirlockError('E_USAGE', `${opts.knownHosts} holds no key for ${shown}; pin the key with --host-key instead`);
    }
    hostKey = keys[0];
  }
  const spec: HostSpec = { name, url };
  if (hostKey !== undefined) spec.hostKey = hostKey;
  if (opts.fileMode !== undefined) spec.fileMode = opts.fileMode;
  if (opts.dirMode !== undefined) spec.dirMode = opts.dirMode;
  const s3 = s3OptionsOf(opts);
  if (s3 !== undefined) spec.s3 = s3;
  const entry = await addHost(terminalPaths().hosts, spec, { replace: Boolean(opts.replace) });

  let setup: string | undefined;
  let missingPublishKey = false;
  if (loc.kind === 'sftp') {
    const publishKey = await publishKeyOf(opts);
    if (publishKey) setup = hostSideInstructions({ user: loc.user, chroot: opts.chroot ?? '/srv/airlock', treePath: loc.path, publishKey });
    else missingPublishKey = true;
  }
  const pinned = entry.hostKey?.startsWith('SHA256:') ? entry.hostKey : entry.hostKey ? fingerprintOf(Buffer.from(entry.hostKey.split(' ')[1]!, 'base64')) : undefined;
  if (missingPublishKey && !opts.json) note('warning: the keystore has no publish key yet; run `airlock key generate publish`, then `airlock host add ... --replace` again to print the host-side lines');
  emit(opts, { ok: true, host: entry, hostKeyFingerprint: pinned ?? null, hostSide: setup ?? null }, () => [
    `added host ${entry.name}: ${entry.url}`,
    ...(pinned ? [`pinned host key ${pinned}`] : []),
    ...(setup ? ['', setup] : []),
  ]);
}
