// What the release manager must know before the terminal goes back in the drawer:
// each role's version, expiry and keys, and what expires soon (a lapsed timestamp
// freezes every client until `airlock refresh`; a lapsed root needs the ceremony).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from '../core/digest.js';
import type { TopLevelRole } from '../core/tuf-metadata.js';
import { aptDists } from './compat/index.js';
import { LocalRepository } from './local-repository.js';

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

export interface RepositoryStatus {
  roles: RoleStatus[];
  targets: number;
  releases: string[];
  /** SHA-256 of keys/root.json, the bootstrap root users pin. */
  rootFingerprint?: string;
  /** Each apt suite's signed Release: apt refuses it after Valid-Until (renewed by `airlock refresh`). */
  apt: { dist: string; validUntil?: string; daysLeft?: number; warning?: 'expired' | 'expires-soon' }[];
}

const DAY_MS = 86_400_000;

export async function repositoryStatus(repoDir: string, now: Date, warnDays: number, options: { heldKeyIds?: ReadonlySet<string> } = {}): Promise<RepositoryStatus> {
  const current = await new LocalRepository(repoDir).current();
  const roles: RoleStatus[] = (['root', 'targets', 'snapshot', 'timestamp'] as const).map((role) => {
    const signed = current[role].signed;
    const daysLeft = Math.floor((Date.parse(signed.expires) - now.getTime()) / DAY_MS);
    const keys = current.root.signed.roles[role];
    const status: RoleStatus = { role, version: signed.version, expires: signed.expires, daysLeft, keyids: keys.keyids, threshold: keys.threshold, renewWith: role === 'root' ? 'root-ceremony' : 'refresh' };
    if (options.heldKeyIds) status.heldHere = keys.keyids.filter((k) => options.heldKeyIds!.has(k));
    if (Date.parse(signed.expires) <= now.getTime()) status.warning = 'expired';
    else if (daysLeft < warnDays) status.warning = 'expires-soon';
    return status;
  });
  const releases = [...new Set(Object.values(current.targets.signed.targets).map((t) => {
    const a = t.custom?.airlock;
    return a ? `${a.project}/${a.version}` : undefined;
  }).filter((r): r is string => r !== undefined))].sort();
  const apt = (await aptDists(join(repoDir, 'apt'))).map(({ dist, validUntil }) => {
    if (!validUntil) return { dist };
    const daysLeft = Math.floor((validUntil.getTime() - now.getTime()) / DAY_MS);
    const warning = validUntil.getTime() <= now.getTime() ? ('expired' as const) : daysLeft < warnDays ? ('expires-soon' as const) : undefined;
    return { dist, validUntil: validUntil.toISOString().replace('.000Z', 'Z'), daysLeft, ...(warning ? { warning } : {}) };
  });
  const result: RepositoryStatus = { roles, targets: Object.keys(current.targets.signed.targets).length, releases, apt };
  const bootstrap = await readFile(join(repoDir, 'keys', 'root.json')).catch(() => undefined);
  if (bootstrap) result.rootFingerprint = sha256Hex(bootstrap);
  return result;
}
