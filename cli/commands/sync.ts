// `airlock sync --from HOST [--dry-run]`: verify a host's tree against the repository
// copy's own root and bring the copy up to date (lib/repo/sync-from-host.ts). What HOST
// names and which pgp key vouches for its apt and rpm indices: lib/terminal/observe-sync.ts.
import { planSync, syncFromHost } from '../../lib/repo/sync-from-host.js';
import { openSyncSource } from '../../lib/repo/sync-source.js';
import { terminalPaths } from '../../lib/terminal/home.js';
import { observeSyncKeys, observeSyncSource } from '../../lib/terminal/observe-sync.js';
import { emit } from '../run.js';

export interface SyncOptions {
  from: string;
  dryRun?: boolean;
  json?: boolean;
  keystore?: string;
}

export async function sync(opts: SyncOptions): Promise<void> {
  const paths = terminalPaths();
  const source = openSyncSource(await observeSyncSource(paths.hosts, opts.from));
  const keys = await observeSyncKeys(opts);
  if (opts.dryRun) {
    const plan = await planSync(paths.repository, source, keys);
    emit(opts, { ok: true, dryRun: true, ...plan }, () =>
      plan.upToDate ? `the repository copy is up to date with ${source.name} (timestamp v${plan.local})` : [`would bring timestamp v${plan.local} → v${plan.host} from ${source.name}, ${plan.files.length} file(s):`, ...plan.files.map((f) => `  ${f}`)],
    );
    return;
  }
  const r = await syncFromHost(paths.repository, paths.staging, source, keys);
  emit(opts, { ok: true, dryRun: false, ...r }, () =>
    r.upToDate ? `the repository copy is up to date with ${source.name} (timestamp v${r.local})` : `brought the repository copy from timestamp v${r.local} to v${r.host} (root v${r.rootVersion}): ${r.files.length} file(s) verified and written`,
  );
}
