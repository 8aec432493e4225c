// The terminal's configuration, `$AIRLOCK_HOME/airlock.json` (docs/terminal.md). One
// module writes and parses it. Every problem is collected and reported at once, naming
// the file and the field; unknown fields are refused, so a typo ("expiryDay") cannot
// silently leave a default in force (like lib/builder/recipe.ts).
import { readFile, stat } from 'node:fs/promises';
import { writeFileAtomic } from '../core/atomic-file.js';
import { AirlockError, fromSystemError } from '../core/errors.js';
import type { TopLevelRole } from '../core/tuf-metadata.js';
import { parseAptLayout, type AptLayout } from '../repo/compat/apt-release.js';
import { DEFAULT_EXPIRY_DAYS, type ExpiryDays } from '../repo/expiry.js';
import type { TerminalPaths } from './home.js';

export interface TerminalConfig {
  formatVersion: 1;
  /** Shown as the OpenPGP user id and the apt repository's Origin/Label. */
  name: string;
  expiryDays: ExpiryDays;
  /** Warn in `airlock status` when a role expires within this many days. */
  warnDays: number;
  releaseBranchPattern: string;
  /** Past `afterTargets` targets, targets delegate to 2^bitLength hash bins (DESIGN "Scale"). */
  hashBins: { afterTargets: number; bitLength: number };
  /** The apt repository's suite, codename, components and architectures (absent: stable/stable/main/amd64). */
  apt?: AptLayout;
  /** The OpenPGP user id's name and e-mail (absent: `name` alone). */
  openpgp?: { name: string; email: string };
  /** The host's public base URL (the rpm .repo file points there). */
  publicUrl?: string;
}

/** The OpenPGP user id the certificate carries: "Name <email>", or the terminal's name. */
export function openpgpUserId(config: Pick<TerminalConfig, 'name' | 'openpgp'>): string {
  return config.openpgp ? `${config.openpgp.name} <${config.openpgp.email}>` : config.name;
}

/** airlock.json is a few hundred bytes; anything near this is not ours. */
const CONFIG_MAX_BYTES = 64 * 1024;
const FIELDS = ['formatVersion', 'name', 'expiryDays', 'warnDays', 'releaseBranchPattern', 'hashBins', 'apt', 'openpgp', 'publicUrl'] as const;
const DEFAULT_HASH_BINS_CONFIG = { afterTargets: 1024, bitLength: 8 } as const;

export function defaultConfig(name: string): TerminalConfig {
  return { formatVersion: 1, name, expiryDays: { ...DEFAULT_EXPIRY_DAYS }, warnDays: 3, releaseBranchPattern: 'release/*', hashBins: { ...DEFAULT_HASH_BINS_CONFIG } };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function wholeNumber(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/** Parses airlock.json; E_CONFIG naming `file` and every bad field. Missing optional fields take their defaults. */
export function parseTerminalConfig(text: string, file: string): TerminalConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new AirlockError('E_CONFIG', `${file} is not valid JSON; fix it or restore it from a backup`, { cause: err, details: { file } });
  }
  const problems: string[] = [];
  if (!isObject(raw)) throw new AirlockError('E_CONFIG', `${file} must hold one JSON object; fix it or restore it from a backup`, { details: { file } });
  const out = defaultConfig('airlock release signing');
  for (const k of Object.keys(raw)) if (!(FIELDS as readonly string[]).includes(k)) problems.push(`unknown field "${k}" (known: ${FIELDS.join(', ')})`);
  if (raw.formatVersion !== 1) problems.push('formatVersion must be 1 (this airlock reads version 1)');
  if (raw.name !== undefined) {
    if (typeof raw.name !== 'string' || raw.name.trim() === '' || raw.name.length > 200) problems.push('name must be a non-empty string of at most 200 characters');
    else out.name = raw.name;
  }
  if (raw.warnDays !== undefined) {
    if (!wholeNumber(raw.warnDays, 0, 3650)) problems.push('warnDays must be a whole number of days (0 to 3650)');
    else out.warnDays = raw.warnDays;
  }
  if (raw.releaseBranchPattern !== undefined) {
    if (typeof raw.releaseBranchPattern !== 'string' || raw.releaseBranchPattern === '') problems.push('releaseBranchPattern must be a non-empty string like "release/*"');
    else out.releaseBranchPattern = raw.releaseBranchPattern;
  }
  if (raw.expiryDays !== undefined) {
    if (!isObject(raw.expiryDays)) problems.push('expiryDays must be an object like {"timestamp": 7}');
    else {
      for (const [role, days] of Object.entries(raw.expiryDays)) {
        if (!(role in out.expiryDays)) problems.push(`expiryDays names an unknown role "${role}" (root, targets, snapshot or timestamp)`);
        else if (!wholeNumber(days, 1, 3650)) problems.push(`expiryDays.${role} must be a whole number of days between 1 and 3650`);
        else out.expiryDays[role as TopLevelRole] = days;
      }
    }
  }
  if (raw.hashBins !== undefined) {
    const hb = raw.hashBins;
    if (!isObject(hb)) problems.push('hashBins must be {"afterTargets": N, "bitLength": 1..14}');
    else {
      for (const k of Object.keys(hb)) if (k !== 'afterTargets' && k !== 'bitLength') problems.push(`hashBins: unknown field "${k}"`);
      if (hb.afterTargets !== undefined) {
        if (!wholeNumber(hb.afterTargets, 0, Number.MAX_SAFE_INTEGER)) problems.push('hashBins.afterTargets must be a whole number');
        else out.hashBins.afterTargets = hb.afterTargets;
      }
      if (hb.bitLength !== undefined) {
        if (!wholeNumber(hb.bitLength, 1, 14)) problems.push('hashBins.bitLength must be a whole number from 1 to 14');
        else out.hashBins.bitLength = hb.bitLength;
      }
    }
  }
  if (raw.apt !== undefined) {
    try {
      out.apt = parseAptLayout(raw.apt, file);
    } catch (err) {
      problems.push(err instanceof AirlockError ? err.message : String(err));
    }
  }
  if (raw.openpgp !== undefined) {
    const v = raw.openpgp;
    const ok =
      isObject(v) && Object.keys(v).every((k) => k === 'name' || k === 'email') &&
      typeof v.name === 'string' && /^[^\x00-\x1f\x7f<>]+$/.test(v.name) && v.name === v.name.trim() &&
      typeof v.email === 'string' && /^[^\s<>@]+@[^\s<>@]+$/.test(v.email);
    if (!ok) problems.push('openpgp must be {"name": "Example Releases", "email": "releases@example.org"} (one line each, no < or >)');
    else out.openpgp = { name: v.name as string, email: v.email as string };
  }
  if (raw.publicUrl !== undefined) {
    if (typeof raw.publicUrl !== 'string' || !/^https?:\/\/[^\s]+$/.test(raw.publicUrl)) problems.push(`publicUrl must be the host's http(s) base URL, e.g. "https://releases.example.org"`);
    else out.publicUrl = raw.publicUrl;
  }
  if (problems.length > 0) {
    throw new AirlockError('E_CONFIG', `${file}: ${problems.join('; ')}; fix the file (docs/terminal.md lists the fields)`, { details: { file, problems } });
  }
  return out;
}

export async function readConfig(paths: TerminalPaths): Promise<TerminalConfig> {
  let text: string;
  try {
    const s = await stat(paths.config);
    if (!s.isFile() || s.size > CONFIG_MAX_BYTES) throw new AirlockError('E_CONFIG', `${paths.config} is not a regular file of at most ${CONFIG_MAX_BYTES} bytes; restore it from a backup`, { details: { file: paths.config } });
    text = await readFile(paths.config, 'utf8');
  } catch (err) {
    if (err instanceof AirlockError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new AirlockError('E_NOT_INITIALISED', `no release terminal at ${paths.home}; run \`airlock init\` first (or set AIRLOCK_HOME)`);
    }
    throw fromSystemError(err, `reading ${paths.config}`);
  }
  return parseTerminalConfig(text, paths.config);
}

export async function writeConfig(paths: TerminalPaths, config: TerminalConfig): Promise<void> {
  // What is written must read back: the same parser guards both directions.
  const text = `${JSON.stringify(config, null, 2)}\n`;
  parseTerminalConfig(text, paths.config);
  await writeFileAtomic(paths.config, text, { mode: 0o600 });
}
