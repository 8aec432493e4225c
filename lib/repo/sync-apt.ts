// The apt part of `airlock sync`: the next release rebuilds the apt indices from the
// copy's own apt/dists (compat/apt-repository.ts keeps every version already listed),
// so a copy synced without them would drop the packages of the releases it took in.
// The TUF metadata does not cover apt/, so what can be checked is: Release lists each
// index with its SHA256 and size (checked), and every package an index lists must be a
// .deb target whose SHA256 the verified targets metadata vouches for (its pool file is
// then that target's verified bytes). Release is believed only when Release.gpg and
// InRelease both verify under the copy's own pgp keys (keys/release-signing.asc, every
// key it ever used) and InRelease holds exactly Release's text (E_APT_SIGNATURE
// otherwise): the next release re-signs what the copy took, so a host must not be able
// to hand it indices the pgp key never signed.
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError } from '../core/errors.js';
import type { TargetFileInfo } from '../core/tuf-metadata.js';
import { cleartextVerifies, detachedSignatureVerifies, keyringKeys } from './compat/openpgp-verify.js';

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

/** `keyring`: the copy's keys/release-signing.asc (undefined when it has none: then no Release is believed). */
export async function aptFilesOf(
  suites: string[],
  fetch: (path: string, max: number) => Promise<Uint8Array | undefined>,
  targets: ReadonlyMap<string, TargetFileInfo>,
  keyring: string | undefined,
): Promise<AptFiles> {
  const keys = keyring === undefined ? [] : keyringKeys(keyring);
  const bySha = new Map<string, [string, TargetFileInfo]>();
  for (const [p, info] of targets) if (p.endsWith('.deb') && info.hashes.sha256) bySha.set(info.hashes.sha256.toLowerCase(), [p, info]);
  const out: AptFiles = { indices: [], pool: [] };
  for (const suite of suites) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(suite)) continue;
    const base = `apt/dists/${suite}`;
    const release = await fetch(`${base}/Release`, 4 * 1024 * 1024);
    if (release === undefined) continue;
    const text = Buffer.from(release).toString('utf8');
    const releaseGpg = await fetch(`${base}/Release.gpg`, 4 * 1024 * 1024);
    const inRelease = await fetch(`${base}/InRelease`, 4 * 1024 * 1024);
    if (releaseGpg === undefined || !detachedSignatureVerifies(Buffer.from(releaseGpg).toString('utf8'), release, keys)) {
      throw unsigned(releaseGpg === undefined ? 'has no Release.gpg' : 'Release.gpg is not a signature of Release by a key in keys/release-signing.asc', `${base}/Release`);
    }
    if (inRelease === undefined || !cleartextVerifies(Buffer.from(inRelease).toString('utf8'), text, keys)) {
      throw unsigned(inRelease === undefined ? 'is missing' : 'is not Release signed by a key in keys/release-signing.asc', `${base}/InRelease`);
    }
    out.indices.push({ path: `${base}/Release`, bytes: release }, { path: `${base}/InRelease`, bytes: inRelease }, { path: `${base}/Release.gpg`, bytes: releaseGpg });
    const section = /^SHA256:\n((?: .*\n?)*)/m.exec(text)?.[1] ?? '';
    for (const line of section.split('\n').filter((l) => l.startsWith(' '))) {
      const [hash, size, path] = line.trim().split(/\s+/);
      if (!hash || !size || !path || path.includes('..') || path.startsWith('/')) throw refused(`Release lists ${JSON.stringify(line.trim())}`, `${base}/Release`);
      const full = `${base}/${path}`;
      const bytes = await fetch(full, MAX_INDEX_BYTES);
      if (bytes === undefined) continue; // Release may list indices a host does not carry (compressed variants)
      if (bytes.length !== Number(size) || sha256(bytes) !== hash.toLowerCase()) throw refused(`${path} is not the file Release lists`, full);
      out.indices.push({ path: full, bytes });
      if (!path.endsWith('/Packages')) continue;
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
  }
  return out;
}
