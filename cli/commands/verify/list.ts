// airlock-verify list [PREFIX]: what the repository offers — every target the trusted
// metadata vouches for (delegations walked), one per line, with its length and SHA-256.
import { emit } from '../../run.js';
import { formatSize } from '../../../lib/core/byte-size.js';
import { openUpdater, warn, type SessionOptions } from '../../verify-session.js';

export interface ListOptions extends SessionOptions {
  prefix?: string;
}

export async function list(opts: ListOptions): Promise<void> {
  const updater = await openUpdater(opts);
  await updater.refresh();
  const { targets, complete } = await updater.listTargets(opts.prefix ?? '');
  if (!complete) warn('the repository has more targets roles than airlock-verify walks for a list; name a target to download it');
  emit(opts, { ok: true, command: 'list', prefix: opts.prefix ?? '', complete, targets: targets.map((t) => ({ target: t.path, length: t.length, hashes: t.hashes })) }, () => {
    if (targets.length === 0) return [`no targets${opts.prefix ? ` under ${opts.prefix}` : ''}`];
    const width = Math.min(80, Math.max(...targets.map((t) => t.path.length)));
    return targets.map((t) => `${t.path.padEnd(width)}  ${formatSize(t.length).padStart(10)}  sha256 ${t.hashes.sha256 ?? Object.values(t.hashes)[0]}`);
  });
}
