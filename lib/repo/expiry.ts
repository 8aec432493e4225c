// How long each role's metadata stays valid (docs/keys.md). The
// timestamp window is short because the timestamp key sits offline with the terminal:
// a client that sees no fresh timestamp within it stops trusting the repository
// (freeze-attack protection), so the release manager must run `airlock refresh` within it.
import { AirlockError } from '../core/errors.js';
import { formatExpires, type TopLevelRole } from '../core/tuf-metadata.js';

export type ExpiryDays = Record<TopLevelRole, number>;

export const DEFAULT_EXPIRY_DAYS: Readonly<ExpiryDays> = { root: 365, targets: 180, snapshot: 30, timestamp: 7 };

const DAY_MS = 24 * 60 * 60 * 1000;

export function expiresAt(role: TopLevelRole, now: Date, days: ExpiryDays = DEFAULT_EXPIRY_DAYS): string {
  return formatExpires(new Date(now.getTime() + days[role] * DAY_MS));
}

export function parseExpiryDays(value: unknown): ExpiryDays {
  const out: ExpiryDays = { ...DEFAULT_EXPIRY_DAYS };
  if (value === undefined) return out;
  if (typeof value !== 'object' || value === null) {
    throw new AirlockError('E_CONFIG', 'expiry must be an object like {"timestamp": 7}; fix airlock.json');
  }
  for (const [role, days] of Object.entries(value)) {
    if (!(role in out)) throw new AirlockError('E_CONFIG', `expiry names an unknown role "${role}"; use root, targets, snapshot or timestamp`);
    if (!Number.isInteger(days) || (days as number) < 1 || (days as number) > 3650) {
      throw new AirlockError('E_CONFIG', `expiry for ${role} must be a whole number of days between 1 and 3650`);
    }
    out[role as TopLevelRole] = days as number;
  }
  return out;
}
