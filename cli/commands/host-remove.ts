// `airlock host remove NAME`: forgets a host (nothing on the host is touched).
import { removeHost } from '../../lib/publish/hosts.js';
import { terminalPaths } from '../../lib/terminal/home.js';
import { emit } from '../run.js';

export interface HostRemoveOptions {
  json?: boolean;
}

export async function hostRemove(name: string, opts: HostRemoveOptions): Promise<void> {
  const removed = await removeHost(terminalPaths().hosts, name);
  emit(opts, { ok: true, removed }, () => `removed host ${removed.name} (${removed.url}); files on the host are untouched`);
}
