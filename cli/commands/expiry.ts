// `airlock expiry [ROLE=DAYS…] [--warn-days N]`: shows or sets how long each role's
// metadata stays valid when it is next signed, and the warning margin of `airlock status`
// and `airlock refresh`, in the terminal's airlock.json. Takes effect at the next
// signature of each role (release, refresh, root publish); nothing is re-signed here.
import { AirlockError } from '../../lib/core/errors.js';
import { parseExpiryDays } from '../../lib/repo/expiry.js';
import { readConfig, writeConfig } from '../../lib/terminal/config.js';
import { terminalPaths } from '../../lib/terminal/home.js';
import { parseExpiryAssignments } from '../expiry-assignments.js';
import { emit } from '../run.js';

export interface ExpiryOptions {
  warnDays?: number;
  json?: boolean;
}


export async function expiry(assignments: string[], opts: ExpiryOptions): Promise<void> {
  const paths = terminalPaths();
  const config = await readConfig(paths);
  const changes = parseExpiryAssignments(assignments);
  if (opts.warnDays !== undefined && (!Number.isInteger(opts.warnDays) || opts.warnDays < 0 || opts.warnDays > 365)) {
    throw new AirlockError('E_USAGE', '--warn-days must be a whole number of days from 0 to 365');
  }
  const changed = assignments.length > 0 || opts.warnDays !== undefined;
  if (changed) {
    config.expiryDays = parseExpiryDays({ ...config.expiryDays, ...changes });
    if (opts.warnDays !== undefined) config.warnDays = opts.warnDays;
    await writeConfig(paths, config);
  }
  emit(opts, { ok: true, changed, expiryDays: config.expiryDays, warnDays: config.warnDays }, () => [
    ...(['root', 'targets', 'snapshot', 'timestamp'] as const).map((r) => `${r.padEnd(10)} ${config.expiryDays[r]} days`),
    `warn      ${config.warnDays} days before expiry`,
    ...(changed ? ['saved; each role gets the new period the next time it is signed (airlock refresh --resign ROLE to do it now)'] : []),
  ]);
}
