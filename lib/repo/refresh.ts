// Keeping a published repository alive while the terminal sits offline (docs/keys.md): clients refuse expired metadata (TUF §5.4.4 freeze attack), so the
// timestamp is re-signed on every refresh, and targets and snapshot when they would
// otherwise expire before the next refresh is due. Plan, then apply: the plan is pure,
// so the CLI unlocks only the keys it needs.
import { join } from 'node:path';
import { parseExpires, type RootSigned } from '../core/tuf-metadata.js';
import type { Signer } from '../keys/signer.js';
import { aptDists, resignAptRelease } from './compat/index.js';
import { expiresAt, type ExpiryDays } from './expiry.js';
import { LocalRepository, type CurrentMetadata } from './local-repository.js';
import { commitFiles, ONLINE_ROLES, resignOnline, withDependents, type OnlineRole, type OnlineSigners } from './resign.js';

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
export function planRefresh(current: Pick<CurrentMetadata, 'root' | 'targets' | 'snapshot' | 'timestamp'>, options: RefreshOptions): RefreshPlan {
  const horizon = options.now.getTime() + (options.expiryDays.timestamp + options.marginDays) * DAY_MS;
  const expiring = (expires: string): boolean => (parseExpires(expires)?.getTime() ?? 0) <= horizon;
  const due: RoleDue[] = [];
  for (const role of ONLINE_ROLES) {
    const expires = current[role].signed.expires;
    if (role === 'timestamp') due.push({ role, expires, reason: 'timestamp' });
    else if (options.force?.includes(role)) due.push({ role, expires, reason: 'forced' });
    else if (expiring(expires)) due.push({ role, expires, reason: 'expiring' });
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
export async function aptReleasesDue(repoDir: string): Promise<{ dist: string; validUntil?: Date }[]> {
  return aptDists(join(repoDir, 'apt'));
}

/** Re-signs what `planRefresh` says is due, with the keys the current root lists; with `aptPgp`, every apt Release too. */
export async function refreshRepository(repoDir: string, stagingRoot: string, signers: OnlineSigners, options: RefreshOptions & { aptPgp?: Signer }): Promise<RefreshResult> {
  const repo = new LocalRepository(repoDir);
  const current = await repo.current();
  const plan = planRefresh(current, options);
  const root: RootSigned = current.root.signed;
  const resigned = await resignOnline(current, root, plan.resign, signers, { ...options, readBin: (s, b) => repo.readDelegated(s, b) });
  const aptFiles: { path: string; bytes: Uint8Array }[] = [];
  if (options.aptPgp) {
    const validUntil = new Date(expiresAt('timestamp', options.now, options.expiryDays));
    for (const { dist } of await aptReleasesDue(repoDir)) {
      const distDir = join(repoDir, 'apt', 'dists', dist);
      for (const f of await resignAptRelease({ fromDistDir: distDir, pgp: options.aptPgp, date: options.now, validUntil, name: `apt/dists/${dist}/Release` })) {
        aptFiles.push({ path: `apt/dists/${dist}/${f.name}`, bytes: new Uint8Array(Buffer.from(f.text)) });
      }
    }
  }
  const files = await commitFiles(repoDir, stagingRoot, 'refresh', [...aptFiles, ...resigned.files]);
  const expires: RefreshResult['expires'] = {};
  for (const role of plan.resign) expires[role] = resigned.next[role].signed.expires;
  return { plan, versions: resigned.versions, expires, files };
}
