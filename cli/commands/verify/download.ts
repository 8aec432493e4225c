// airlock-verify download: one refresh, then each target in order, stopping at the first
// failure. A target goes to -o FILE, or to --out-dir under its URL-encoded path.
import { join } from 'node:path';
import { AirlockError, isAirlockError } from '../../../lib/core/errors.js';
import { emit } from '../../run.js';
import { openUpdater, type SessionOptions } from './session.js';

export interface DownloadOptions extends SessionOptions {
  targets: string[];
  output?: string;
  outDir?: string;
}

export function encodedTargetName(target: string): string {
  const name = encodeURIComponent(target);
  if (name === '.' || name === '..') throw new AirlockError('E_USAGE', `${target} cannot be a file name; use -o FILE`);
  return name;
}

export async function download(opts: DownloadOptions): Promise<void> {
  if (opts.targets.length === 0) throw new AirlockError('E_USAGE', 'name at least one TARGET (project/version/file)');
  if (opts.output !== undefined && opts.outDir !== undefined) throw new AirlockError('E_USAGE', 'give -o FILE or --out-dir DIR, not both');
  if (opts.output !== undefined && opts.targets.length > 1) throw new AirlockError('E_USAGE', '-o FILE takes one target; use --out-dir DIR for several');
  const updater = await openUpdater(opts);
  await updater.refresh();
  const done: { target: string; path: string; length: number; hashes: Record<string, string>; transferred: boolean }[] = [];
  for (const target of opts.targets) {
    try {
      const info = await updater.requireTargetInfo(target);
      const path = opts.output ?? join(opts.outDir ?? '.', encodedTargetName(target));
      const { transferred } = await updater.downloadTarget(info, path);
      done.push({ target, path, length: info.length, hashes: info.hashes, transferred });
    } catch (err) {
      if (!isAirlockError(err) || done.length === 0) throw err;
      throw new AirlockError(err.code, err.message, { cause: err, details: { ...err.details, target, completed: done } });
    }
  }
  emit(opts, { ok: true, command: 'download', targets: done }, () =>
    done.map((d) => `verified ${d.target} -> ${d.path} (${d.length} bytes, sha256 ${d.hashes.sha256 ?? Object.values(d.hashes)[0]})${d.transferred ? '' : ', already present'}`),
  );
}
