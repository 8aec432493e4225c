// `--expiry ROLE=DAYS` and `airlock expiry ROLE=DAYS`: one parser for both commands.
import { AirlockError } from '../lib/core/errors.js';
import type { TopLevelRole } from '../lib/core/tuf-metadata.js';
import { parseExpiryDays, type ExpiryDays } from '../lib/repo/expiry.js';

/** `targets=90` … → { targets: 90 }; refused (E_USAGE) unless ROLE=DAYS with a known role. */
export function parseExpiryAssignments(items: readonly string[]): Partial<ExpiryDays> {
  const out: Partial<ExpiryDays> = {};
  for (const item of items) {
    const m = /^(root|targets|snapshot|timestamp)=(\d{1,4})$/.exec(item);
    if (!m) throw new AirlockError('E_USAGE', `"${item}" is not ROLE=DAYS (roles: root, targets, snapshot, timestamp), e.g. timestamp=7`);
    out[m[1] as TopLevelRole] = Number(m[2]);
  }
  try {
    parseExpiryDays(out);
  } catch (err) {
    throw new AirlockError('E_USAGE', (err as Error).message, { cause: err });
  }
  return out;
}
