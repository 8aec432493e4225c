// The host registry: $AIRLOCK_HOME/hosts.json, the static hosts a repository is
// published to, each with its pinned SSH host key (sftp) or its endpoint (s3). Format
// (versioned, written atomically):
//   { "formatVersion": 1, "hosts": [ { "name", "url", "hostKey"?, "fileMode"?, "dirMode"?,
//       "s3"?: { "endpoint", "region"?, "pathStyle"?, "mutableMaxAge"? } } ] }
// (fileMode/dirMode: octal strings such as "0644", host-modes.ts)
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { AirlockError, fromSystemError } from '../core/errors.js';
import { parseHostKeyPin } from './host-key.js';
import { formatMode, hostModes } from './host-modes.js';
import { checkS3Options, parseHostUrl, type S3HostOptions } from './host-url.js';
import type { HostSpec } from './publish.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The parts of the terminal home (where the registry lives) a publish must never write into. */
const PRIVATE_PARTS = ['keystore', 'repository', 'staging'];

/**
 * A directory host is written by publishing and read as untrusted: it must not lie in
 * the terminal's keystore (a publish would put world-readable directories there), its
 * repository copy (the source of every publish) or its staging area.
 */
function assertApartFromHome(registry: string, name: string, dir: string): void {
  const home = resolve(dirname(registry));
  const d = resolve(dir);
  const inside = (a: string, b: string) => {
    const rel = relative(a, b);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  };
  for (const part of PRIVATE_PARTS.map((p) => join(home, p))) {
    if (inside(part, d)) {
      throw new AirlockError('E_USAGE', `host ${name}: the directory ${d} lies in the terminal's ${part}; publish to a directory outside it`, { details: { host: name, dir: d, home } });
    }
  }
}

export async function readHosts(file: string): Promise<HostSpec[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fromSystemError(err, `reading ${file}`);
  }
  let raw: { formatVersion?: unknown; hosts?: unknown };
  try {
    raw = JSON.parse(text) as typeof raw;
  } catch (err) {
    throw new AirlockError('E_CONFIG', `${file} is not valid JSON; fix it, or remove it and add the hosts again`, { cause: err });
  }
  if (raw.formatVersion !== 1 || !Array.isArray(raw.hosts)) {
    throw new AirlockError('E_CONFIG', `${file}: not a version 1 host list; fix it, or remove it and add the hosts again`);
  }
  return raw.hosts.map((h: unknown, i) => {
    const o = h as Record<string, unknown>;
    const optionalString = (k: string) => o?.[k] === undefined || typeof o[k] === 'string';
    if (typeof o?.name !== 'string' || typeof o.url !== 'string' || !optionalString('hostKey') || !optionalString('fileMode') || !optionalString('dirMode')) {
      throw new AirlockError('E_CONFIG', `${file}: host #${i + 1} needs a name and url (strings; hostKey, fileMode and dirMode strings too); fix the file`);
    }
    const spec: HostSpec = { name: o.name, url: o.url };
    if (o.hostKey !== undefined) spec.hostKey = o.hostKey as string;
    if (o.fileMode !== undefined) spec.fileMode = o.fileMode as string;
    if (o.dirMode !== undefined) spec.dirMode = o.dirMode as string;
    hostModes(spec); // a bad mode is refused when the registry is read, not halfway through a publish
    if (o.s3 !== undefined) spec.s3 = readS3Options(file, i, o.s3);
    return spec;
  });
}

function readS3Options(file: string, i: number, raw: unknown): S3HostOptions {
  const o = raw as Record<string, unknown> | null;
  const bad = (what: string) => new AirlockError('E_CONFIG', `${file}: host #${i + 1}: ${what}; fix the file, or add the host again with --replace`);
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw bad('"s3" must be an object');
  for (const k of Object.keys(o)) if (!['endpoint', 'region', 'pathStyle', 'mutableMaxAge'].includes(k)) throw bad(`"s3" has an unknown field ${JSON.stringify(k)}`);
  if (typeof o.endpoint !== 'string') throw bad('"s3.endpoint" must be a string');
  if (o.region !== undefined && typeof o.region !== 'string') throw bad('"s3.region" must be a string');
  if (o.pathStyle !== undefined && typeof o.pathStyle !== 'boolean') throw bad('"s3.pathStyle" must be true or false');
  if (o.mutableMaxAge !== undefined && typeof o.mutableMaxAge !== 'number') throw bad('"s3.mutableMaxAge" must be a number');
  const opts: S3HostOptions = { endpoint: o.endpoint };
  if (o.region !== undefined) opts.region = o.region as string;
  if (o.pathStyle !== undefined) opts.pathStyle = o.pathStyle as boolean;
  if (o.mutableMaxAge !== undefined) opts.mutableMaxAge = o.mutableMaxAge as number;
  try {
    return checkS3Options(opts);
  } catch (err) {
    throw new AirlockError('E_CONFIG', `${file}: host #${i + 1} has unusable S3 options; add the host again with --replace`, { cause: err });
  }
}

async function writeHosts(file: string, hosts: HostSpec[]): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify({ formatVersion: 1, hosts }, null, 2)}\n`, { mode: 0o600 });
}

/**
 * Adds a host. An SFTP host must come with its host key pinned (there is no "trust on
 * first use": the first connection is exactly the one an attacker would intercept).
 */
export async function addHost(file: string, spec: HostSpec, opts: { replace?: boolean } = {}): Promise<HostSpec> {
  if (!NAME.test(spec.name)) throw new AirlockError('E_USAGE', `host name ${JSON.stringify(spec.name)}: use letters, digits, '.', '_' and '-' (at most 64)`);
  const loc = parseHostUrl(spec.url);
  const entry: HostSpec = { name: spec.name, url: spec.url };
  const modes = hostModes(spec);
  if (spec.fileMode !== undefined) entry.fileMode = formatMode(modes.file);
  if (spec.dirMode !== undefined) entry.dirMode = formatMode(modes.dir);
  if (loc.kind !== 's3' && spec.s3 !== undefined) throw new AirlockError('E_USAGE', `host ${spec.name}: --endpoint, --region, --path-style and --mutable-max-age apply only to s3:// hosts`);
  if (loc.kind === 's3') {
    if (spec.hostKey !== undefined) throw new AirlockError('E_USAGE', `host ${spec.name} is an S3 bucket; a host key applies only to sftp:// hosts`);
    if (spec.s3 === undefined) throw new AirlockError('E_USAGE', `host ${spec.name} is an S3 bucket: give its API endpoint with --endpoint https://…`);
    if (spec.fileMode !== undefined || spec.dirMode !== undefined) {
      throw new AirlockError('E_USAGE', `host ${spec.name} is an S3 bucket: objects have no modes (a public-read bucket policy makes them readable); drop --file-mode/--dir-mode`);
    }
    entry.s3 = checkS3Options(spec.s3);
  } else if (loc.kind === 'sftp') {
    if (spec.hostKey === undefined) {
      throw new AirlockError('E_USAGE', `host ${spec.name} is an SFTP host: pin its host key with --host-key KEY or --known-hosts FILE (get it from the host's console: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub)`);
    }
    entry.hostKey = parseHostKeyPin(spec.hostKey);
  } else {
    if (spec.hostKey !== undefined) throw new AirlockError('E_USAGE', `host ${spec.name} is a directory; a host key applies only to sftp:// hosts`);
    assertApartFromHome(file, spec.name, loc.path);
    entry.url = loc.path;
  }
  const hosts = await readHosts(file);
  const at = hosts.findIndex((h) => h.name === spec.name);
  if (at >= 0 && !opts.replace) throw new AirlockError('E_USAGE', `host ${spec.name} already exists; remove it first or add with --replace`);
  if (at >= 0) hosts[at] = entry;
  else hosts.push(entry);
  await writeHosts(file, hosts);
  return entry;
}

export async function removeHost(file: string, name: string): Promise<HostSpec> {
  const hosts = await readHosts(file);
  const at = hosts.findIndex((h) => h.name === name);
  if (at < 0) throw new AirlockError('E_HOST_UNKNOWN', `no host named ${name}; \`airlock host list\` shows the hosts`);
  const [removed] = hosts.splice(at, 1);
  await writeHosts(file, hosts);
  return removed!;
}

/**
 * The hosts a publish goes to. No selectors: every registered host. A selector is a
 * registered name, or a directory (`/abs/dir`, `file:///abs/dir`) used as a one-off
 * host; an sftp:// URL must be registered first so its host key is pinned.
 */
export async function resolveHosts(file: string, selectors: string[]): Promise<HostSpec[]> {
  const out = await selectHosts(file, selectors);
  for (const h of out) {
    const loc = parseHostUrl(h.url);
    if (loc.kind === 'directory') assertApartFromHome(file, h.name, loc.path);
  }
  return out;
}

async function selectHosts(file: string, selectors: string[]): Promise<HostSpec[]> {
  const hosts = await readHosts(file);
  if (selectors.length === 0) {
    if (hosts.length === 0) {
      throw new AirlockError('E_HOST_UNKNOWN', 'no hosts to publish to; add one with `airlock host add NAME URL`, or give a directory with --to');
    }
    return hosts;
  }
  const out: HostSpec[] = [];
  for (const sel of selectors) {
    const known = hosts.find((h) => h.name === sel);
    if (known) {
      out.push(known);
      continue;
    }
    if (sel.startsWith('/') || sel.startsWith('file:')) {
      const loc = parseHostUrl(sel);
      if (loc.kind === 'directory') {
        out.push({ name: loc.path, url: loc.path });
        continue;
      }
    }
    if (sel.startsWith('sftp:')) {
      throw new AirlockError('E_HOST_UNKNOWN', `${sel} is not a registered host; add it with \`airlock host add NAME ${sel} --host-key KEY\` so its host key is pinned`);
    }
    if (sel.startsWith('s3:')) {
      throw new AirlockError('E_HOST_UNKNOWN', `${sel} is not a registered host; add it with \`airlock host add NAME ${sel} --endpoint URL\``);
    }
    throw new AirlockError('E_HOST_UNKNOWN', `no host named ${sel}; \`airlock host list\` shows the hosts (a directory must be an absolute path)`);
  }
  return out;
}
