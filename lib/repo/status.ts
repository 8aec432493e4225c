// What the release manager must know before the terminal goes back in the drawer:
// each role's version, expiry and keys, and what expires soon (a lapsed timestamp
// freezes every client until `airlock refresh`; a lapsed root needs the ceremony).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from '../core/digest.js';
import type { TopLevelRole } from '../core/tuf-metadata.js';
import { fromSystemError } from '../core/errors.js';
import { addReleasesOf, binSummariesWithReleases } from './bin-summary.js';
import { aptDists } from './compat/index.js';
import { binNamesOf } from './hash-bins.js';
import { LocalRepository } from './local-repository.js';
import { heldUnsigned, unfinishedImports, type UnfinishedImport } from './unfinished-imports.js';

export interface RoleStatus {
  role: TopLevelRole;
  version: number;
  expires: string;
  daysLeft: number;
  keyids: string[];
  threshold: number;
  /** Key ids of this role held in the keystores given to repositoryStatus. */
  heldHere?: string[];
  /** What renews this role: online roles by `airlock refresh`, root by the ceremony. */
  renewWith: 'refresh' | 'root-ceremony';
  warning?: 'expired' | 'expires-soon';
}

/** A hash bin (succinct delegation, TAP 15): signed by the targets keys, renewed by refresh with targets. */
export interface BinStatus {
  role: string;
  version: number;
  expires: string;
  daysLeft: number;
  targets: number;
  warning?: 'expired' | 'expires-soon';
}

export interface RepositoryStatus {
  roles: RoleStatus[];
  /** Every hash bin, when targets delegates to bins (empty otherwise). */
  bins: BinStatus[];
  /** Targets in targets.json and every bin. */
  targets: number;
  /**
   * `project/version` of each release directory the copy holds (releases/PROJECT/VERSION/)
   * that the signed metadata lists a target of, sorted.
   */
  releases: string[];
  /**
   * Release directories no signed target is under — made by hand, empty, or left by an
   * interrupted release — and not an unfinished import's (those are in unfinishedImports).
   */
  unsignedReleaseDirectories: string[];
  /** Imports that moved releases into the copy without signing them yet: re-run `airlock import` on each source. */
  unfinishedImports: UnfinishedImport[];
  /** SHA-256 of keys/root.json, the bootstrap root users pin. */
  rootFingerprint?: string;
  /** Each apt suite's signed Release: apt refuses it after Valid-Until (renewed by `airlock refresh`). */
  apt: { dist: string; validUntil?: string; daysLeft?: number; warning?: 'expired' | 'expires-soon' }[];
}

const DAY_MS = 86_400_000;

function daysLeftOf(expires: string, now: Date): number {
  return Math.floor((Date.parse(expires) - now.getTime()) / DAY_MS);
}

function warningOf(expires: string, now: Date, warnDays: number): 'expired' | 'expires-soon' | undefined {
  if (Date.parse(expires) <= now.getTime()) return 'expired';
  return daysLeftOf(expires, now) < warnDays ? 'expires-soon' : undefined;
}

export async function repositoryStatus(repoDir: string, now: Date, warnDays: number, options: { heldKeyIds?: ReadonlySet<string>; /** $AIRLOCK_HOME/imports: the import journals. */ importsDir?: string } = {}): Promise<RepositoryStatus> {
  const current = await new LocalRepository(repoDir).current();
  const roles: RoleStatus[] = (['root', 'targets', 'snapshot', 'timestamp'] as const).map((role) => {
    const signed = current[role].signed;
    const daysLeft = daysLeftOf(signed.expires, now);
    const keys = current.root.signed.roles[role];
    const status: RoleStatus = { role, version: signed.version, expires: signed.expires, daysLeft, keyids: keys.keyids, threshold: keys.threshold, renewWith: role === 'root' ? 'root-ceremony' : 'refresh' };
    if (options.heldKeyIds) status.heldHere = keys.keyids.filter((k) => options.heldKeyIds!.has(k));
    const warning = warningOf(signed.expires, now, warnDays);
    if (warning) status.warning = warning;
    return status;
  });
  // Bins from their summary (bin-summary.ts), not parsed: at 1M targets they are ~500 MB.
  const { summaries, releases: binReleases } = await binSummariesWithReleases(repoDir, current.snapshot.signed, binNamesOf(current.targets.signed));
  const topReleases = new Set<string>();
  addReleasesOf(current.targets.signed.targets, topReleases);
  const bins: BinStatus[] = [...summaries].map(([role, { version, expires, targets }]) => {
    const bin: BinStatus = { role, version, expires, daysLeft: daysLeftOf(expires, now), targets };
    const warning = warningOf(expires, now, warnDays);
    if (warning) bin.warning = warning;
    return bin;
  });
  const targets = Object.keys(current.targets.signed.targets).length + bins.reduce((n, b) => n + b.targets, 0);
  const imports = options.importsDir ? await unfinishedImports(options.importsDir, repoDir) : [];
  const releases: string[] = [];
  const unsignedReleaseDirectories: string[] = [];
  // Both sorted: one walk, no Set of 100,000 names (45 ms at 1M targets).
  let i = 0;
  for (const r of await releaseDirectories(repoDir)) {
    while (i < binReleases.length && binReleases[i]! < r) i++;
    if (binReleases[i] === r || topReleases.has(r)) releases.push(r);
    else if (!heldUnsigned(imports, { project: r.slice(0, r.indexOf('/')), version: r.slice(r.indexOf('/') + 1) })) unsignedReleaseDirectories.push(r);
  }
  const apt = (await aptDists(join(repoDir, 'apt'))).map(({ dist, validUntil }) => {
    if (!validUntil) return { dist };
    const expires = validUntil.toISOString().replace('.000Z', 'Z');
    const warning = warningOf(expires, now, warnDays);
    return { dist, validUntil: expires, daysLeft: daysLeftOf(expires, now), ...(warning ? { warning } : {}) };
  });
  const result: RepositoryStatus = { roles, bins, targets, releases, unsignedReleaseDirectories, unfinishedImports: imports, apt };
  const bootstrap = await readFile(join(repoDir, 'keys', 'root.json')).catch(() => undefined);
  if (bootstrap) result.rootFingerprint = sha256Hex(bootstrap);
  return result;
}

/**
 * The release directories the copy holds (one readdir a project). Which are releases is
 * said by the signed metadata, through the releases the bins' summary keeps (bin-summary.ts):
 * naming each release from its targets would read every bin, and opening each directory
 * to look for a signed file took status at 1M targets from ~1.6 s to 5–8 s (100,000
 * directories, 2 cores at load 7–12).
 */
async function releaseDirectories(repoDir: string): Promise<string[]> {
  const top = join(repoDir, 'releases');
  const dirsIn = async (dir: string): Promise<string[]> => {
    try {
      return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw fromSystemError(err, `listing ${dir}`);
    }
  };
  const projects = await dirsIn(top);
  const out: string[] = [];
  // A few listings at once: one at a time, 1,000 projects (1M targets) mostly wait.
  for (let i = 0; i < projects.length; i += 32) {
    const batch = projects.slice(i, i + 32);
    const versions = await Promise.all(batch.map((project) => dirsIn(join(top, project))));
    batch.forEach((project, j) => {
      for (const version of versions[j]!) out.push(`${project}/${version}`);
    });
  }
  return out.sort();
}
