// The rpm part of `airlock sync`: the next release indexes its new packages on top of the
// copy's own rpm/repodata (compat/rpm-repository.ts, `createrepo_c --update`), so a copy
// synced without it would publish repodata listing only the new packages, and dnf users
// would lose every earlier one. The TUF metadata does not cover rpm/ (the packages there
// carry a header signature the TUF targets do not), so the chain checked is the one dnf
// checks (createrepo_c(8), https://createrepo.baseurl.org/): repodata/repomd.xml.asc is a
// detached signature of repomd.xml by the CURRENT pgp key (sync-pgp-keys.ts: an earlier
// key of keys/release-signing.asc alone is E_SYNC_OLD_PGP_KEY; a bad or missing signature
// E_RPM_SIGNATURE), and the repodata is no older than the copy's own (E_ROLLBACK: by
// revision, and by the packages its primary keeps); repomd.xml names each metadata file
// with its SHA-256 and size (checked, and the uncompressed primary's open-checksum too); primary names each
// package with its SHA-256 and size, checked when the package is fetched. So every byte
// the copy takes was vouched for by the pgp key before the next release re-signs it.
import { gunzipSync } from 'node:zlib';
import { sha256Hex } from '../core/digest.js';
import { AirlockError } from '../core/errors.js';
import type { TargetFileInfo } from '../core/tuf-metadata.js';
import { detachedSignatureSigners } from './compat/openpgp-verify.js';
import { assertSignedByCurrentKey, type SyncPgpKeys } from './sync-pgp-keys.js';

/** What the rpm part brings in: repodata bytes (checked) and packages to fetch, each with the length and SHA-256 primary lists. */
export interface RpmFiles {
  indices: { path: string; bytes: Uint8Array }[];
  packages: { path: string; info: TargetFileInfo }[];
}

const REPOMD = 'rpm/repodata/repomd.xml';
const MAX_REPOMD_BYTES = 4 * 1024 * 1024;
/** Bound on one repodata file, compressed and uncompressed (a hostile host serves no gzip bomb). */
const MAX_REPODATA_BYTES = 256 * 1024 * 1024;
const REPODATA_HREF = /^repodata\/[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** compat/rpm-repository.ts puts every package here under a plain name. */
const PACKAGE_HREF = /^Packages\/[A-Za-z0-9][A-Za-z0-9._+~^-]*\.rpm$/;
const SHA256 = /^[0-9a-f]{64}$/;

function refused(what: string, path: string): AirlockError {
  return new AirlockError('E_HASH', `the host's rpm repository is not consistent with its signed repomd.xml: ${what}; do not sync from this host`, { details: { path } });
}

interface RepomdEntry {
  type: string;
  href: string;
  sha256: string;
  size?: number;
  openSha256?: string;
}

/** repomd.xml's <data> entries; anything airlock's createrepo_c run does not write (another checksum type, a path outside repodata/) is refused. */
export function parseRepomd(text: string): RepomdEntry[] {
  const out: RepomdEntry[] = [];
  for (const m of text.matchAll(/<data type="([A-Za-z0-9_]+)">([\s\S]*?)<\/data>/g)) {
    const [, type, body] = m as unknown as [string, string, string];
    const checksum = /<checksum type="([a-z0-9]+)">([0-9a-fA-F]+)<\/checksum>/.exec(body);
    const href = /<location href="([^"]*)"\s*\/>/.exec(body)?.[1];
    if (!checksum || checksum[1] !== 'sha256' || !SHA256.test(checksum[2]!.toLowerCase()) || href === undefined || !REPODATA_HREF.test(href)) {
      throw refused(`its entry for ${type} is not a sha256-named file under repodata/`, REPOMD);
    }
    const entry: RepomdEntry = { type, href, sha256: checksum[2]!.toLowerCase() };
    const size = /<size>(\d+)<\/size>/.exec(body)?.[1];
    if (size !== undefined) entry.size = Number(size);
    const open = /<open-checksum type="sha256">([0-9a-fA-F]{64})<\/open-checksum>/.exec(body)?.[1];
    if (open !== undefined) entry.openSha256 = open.toLowerCase();
    out.push(entry);
  }
  return out;
}

/** primary.xml's packages: where each is (under rpm/) and its length and SHA-256. */
export function parsePrimaryPackages(xml: string): { path: string; info: TargetFileInfo }[] {
  const out: { path: string; info: TargetFileInfo }[] = [];
  for (const m of xml.matchAll(/<package type="rpm">([\s\S]*?)<\/package>/g)) {
    const body = m[1]!;
    const checksum = /<checksum type="([a-z0-9]+)" pkgid="YES">([0-9a-fA-F]+)<\/checksum>/.exec(body);
    const size = /<size package="(\d+)"/.exec(body)?.[1];
    const href = /<location href="([^"]*)"\s*\/>/.exec(body)?.[1];
    if (!checksum || checksum[1] !== 'sha256' || !SHA256.test(checksum[2]!.toLowerCase()) || size === undefined || href === undefined || !PACKAGE_HREF.test(href)) {
      throw refused(`primary lists a package that is not a sha256-named plain file under Packages/ (${JSON.stringify(href ?? '')})`, 'rpm/repodata');
    }
    out.push({ path: `rpm/${href}`, info: { length: Number(size), hashes: { sha256: checksum[2]!.toLowerCase() } } });
  }
  return out;
}

/** repomd.xml's <revision> (airlock writes the release date's Unix time there), or undefined. */
export function repomdRevision(text: string): number | undefined {
  const r = /<revision>(\d+)<\/revision>/.exec(text)?.[1];
  return r === undefined ? undefined : Number(r);
}

/**
 * `keys`: which pgp keys vouch (sync-pgp-keys.ts). A host without rpm/repodata/repomd.xml
 * has no rpm repository. `own` reads the copy's own files: a host's repodata older than
 * the copy's (a lower repomd.xml revision, though validly signed; none where the copy has
 * one; a primary without a package the copy's lists) is a rollback (E_ROLLBACK) — taking
 * it would make the next release drop the packages released since.
 */
export async function rpmFilesOf(
  fetch: (path: string, max: number) => Promise<Uint8Array | undefined>,
  keys: SyncPgpKeys,
  own: (path: string) => Promise<Uint8Array | undefined> = async () => undefined,
): Promise<RpmFiles> {
  const out: RpmFiles = { indices: [], packages: [] };
  const ownBytes = await own(REPOMD);
  const ownRepomd = ownBytes === undefined ? undefined : Buffer.from(ownBytes).toString('utf8');
  const repomd = await fetch(REPOMD, MAX_REPOMD_BYTES);
  if (repomd === undefined) {
    if (ownRepomd !== undefined) throw new AirlockError('E_ROLLBACK', `the host has no ${REPOMD}, which the copy has; do not sync from this host`, { details: { path: REPOMD } });
    return out;
  }
  const asc = await fetch(`${REPOMD}.asc`, MAX_REPOMD_BYTES);
  const unsigned = (what: string) =>
    new AirlockError('E_RPM_SIGNATURE', `the host's ${REPOMD} ${what}; its rpm repository is not what this copy's pgp key signed — do not sync from this host`, { details: { path: REPOMD } });
  if (asc === undefined) throw unsigned('has no repomd.xml.asc');
  assertSignedByCurrentKey(`${REPOMD}.asc`, detachedSignatureSigners(Buffer.from(asc).toString('utf8'), repomd, keys.known), keys, unsigned);
  const ownRevision = ownRepomd === undefined ? undefined : repomdRevision(ownRepomd);
  const theirs = repomdRevision(Buffer.from(repomd).toString('utf8'));
  if (ownRevision !== undefined && (theirs === undefined || theirs < ownRevision)) {
    throw new AirlockError('E_ROLLBACK', `the host's ${REPOMD} is older (revision ${theirs ?? 'none'}) than the copy's (${ownRevision}); do not sync from this host`, {
      details: { path: REPOMD, host: theirs ?? null, local: ownRevision },
    });
  }
  out.indices.push({ path: REPOMD, bytes: repomd }, { path: `${REPOMD}.asc`, bytes: asc });
  const seen = new Set<string>();
  for (const entry of parseRepomd(Buffer.from(repomd).toString('utf8'))) {
    const path = `rpm/${entry.href}`;
    const bytes = await fetch(path, MAX_REPODATA_BYTES);
    if (bytes === undefined) throw refused(`${entry.href}, which repomd.xml lists, is missing`, path);
    if ((entry.size !== undefined && bytes.length !== entry.size) || sha256Hex(bytes) !== entry.sha256) throw refused(`${entry.href} is not the file repomd.xml lists`, path);
    out.indices.push({ path, bytes });
    if (entry.type !== 'primary') continue;
    let open: Buffer;
    try {
      open = entry.href.endsWith('.gz') ? gunzipSync(bytes, { maxOutputLength: MAX_REPODATA_BYTES }) : Buffer.from(bytes);
    } catch {
      throw refused(`${entry.href} does not decompress within ${MAX_REPODATA_BYTES} bytes`, path);
    }
    if (entry.openSha256 !== undefined && sha256Hex(open) !== entry.openSha256) throw refused(`${entry.href} does not decompress to the file repomd.xml lists`, path);
    for (const p of parsePrimaryPackages(open.toString('utf8'))) {
      if (seen.has(p.path)) throw refused(`primary lists ${p.path} twice`, path);
      seen.add(p.path);
      out.packages.push(p);
    }
  }
  if (ownRepomd !== undefined) {
    const theirPackages = new Map(out.packages.map((p) => [p.path, p.info.hashes.sha256]));
    const missing = (await ownPackages(ownRepomd, own)).filter((p) => theirPackages.get(p.path) !== p.info.hashes.sha256).map((p) => p.path);
    if (missing.length > 0) {
      throw new AirlockError('E_ROLLBACK', `the host's rpm repodata lacks ${missing.length} package(s) the copy's lists (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}); do not sync from this host`, {
        details: { path: REPOMD, missing: missing.slice(0, 100) },
      });
    }
  }
  return out;
}

/** The packages the copy's own primary lists (none when the copy lacks its primary: the next release reports that). */
async function ownPackages(ownRepomd: string, own: (path: string) => Promise<Uint8Array | undefined>): Promise<{ path: string; info: TargetFileInfo }[]> {
  const damaged = (what: string) => new AirlockError('E_REPOSITORY_DAMAGED', `the copy's own ${REPOMD} ${what}; restore the repository copy from a backup`, { details: { path: REPOMD } });
  let primary;
  try {
    primary = parseRepomd(ownRepomd).find((e) => e.type === 'primary');
  } catch {
    throw damaged('is not repodata airlock writes');
  }
  if (primary === undefined) return [];
  const bytes = await own(`rpm/${primary.href}`);
  if (bytes === undefined) return [];
  try {
    const open = primary.href.endsWith('.gz') ? gunzipSync(bytes, { maxOutputLength: MAX_REPODATA_BYTES }) : Buffer.from(bytes);
    return parsePrimaryPackages(open.toString('utf8'));
  } catch {
    throw damaged(`lists ${primary.href}, which is not a primary airlock writes`);
  }
}
