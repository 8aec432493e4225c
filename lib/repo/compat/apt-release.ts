// An apt repository's Release file and its two signed forms: InRelease (clearsigned)
// and Release.gpg (detached). Spec: https://wiki.debian.org/DebianRepository/Format
// ("Release" files: Origin, Label, Suite, Codename, Date, Valid-Until, Architectures,
// Components, Acquire-By-Hash, Signed-By, SHA256), apt-secure(8), deb822(5).
//
// Valid-Until makes apt refuse a mirror that stopped updating (a frozen mirror), so the
// signed Release must be renewed before it lapses: `airlock refresh` re-signs it with
// resignAptRelease (same indexes, new Date and Valid-Until). Acquire-By-Hash lets apt
// fetch indexes by their SHA-256 (by-hash/SHA256/<hex>), so a cache serving an older
// Packages never disagrees with a newer InRelease. Signed-By names the key fingerprints
// apt must accept for the next Release, pinning the key even where sources.list does not.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../core/atomic-file.js';
import { sha256Hex } from '../../core/digest.js';
import { AirlockError, fromSystemError } from '../../core/errors.js';
import type { Signer } from '../../keys/signer.js';
import { field, formatParagraphs, parseParagraphs, type Paragraph } from './deb822.js';
import { openpgpClearsign, openpgpDetachedSignature, openpgpFingerprint } from './openpgp-sign.js';

/** Where packages go and what the Release names; `components[0]` receives the packages. */
export interface AptLayout {
  suite: string;
  codename: string;
  components: string[];
  architectures: string[];
  /**
   * Fingerprints of earlier pgp keys whose transition is over: they no longer co-sign the
   * Release after a key change (docs/rotation.md "The OpenPGP key and apt").
   */
  retiredKeys?: string[];
}

export const DEFAULT_APT_LAYOUT: Readonly<AptLayout> = Object.freeze({ suite: 'stable', codename: 'stable', components: ['main'], architectures: ['amd64'] });

const NAME = /^[a-z0-9][a-z0-9.+-]*$/;

/** Parses the `apt` section of airlock.json; E_CONFIG names every bad field. */
export function parseAptLayout(value: unknown, file: string): AptLayout {
  if (value === undefined) return { ...DEFAULT_APT_LAYOUT, components: [...DEFAULT_APT_LAYOUT.components], architectures: [...DEFAULT_APT_LAYOUT.architectures] };
  const bad: string[] = [];
  const v = (typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {}) as Record<string, unknown>;
  if (v !== value) bad.push('apt must be an object');
  for (const k of Object.keys(v)) if (!['suite', 'codename', 'components', 'architectures', 'retiredKeys'].includes(k)) bad.push(`apt.${k} is not a setting`);
  const name = (k: 'suite' | 'codename'): string => {
    const x = v[k] ?? DEFAULT_APT_LAYOUT[k];
    if (typeof x !== 'string' || !NAME.test(x)) bad.push(`apt.${k} must be a lower-case name (a-z 0-9 . + -)`);
    return String(x);
  };
  const list = (k: 'components' | 'architectures'): string[] => {
    const x = v[k] ?? DEFAULT_APT_LAYOUT[k];
    if (!Array.isArray(x) || x.length === 0 || !x.every((e) => typeof e === 'string' && NAME.test(e)) || new Set(x).size !== x.length) {
      bad.push(`apt.${k} must be a non-empty list of distinct lower-case names`);
      return [];
    }
    return [...(x as string[])];
  };
  const layout: AptLayout = { suite: name('suite'), codename: name('codename'), components: list('components'), architectures: list('architectures') };
  if (v.retiredKeys !== undefined) {
    const r = v.retiredKeys;
    if (!Array.isArray(r) || !r.every((e) => typeof e === 'string' && /^[0-9A-Fa-f]{40}$/.test(e))) bad.push('apt.retiredKeys must be a list of OpenPGP fingerprints (40 hex digits, as `airlock key list` prints them)');
    else layout.retiredKeys = [...new Set(r.map((e: string) => e.toUpperCase()))];
  }
  if (layout.architectures.includes('all')) bad.push('apt.architectures names real architectures; "all" packages are served to every one');
  if (bad.length > 0) throw new AirlockError('E_CONFIG', `${file}: ${bad.join('; ')}`, { details: { problems: bad } });
  return layout;
}

export interface IndexFile {
  /** Relative to dists/<codename>/, e.g. main/binary-amd64/Packages.gz. */
  path: string;
  sha256: string;
  size: number;
}

export interface ReleaseFields {
  origin: string;
  label: string;
  layout: AptLayout;
  /** The binary-<arch> indexes written, "all" last when present. */
  architectures: string[];
  date: Date;
  validUntil: Date;
  /** Fingerprints of the keys that sign this and the next Release. */
  signedBy: string[];
  files: IndexFile[];
}

function releaseDate(date: Date): string {
  // Debian writes RFC 2822 dates in UTC: "Sat, 01 Jan 2026 00:00:00 UTC".
  return date.toUTCString().replace(/GMT$/, 'UTC');
}

/**
 * A value that would be signed as a line of InRelease: printable, no trailing white
 * space. A form feed or trailing blanks are where GnuPG's and apt's readings of a
 * cleartext message have differed (CVE-2025-68972); such text is never signed.
 */
export function assertReleaseValue(what: string, value: string): void {
  // eslint-disable-next-line no-control-regex
  if (value === '' || /[\x00-\x1f\x7f]/.test(value) || value !== value.trim()) {
    throw new AirlockError('E_CONFIG', `the apt ${what} ${JSON.stringify(value)} must be one line of printable text without leading or trailing blanks`);
  }
}

export function formatRelease(f: ReleaseFields): string {
  assertReleaseValue('Origin', f.origin);
  assertReleaseValue('Label', f.label);
  const width = Math.max(...f.files.map((s) => String(s.size).length));
  return formatParagraphs([
    [
      ['Origin', f.origin],
      ['Label', f.label],
      ['Suite', f.layout.suite],
      ['Codename', f.layout.codename],
      ['Date', releaseDate(f.date)],
      ['Valid-Until', releaseDate(f.validUntil)],
      ['Architectures', f.architectures.join(' ')],
      ['Components', f.layout.components.join(' ')],
      ['Acquire-By-Hash', 'yes'],
      ['Signed-By', f.signedBy.join(', ')],
      ['SHA256', f.files.map((s) => `\n ${s.sha256} ${String(s.size).padStart(width)} ${s.path}`).join('')],
    ],
  ]);
}

/**
 * The keys that sign a Release: the current pgp key first, then the earlier keys still
 * in their transition (docs/rotation.md "The OpenPGP key and apt"), each adding its own
 * signature to InRelease and Release.gpg, so a client pinning any one of them updates.
 */
export type AptSigners = Signer | readonly Signer[];

function signersOf(pgp: AptSigners): readonly Signer[] {
  return Array.isArray(pgp) ? (pgp as readonly Signer[]) : [pgp as Signer];
}

/** The Signed-By value: every key that signs this Release, current first. */
export function aptSignedBy(pgp: AptSigners): string[] {
  return signersOf(pgp).map(openpgpFingerprint);
}

/** Release, Release.gpg and InRelease, in upload order. */
export async function signRelease(release: string, pgp: AptSigners, date: Date, name: string): Promise<{ name: string; text: string }[]> {
  const subject = { kind: 'apt-release', name, sha256: sha256Hex(release) };
  const releaseGpg = await openpgpDetachedSignature(pgp, new Uint8Array(Buffer.from(release)), date, subject);
  const inRelease = await openpgpClearsign(pgp, release, date, subject);
  return [
    { name: 'Release', text: release },
    { name: 'Release.gpg', text: releaseGpg },
    { name: 'InRelease', text: inRelease },
  ];
}

/** Writes Release, Release.gpg and InRelease into `distDir`; returns their names in upload order. */
export async function writeSignedRelease(distDir: string, release: string, pgp: AptSigners, date: Date, name: string): Promise<string[]> {
  const files = await signRelease(release, pgp, date, name);
  for (const f of files) await writeFileAtomic(join(distDir, f.name), f.text);
  return files.map((f) => f.name);
}

/** A suite as the copy holds it: its Valid-Until and the keys its Signed-By lets sign the next Release. */
export interface AptDist {
  dist: string;
  validUntil?: Date;
  /** Fingerprints, upper case, current key first (empty for a Release without the field). */
  signedBy: string[];
}

/** The dists/<name>/ directories of an apt tree that hold a Release, with its Valid-Until and Signed-By. */
export async function aptDists(aptDir: string): Promise<AptDist[]> {
  const names = await readdir(join(aptDir, 'dists')).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw fromSystemError(err, `reading ${aptDir}/dists`);
  });
  const out: AptDist[] = [];
  for (const dist of names.sort()) {
    const path = join(aptDir, 'dists', dist, 'Release');
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const validUntil = releaseValidUntil(text, path);
    const signedBy = (field(readReleaseParagraph(text, path), 'Signed-By') ?? '').split(',').map((f) => f.trim().toUpperCase()).filter((f) => f !== '');
    out.push({ dist, ...(validUntil ? { validUntil } : {}), signedBy });
  }
  return out;
}

function readReleaseParagraph(text: string, path: string): Paragraph {
  const [p, ...rest] = parseParagraphs(text, path);
  if (!p || rest.length > 0 || !field(p, 'SHA256')) throw new AirlockError('E_APT_INDEX', `${path} is not one Release paragraph with SHA256; restore it from the host`);
  return p;
}

/** When a Release file stops being accepted (its Valid-Until), if it says. */
export function releaseValidUntil(text: string, path = 'Release'): Date | undefined {
  const v = field(readReleaseParagraph(text, path), 'Valid-Until');
  if (v === undefined) return undefined;
  const d = new Date(v.replace(/ UTC$/, ' GMT'));
  if (Number.isNaN(d.getTime())) throw new AirlockError('E_APT_INDEX', `${path} has a Valid-Until that is not a date; restore it from the host`);
  return d;
}

/**
 * The same Release with a new Date, Valid-Until and Signed-By, signed again: what
 * `airlock refresh` does so apt keeps accepting a repository no release has changed.
 */
export async function resignAptRelease(opts: { fromDistDir: string; pgp: AptSigners; date: Date; validUntil: Date; name: string }): Promise<{ name: string; text: string }[]> {
  const path = join(opts.fromDistDir, 'Release');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw fromSystemError(err, `reading ${path}`);
  }
  const signedBy = aptSignedBy(opts.pgp).join(', ');
  const renewed: Paragraph = readReleaseParagraph(text, path).map(([n, v]): [string, string] => {
    const lower = n.toLowerCase();
    if (lower === 'date') return [n, releaseDate(opts.date)];
    if (lower === 'valid-until') return [n, releaseDate(opts.validUntil)];
    if (lower === 'signed-by') return [n, signedBy];
    return [n, v];
  });
  for (const [name, value] of [
    ['Valid-Until', releaseDate(opts.validUntil)],
    ['Signed-By', signedBy],
  ] as const) {
    // A Release written before these fields existed gains them (before SHA256, as Debian
    // orders them). Acquire-By-Hash is not added: that Release has no by-hash/ indexes.
    if (field(renewed, name) === undefined) renewed.splice(renewed.findIndex(([n]) => n.toLowerCase() === 'sha256'), 0, [name, value]);
  }
  return signRelease(formatParagraphs([renewed]), opts.pgp, opts.date, opts.name);
}
