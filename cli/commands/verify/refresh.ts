// airlock-verify refresh: bring the trusted metadata up to date, download nothing else.
import type { TrustedMetadataSet } from '../../../lib/verify/index.js';
import { emit } from '../../run.js';
import { openUpdater, type SessionOptions } from '../../verify-session.js';

export function trustedSummary(trusted: TrustedMetadataSet): Record<string, { version: number; expires: string }> {
  const out: Record<string, { version: number; expires: string }> = {};
  for (const [role, signed] of [
    ['root', trusted.root],
    ['timestamp', trusted.timestamp],
    ['snapshot', trusted.snapshot],
    ['targets', trusted.targets],
  ] as const) {
    if (signed) out[role] = { version: signed.version, expires: signed.expires };
  }
  return out;
}

export async function refresh(opts: SessionOptions): Promise<void> {
  const updater = await openUpdater(opts);
  await updater.refresh();
  const roles = trustedSummary(updater.trusted!);
  emit(opts, { ok: true, command: 'refresh', roles }, () =>
    Object.entries(roles).map(([role, r]) => `${role.padEnd(9)} version ${r.version}, expires ${r.expires}`),
  );
}
