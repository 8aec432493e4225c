// What a release with .rpm files needs on the terminal, observed once and checked by the
// release plan (lib/terminal/plan-release.ts) before the build, before a passphrase is
// read: rpm's rpmsign and rpmkeys (Debian package `rpm`), createrepo_c (`createrepo-c`),
// rpm's own default macro and rc files, a temporary directory rpm can be told about, a
// pgp key rpm verifies, and `publicUrl` for the .repo file.
//
// Every rpm program airlock runs reads only rpm's defaults (RPM_DEFAULTS): `--rcfile` and
// `--macros` name the two files shipped with rpm, and HOME is a fresh directory, so no
// ~/.rpmmacros, ~/.rpmrc or /etc/rpm/macros.* can redirect the signing command or switch
// a signature check off (%_pkgverify_flags). A path that goes into a macro definition is
// escaped (`%` → `%%`: rpm expands macros in definitions at use, and %(…) runs a shell)
// and limited to characters rpm's argument splitting keeps as they are.
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { AirlockError } from '../../core/errors.js';
import type { KeyType } from '../../core/key-type.js';

const run = promisify(execFile);

/** rpm's own defaults, the only configuration airlock's rpm runs read. */
export const RPM_DEFAULTS = { rcfile: '/usr/lib/rpm/rpmrc', macros: '/usr/lib/rpm/macros' } as const;

/** The arguments every rpm program gets: rpm's defaults and nothing else. */
export function rpmDefaultsArgs(): string[] {
  return ['--rcfile', RPM_DEFAULTS.rcfile, '--macros', RPM_DEFAULTS.macros];
}

/**
 * The pgp key types whose V4 header signatures Debian 12's rpm 4.18 places and verifies:
 * EdDSA only; rpmsign refuses an ECDSA P-256 signature ("Unsupported PGP signature",
 * test/repo/compat/rpm-sign.test.ts).
 */
export const RPM_KEY_TYPES: readonly KeyType[] = ['ed25519'];

const TOOLS = [
  ['rpmsign', 'rpm'],
  ['rpmkeys', 'rpm'],
  ['createrepo_c', 'createrepo-c'],
] as const;

/** What the terminal has for rpm (observed; `checkRpmRelease` decides). */
export interface RpmTools {
  /** Tools that did not run, with the Debian package that has them. */
  missing: { tool: string; pkg: string }[];
  /** The temporary directory rpmsign's signing command will live in. */
  tmpdir: string;
}

export async function observeRpmTools(): Promise<RpmTools> {
  const missing: RpmTools['missing'] = [];
  for (const [tool, pkg] of TOOLS) {
    const ok = await run(tool, ['--version'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' } }).then(() => true, () => false);
    if (!ok) missing.push({ tool, pkg });
  }
  for (const file of Object.values(RPM_DEFAULTS)) {
    if (!(await access(file).then(() => true, () => false))) missing.push({ tool: file, pkg: 'rpm' });
  }
  return { missing, tmpdir: tmpdir() };
}

const MACRO_SAFE = /^[A-Za-z0-9._/+,=:@~%-]+$/;

/**
 * `path` as it may stand in an rpm macro body: `%` doubled, and anything rpm would split
 * or parse (blanks, quotes, backslashes, braces, parentheses, control characters) refused.
 */
export function rpmMacroPath(path: string): string {
  if (!MACRO_SAFE.test(path)) {
    throw new AirlockError('E_CONFIG', `the path ${JSON.stringify(path)} has characters rpm would split or expand in a macro; set TMPDIR to a directory whose path holds only letters, digits and . _ / + , = : @ ~ % -`);
  }
  return path.replaceAll('%', '%%');
}

export interface RpmReleaseCheck {
  /** Observed with observeRpmTools; undefined when nobody looked (a programming error). */
  tools: RpmTools | undefined;
  publicUrl: string | undefined;
  /** The type of the pgp key that will sign, undefined when the keystore has none. */
  pgpKeyType: KeyType | undefined;
}

/** Refuses a release with .rpm files the terminal cannot sign and index, before anything runs. */
export function checkRpmRelease(c: RpmReleaseCheck): void {
  if (!c.tools) throw new AirlockError('E_INTERNAL', 'the rpm tools were not observed before the release plan');
  const [first] = c.tools.missing;
  if (first) {
    const pkgs = [...new Set(c.tools.missing.map((m) => m.pkg))].join(' ');
    throw new AirlockError('E_TOOL_MISSING', `${c.tools.missing.map((m) => m.tool).join(', ')} ${c.tools.missing.length === 1 ? 'is' : 'are'} missing; a release with .rpm files needs them (Debian: apt-get install ${pkgs})`, { details: { missing: c.tools.missing } });
  }
  rpmMacroPath(c.tools.tmpdir);
  if (c.pgpKeyType === undefined) throw new AirlockError('E_KEY_NOT_FOUND', 'the release has .rpm files but the keystore has no pgp key to sign them; run `airlock key generate pgp`');
  if (!RPM_KEY_TYPES.includes(c.pgpKeyType)) throw new AirlockError('E_KEY_ROLE', `rpm cannot verify package signatures by a ${c.pgpKeyType} pgp key; a release with .rpm files needs an Ed25519 pgp key (airlock key generate pgp --key-type ed25519)`);
  if (!c.publicUrl) throw new AirlockError('E_CONFIG', 'the release has .rpm files: set "publicUrl" (the host\'s public base URL, e.g. "https://releases.example.org") in airlock.json, for the .repo file users install');
}
