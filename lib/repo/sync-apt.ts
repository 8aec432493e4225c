// The apt part of `airlock sync`: the next release rebuilds the apt indices from the
// copy's own apt/dists (compat/apt-repository.ts keeps every version already listed),
// so a copy synced without them would drop the packages of the releases it took in.
// The TUF metadata does not cover apt/, so what can be checked is: Release lists each
// index with its SHA256 and size (checked), and every package an index lists must be a
// .deb target whose SHA256 the verified targets metadata vouches for (its pool file is
// then that target's verified bytes). Release is believed only when Release.gpg and
// InRelease are both signed by the CURRENT pgp key (sync-pgp-keys.ts: an earlier key of
// keys/release-signing.asc may co-sign, never vouch alone) and InRelease holds exactly
// Release's text (E_APT_SIGNATURE, E_SYNC_OLD_PGP_KEY otherwise): the next release
// re-signs what the copy took, so a host must not be able to hand it indices the current
// key never signed.
//
// Nor older ones, though signed (E_ROLLBACK, as sync-rpm.ts for repomd.xml): a Release
// whose Date is before the copy's own for that suite, a host without a suite the copy
// has, or a Packages index that lacks a package the copy's own lists — taking it would
// make the next release drop the packages released since. An equal Date is the same
// Release (or a refresh of it) and is fine.
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError } from '../core/errors.js';
import type { TargetFileInfo } from '../core/tuf-metadata.js';
import { field, parseParagraphs } from './compat/deb822.js';
import { cleartextSigners, detachedSignatureSigners } from './compat/openpgp-verify.js';
import { assertSignedByCurrentKey, type SyncPgpKeys } from './sync-pgp-keys.js';

/** What the apt part brings in: index bytes (checked) and pool files (copies of verified targets). */
export interface AptFiles {
  indices: { path: string; bytes: Uint8Array }[];
  pool: { path: string; target: string; info: TargetFileInfo }[];
}

const MAX_INDEX_BYTES = 256 * 1024 * 1024;

/** The apt suites the copy has (apt/dists/*), or "stable" for a copy without apt yet. */
export async function aptSuitesOf(repoDir: string): Promise<string[]> {
  try {
    return (await readdir(join(repoDir, 'apt', 'dists'), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return ['stable'];
  }
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function refused(what: string, path: string): AirlockError {
  return new AirlockError('E_HASH', `the host's apt repository is not consistent with its signed metadata: ${what}; do not sync from this host`, { details: { path } });
}

function unsigned(what: string, path: string): AirlockError {
  return new AirlockError('E_APT_SIGNATURE', `the host's ${path} ${what}; its apt repository is not what this copy's pgp key signed — do not sync from this host`, { details: { path } });
}

function rolledBack(what: string, path: string, details: Record<string, unknown> = {}): AirlockError {
  return new AirlockError('E_ROLLBACK', `the host's apt repository is older than the copy's: ${what}; taking it would make the next release drop packages — do not sync from this host (publish the copy to it instead, if the copy is the newer one)`, {
    details: { path, ...details },
  });
}

/** A Release's one paragraph; `damaged` makes the error for a malformed one. */
function releaseParagraph(text: string, path: string, damaged: (what: string) => AirlockError): ReturnType<typeof parseParagraphs>[number] {
  let ps;
  try {
    ps = parseParagraphs(text, path);
  } catch (err) {
    throw damaged(`is not a control file (${(err as AirlockError).code})`);
  }
  if (ps.length !== 1) throw damaged('is not one Release paragraph');
  return ps[0]!;
}

/** The Release's Date (Debian writes RFC 2822 in UTC: "Sun, 01 Mar 2026 00:00:00 UTC"), or undefined. */
function releaseDate(paragraph: ReturnType<typeof parseParagraphs>[number]): Date | undefined {
  const v = field(paragraph, 'Date');
  if (v === undefined) return undefined;
  const d = new Date(v.replace(/ UTC$/, ' GMT'));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Release's SHA256 section: [hash, size, path relative to the suite]. */
function releaseIndices(text: string): string[][] {
  const section = /^SHA256:\n((?: .*\n?)*)/m.exec(text)?.[1] ?? '';
  return section
    .split('\n')
    .filter((l) => l.startsWith(' '))
    .map((l) => l.trim().split(/\s+/));
}

/** A Packages index's packages: "name version architecture" → SHA256. */
function packagesOf(bytes: Uint8Array, path: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of parseParagraphs(Buffer.from(bytes).toString('utf8'), path)) {
    const [pkg, version, arch, sha] = ['Package', 'Version', 'Architecture', 'SHA256'].map((f) => field(p, f));
    if (pkg !== undefined) out.set(`${pkg} ${version ?? ''} ${arch ?? ''}`, (sha ?? '').toLowerCase());
  }
  return out;
}

/** Reads a file of the copy's own tree (undefined when it has none). */
export type OwnFile = (path: string) => Promise<Uint8Array | undefined>;

/**
 * `keys`: which pgp keys vouch (sync-pgp-keys.ts). `own`: the copy's own files, for the
 * rollback checks. Everything is checked before anything is returned; nothing is written.
 */
export async function aptFilesOf(
  suites: string[],
  fetch: (path: string, max: number) => Promise<Uint8Array | undefined>,
  targets: ReadonlyMap<string, TargetFileInfo>,
  keys: SyncPgpKeys,
  own: OwnFile,
): Promise<AptFiles> {
  const bySha = new Map<string, [string, TargetFileInfo]>();
  for (const [p, info] of targets) if (p.endsWith('.deb') && info.hashes.sha256) bySha.set(info.hashes.sha256.toLowerCase(), [p, info]);
  const out: AptFiles = { indices: [], pool: [] };
  for (const suite of suites) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(suite)) continue;
    const base = `apt/dists/${suite}`;
    const ownRelease = await own(`${base}/Release`);
    const release = await fetch(`${base}/Release`, 4 * 1024 * 1024);
    if (release === undefined) {
      if (ownRelease !== undefined) throw rolledBack(`it has no ${base}/Release, which the copy has`, `${base}/Release`);
      continue;
    }
    const text = Buffer.from(release).toString('utf8');
    const releaseGpg = await fetch(`${base}/Release.gpg`, 4 * 1024 * 1024);
    const inRelease = await fetch(`${base}/InRelease`, 4 * 1024 * 1024);
    // Signatures first: nothing in Release (its Date included) means anything before.
    if (releaseGpg === undefined) throw unsigned('has no Release.gpg', `${base}/Release`);
    assertSignedByCurrentKey(`${base}/Release.gpg`, detachedSignatureSigners(Buffer.from(releaseGpg).toString('utf8'), release, keys.known), keys, (what) => unsigned(what, `${base}/Release.gpg`));
    if (inRelease === undefined) throw unsigned('is missing', `${base}/InRelease`);
    assertSignedByCurrentKey(`${base}/InRelease`, cleartextSigners(Buffer.from(inRelease).toString('utf8'), text, keys.known), keys, (what) => unsigned(`${what}, or is not exactly Release signed`, `${base}/InRelease`));
    const theirs = releaseParagraph(text, `${base}/Release`, (what) => refused(`Release ${what}`, `${base}/Release`));
    const ownText = ownRelease === undefined ? undefined : Buffer.from(ownRelease).toString('utf8');
    if (ownText !== undefined) {
      const damaged = (what: string) => new AirlockError('E_REPOSITORY_DAMAGED', `the copy's own ${base}/Release ${what}; restore the repository copy from a backup`, { details: { path: `${base}/Release` } });
      const ownDate = releaseDate(releaseParagraph(ownText, `${base}/Release`, damaged));
      if (ownDate === undefined) throw damaged('has no Date');
      const hostDate = releaseDate(theirs);
      if (hostDate === undefined || hostDate.getTime() < ownDate.getTime()) {
        throw rolledBack(`its ${base}/Release is dated ${hostDate?.toISOString() ?? '(no date)'}, before the copy's ${ownDate.toISOString()}`, `${base}/Release`, {
          host: hostDate?.toISOString() ?? null,
          local: ownDate.toISOString(),
        });
      }
    }
    out.indices.push({ path: `${base}/Release`, bytes: release }, { path: `${base}/InRelease`, bytes: inRelease }, { path: `${base}/Release.gpg`, bytes: releaseGpg });
    const hostPackages = new Map<string, Uint8Array>();
    for (const entry of releaseIndices(text)) {
      const [hash, size, path] = entry;
      if (!hash || !size || !path || entry.length !== 3 || path.includes('..') || path.startsWith('/')) throw refused(`Release lists ${JSON.stringify(entry.join(' '))}`, `${base}/Release`);
      const full = `${base}/${path}`;
      const bytes = await fetch(full, MAX_INDEX_BYTES);
      // Every index Release lists must be there: a copy keeping its own older Packages
      // beside the host's newer Release would be inconsistent (airlock writes them all).
      if (bytes === undefined) throw refused(`${path}, which Release lists, is missing`, full);
      if (bytes.length !== Number(size) || sha256(bytes) !== hash.toLowerCase()) throw refused(`${path} is not the file Release lists`, full);
      out.indices.push({ path: full, bytes });
      if (!path.endsWith('/Packages')) continue;
      hostPackages.set(full, bytes);
      for (const para of Buffer.from(bytes).toString('utf8').split(/\n\n+/)) {
        const filename = /^Filename: (.+)$/m.exec(para)?.[1];
        const sha = /^SHA256: ([0-9a-f]{64})$/m.exec(para)?.[1];
        if (filename === undefined) continue;
        const target = sha === undefined ? undefined : bySha.get(sha);
        if (target === undefined || !/^pool\/[A-Za-z0-9._+\/-]+\.deb$/.test(filename) || filename.includes('..')) {
          throw refused(`${filename} is not a .deb target of the verified metadata`, full);
        }
        if (!out.pool.some((p) => p.path === `apt/${filename}`)) out.pool.push({ path: `apt/${filename}`, target: target[0], info: target[1] });
      }
    }
    if (ownText !== undefined) await assertKeepsOwnPackages(base, ownText, hostPackages, own);
  }
  return out;
}

/** Every package the copy's own Packages indices list is in the host's index of the same path, with the same SHA256 (E_ROLLBACK). */
async function assertKeepsOwnPackages(base: string, ownRelease: string, host: ReadonlyMap<string, Uint8Array>, own: OwnFile): Promise<void> {
  for (const [, , path] of releaseIndices(ownRelease)) {
    if (path === undefined || !path.endsWith('/Packages') || path.includes('..')) continue;
    const full = `${base}/${path}`;
    const mine = await own(full);
    if (mine === undefined) continue; // the copy's own gap: the next release reports it (E_APT_INDEX)
    const theirs = host.get(full);
    const theirPackages = theirs === undefined ? new Map<string, string>() : packagesOf(theirs, full);
    const missing = [...packagesOf(mine, full)].filter(([key, sha]) => theirPackages.get(key) !== sha).map(([key]) => key);
    if (missing.length > 0) {
      throw rolledBack(`its ${full} lacks ${missing.length} package(s) the copy's lists (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''})`, full, { missing: missing.slice(0, 100) });
    }
  }
}

