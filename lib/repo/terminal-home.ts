// The release terminal's home ($AIRLOCK_HOME, default ~/.airlock): where its keystore,
// its configuration and its local copy of the whole host tree live. The local copy is
// the authority; publishing makes each host converge to it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { AirlockError, fromSystemError } from '../core/errors.js';
import { airlockHome } from '../keys/location.js';
import { DEFAULT_EXPIRY_DAYS, parseExpiryDays, type ExpiryDays } from './expiry.js';
import { parseAptLayout, type AptLayout } from './compat/apt-release.js';

export interface TerminalPaths {
  home: string;
  config: string;
  keystore: string;
  repository: string;
  staging: string;
  hosts: string;
}

export function terminalPaths(home: string = airlockHome()): TerminalPaths {
  return {
    home,
    config: join(home, 'airlock.json'),
    keystore: join(home, 'keystore'),
    repository: join(home, 'repository'),
    staging: join(home, 'staging'),
    hosts: join(home, 'hosts.json'),
  };
}

export interface TerminalConfig {
  formatVersion: 1;
  /** Shown as the OpenPGP user id and the apt repository's Origin/Label. */
  name: string;
  expiryDays: ExpiryDays;
  /** Warn in `airlock status` when a role expires within this many days. */
  warnDays: number;
  releaseBranchPattern: string;
  /** Past `afterTargets` targets, targets delegate to 2^bitLength hash bins (docs/formats.md, "Scale"). */
  hashBins: { afterTargets: number; bitLength: number };
  /** The apt repository's suite, codename, components and architectures (absent: stable/stable/main/amd64). */
  apt?: AptLayout;
  /** The OpenPGP user id's name and e-mail (absent: `name` alone). */
  openpgp?: { name: string; email: string };
  /** The host's public base URL (https://…), which the rpm repository's .repo file names. */
  publicUrl?: string;
}

/** The OpenPGP user id the certificate carries: "Name <email>", or the terminal's name. */
export function openpgpUserId(config: Pick<TerminalConfig, 'name' | 'openpgp'>): string {
  return config.openpgp ? `${config.openpgp.name} <${config.openpgp.email}>` : config.name;
}

function parsePublicUrl(value: unknown, file: string): string {
  if (typeof value !== 'string' || !/^https?:\/\/[^\s]+$/.test(value)) throw new AirlockError('E_CONFIG', `${file}: publicUrl must be the host's http(s) base URL, e.g. "https://releases.example.org"`);
  return value;
}

function parseOpenpgp(value: unknown, file: string): TerminalConfig['openpgp'] {
  if (value === undefined) return undefined;
  const v = value as { name?: unknown; email?: unknown };
  const ok =
    typeof value === 'object' && value !== null && Object.keys(value).every((k) => k === 'name' || k === 'email') &&
    typeof v.name === 'string' && /^[^\x00-\x1f\x7f<>]+$/.test(v.name) && v.name === v.name.trim() &&
    typeof v.email === 'string' && /^[^\s<>@]+@[^\s<>@]+$/.test(v.email);
  if (!ok) throw new AirlockError('E_CONFIG', `${file}: openpgp must be {"name": "Example Releases", "email": "releases@example.org"} (one line each, no < or >)`);
  return { name: v.name as string, email: v.email as string };
}

export function defaultConfig(name: string): TerminalConfig {
  return { formatVersion: 1, name, expiryDays: { ...DEFAULT_EXPIRY_DAYS }, warnDays: 3, releaseBranchPattern: 'release/*', hashBins: { ...DEFAULT_HASH_BINS_CONFIG } };
}

export async function readConfig(paths: TerminalPaths): Promise<TerminalConfig> {
  let text: string;
  try {
    text = await readFile(paths.config, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new AirlockError('E_NOT_INITIALISED', `no release terminal at ${paths.home}; run \`airlock init\` first (or set AIRLOCK_HOME)`);
    }
    throw fromSystemError(err, `reading ${paths.config}`);
  }
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new AirlockError('E_CONFIG', `${paths.config} is not valid JSON; fix or restore it`, { cause: err });
  }
  if (raw.formatVersion !== 1) throw new AirlockError('E_CONFIG', `${paths.config}: unsupported formatVersion; this airlock reads version 1`);
  const warnDays = raw.warnDays ?? 3;
  if (!Number.isInteger(warnDays) || (warnDays as number) < 0) throw new AirlockError('E_CONFIG', `${paths.config}: warnDays must be a whole number of days`);
  return {
    formatVersion: 1,
    name: typeof raw.name === 'string' ? raw.name : 'airlock release signing',
    expiryDays: parseExpiryDays(raw.expiryDays),
    warnDays: warnDays as number,
    releaseBranchPattern: typeof raw.releaseBranchPattern === 'string' ? raw.releaseBranchPattern : 'release/*',
    hashBins: parseHashBins(raw.hashBins, paths.config),
    ...(raw.apt !== undefined ? { apt: parseAptLayout(raw.apt, paths.config) } : {}),
    ...(raw.openpgp !== undefined ? { openpgp: parseOpenpgp(raw.openpgp, paths.config)! } : {}),
    ...(raw.publicUrl !== undefined ? { publicUrl: parsePublicUrl(raw.publicUrl, paths.config) } : {}),
  };
}

const DEFAULT_HASH_BINS_CONFIG = { afterTargets: 1024, bitLength: 8 } as const;

function parseHashBins(value: unknown, file: string): TerminalConfig['hashBins'] {
  if (value === undefined) return { ...DEFAULT_HASH_BINS_CONFIG };
  const v = value as { afterTargets?: unknown; bitLength?: unknown };
  const after = v.afterTargets ?? DEFAULT_HASH_BINS_CONFIG.afterTargets;
  const bits = v.bitLength ?? DEFAULT_HASH_BINS_CONFIG.bitLength;
  if (typeof value !== 'object' || value === null || !Number.isInteger(after) || (after as number) < 0 || !Number.isInteger(bits) || (bits as number) < 1 || (bits as number) > 14) {
    throw new AirlockError('E_CONFIG', `${file}: hashBins must be {"afterTargets": N, "bitLength": 1..14}`);
  }
  return { afterTargets: after as number, bitLength: bits as number };
}

export async function writeConfig(paths: TerminalPaths, config: TerminalConfig): Promise<void> {
  await writeFileAtomic(paths.config, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}
