// Keeping a published repository alive while the terminal sits offline (docs/keys.md): clients refuse expired metadata (TUF §5.4.4 freeze attack), so the
// timestamp is re-signed on every refresh, and targets and snapshot when they would
// otherwise expire before the next refresh is due. Plan, then apply: the plan is pure,
// so the CLI unlocks only the keys it needs.
import { join } from 'node:path';
import { parseExpires } from '../core/tuf-metadata.js';
import { aptDists, resignAptRelease } from './compat/index.js';
import type { AptDist, AptSigners } from './compat/apt-release.js';
import { expiresAt, type ExpiryDays } from './expiry.js';
import { binExpiries } from './bin-summary.js';
import type { CurrentMetadata } from './local-repository.js';
import { ONLINE_ROLES, RepositoryTransaction, withDependents, type OnlineRole, type RoleSigners } from './transaction.js';

const DAY_MS = 86_400_000;

export interface RefreshOptions {
  now: Date;
  expiryDays: ExpiryDays;
  /** Days of slack before a role counts as due (the terminal's warnDays). */
  marginDays: number;
  /** Roles to re-sign even if not due. */
  force?: readonly OnlineRole[];
}

export interface RoleDue {
  role: OnlineRole | 'root';
  expires: string;
  /** Why the role is re-signed: always for timestamp, expiring, forced, or a dependency re-signed. */
  reason: 'timestamp' | 'expiring' | 'forced' | 'dependent';
}

export interface RefreshPlan {
  /** Roles to re-sign, in signing order. */
  resign: OnlineRole[];
  due: RoleDue[];
  /** Root cannot be refreshed with online keys; set when it needs the ceremony (`airlock root propose`). */
  rootDue?: RoleDue;
}

/**
 * A role is due when it expires before the next refresh can be counted on: within one
 * timestamp period (the longest a refresh may wait) plus the margin. So after a refresh
 * nothing the clients need expires before the timestamp does.
 */
export function planRefresh(current: Pick<CurrentMetadata, 'root' | 'targets' | 'snapshot' | 'timestamp'> & { bins?: ReadonlyMap<string, { signed: { expires: string } }> }, options: RefreshOptions): RefreshPlan {
  const horizon = options.now.getTime() + (options.expiryDays.timestamp + options.marginDays) * DAY_MS;
  const expiring = (expires: string): boolean => (parseExpires(expires)?.getTime() ?? 0) <= horizon;
  const due: RoleDue[] = [];
  for (const role of ONLINE_ROLES) {
    const expires = current[role].signed.expires;
    if (role === 'timestamp') due.push({ role, expires, reason: 'timestamp' });
    else if (options.force?.includes(role)) due.push({ role, expires, reason: 'forced' });
    else if (expiring(expires)) due.push({ role, expires, reason: 'expiring' });
    // Hash bins are renewed with targets (they share its keys and expiry): a bin no release
    // touched for a while makes targets due.
    else if (role === 'targets' && [...(current.bins?.values() ?? [])].some((b) => expiring(b.signed.expires))) {
      due.push({ role, expires: [...current.bins!.values()].map((b) => b.signed.expires).sort()[0]!, reason: 'expiring' });
    }
  }
  const resign = withDependents(due.map((d) => d.role as OnlineRole));
  for (const role of resign) if (!due.some((d) => d.role === role)) due.push({ role, expires: current[role].signed.expires, reason: 'dependent' });
  due.sort((a, b) => resign.indexOf(a.role as OnlineRole) - resign.indexOf(b.role as OnlineRole));
  const plan: RefreshPlan = { resign, due };
  if (expiring(current.root.signed.expires)) plan.rootDue = { role: 'root', expires: current.root.signed.expires, reason: 'expiring' };
  return plan;
}

export interface RefreshResult {
  plan: RefreshPlan;
  versions: Partial<Record<OnlineRole, number>>;
  expires: Partial<Record<OnlineRole, string>>;
  files: string[];
}

/**
 * The apt suites whose signed Release a refresh renews: every one, on every refresh, like
 * the timestamp (their Valid-Until is one timestamp period), so apt accepts the
 * repository exactly as long as TUF clients do.
 */
export async function aptReleasesDue(repoDir: string): Promise<AptDist[]> {
  return aptDists(join(repoDir, 'apt'));
}

/** Re-signs what `planRefresh` says is due, with the keys the current root lists; with `aptPgp` (the current pgp key, then any co-signers), every apt Release too. */
export async function refreshRepository(repoDir: string, stagingRoot: string, signers: RoleSigners, options: RefreshOptions & { aptPgp?: AptSigners }): Promise<RefreshResult> {
  const tx = await RepositoryTransaction.open(repoDir, stagingRoot, options);
  try {
    // Bins' expiries from the copy's summary: a refresh that renews only the timestamp reads no bin.
    const current = await tx.repo.current();
    const plan = planRefresh({ ...current, bins: await binExpiries(repoDir, current) }, options);
    tx.resign(plan.resign);
    if (options.aptPgp) {
      const validUntil = new Date(expiresAt('timestamp', options.now, options.expiryDays));
      for (const { dist } of await aptReleasesDue(repoDir)) {
        const distDir = join(repoDir, 'apt', 'dists', dist);
        for (const f of await resignAptRelease({ fromDistDir: distDir, pgp: options.aptPgp, date: options.now, validUntil, name: `apt/dists/${dist}/Release` })) {
          tx.addFile(`apt/dists/${dist}/${f.name}`, f.text);
        }
      }
    }
    const result = await tx.commit(signers);
    const expires: RefreshResult['expires'] = {};
    for (const role of plan.resign) expires[role] = result.next[role].signed.expires;
    return { plan, versions: result.versions, expires, files: result.files };
  } finally {
    await tx.close();
  }
}
