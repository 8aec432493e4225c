// airlock-verify download: one refresh, every target looked up and every output checked
// before the first byte is written, then each target in order. A target goes to
// -o FILE, to --out-dir DIR under its URL-encoded path, or by default to its base name
// in the current directory (like curl -O). An existing file is never replaced unless it
// already holds the verified bytes (then nothing is transferred) or --force is given.
import { basename, join } from 'node:path';
import { AirlockError, isAirlockError } from '../../../lib/core/errors.js';
import type { TargetFile } from '../../../lib/verify/index.js';
import { emit } from '../../run.js';
import { downloadProgress } from '../../verify-progress.js';
import { openUpdater, type SessionOptions } from '../../verify-session.js';

export interface DownloadOptions extends SessionOptions {
  targets: string[];
  output?: string;
  outDir?: string;
  force?: boolean;
}

export function encodedTargetName(target: string): string {
  const name = encodeURIComponent(target);
  if (name === '.' || name === '..') throw new AirlockError('E_USAGE', `${target} cannot be a file name; use -o FILE`);
  return name;
}

/** The target's last path segment, as a file name in the current directory (curl -O). */
export function targetBaseName(target: string): string {
  const name = basename(target);
  // Control characters would make a file name that fools `ls` (the name comes from the host's metadata).
  if (name === '' || name === '.' || name === '..' || target.endsWith('/') || /[\u0000-\u001f\u007f\\]/.test(name)) {
    throw new AirlockError('E_USAGE', `${JSON.stringify(target)} has no usable file name; use -o FILE or --out-dir DIR`, { details: { target } });
  }
  return name;
}

function outputPaths(opts: DownloadOptions): string[] {
  if (opts.output !== undefined) return [opts.output];
  if (opts.outDir !== undefined) return opts.targets.map((t) => join(opts.outDir!, encodedTargetName(t)));
  const names = opts.targets.map(targetBaseName);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) {
    throw new AirlockError('E_USAGE', `two targets have the file name ${twice}; use --out-dir DIR (each under its full path) or download them one at a time with -o`);
  }
  return names;
}

export async function download(opts: DownloadOptions): Promise<void> {
  if (opts.targets.length === 0) throw new AirlockError('E_USAGE', 'name at least one TARGET (project/version/file); `airlock-verify list` shows them');
  if (opts.output !== undefined && opts.outDir !== undefined) throw new AirlockError('E_USAGE', 'give -o FILE or --out-dir DIR, not both');
  if (opts.output !== undefined && opts.targets.length > 1) throw new AirlockError('E_USAGE', '-o FILE takes one target; use --out-dir DIR for several');
  const paths = outputPaths(opts);
  const updater = await openUpdater(opts);
  await updater.refresh();
  // Every target known and every output writable before anything is transferred.
  const plan: { target: string; path: string; info: TargetFile }[] = [];
  for (const [i, target] of opts.targets.entries()) plan.push({ target, path: paths[i]!, info: await updater.requireTargetInfo(target) });
  for (const { target, path, info } of plan) {
    if (opts.force || (await updater.localCopyOf(info, path)) !== 'different') continue;
    throw new AirlockError('E_OUTPUT_EXISTS', `${path} exists and is not ${target}; move it away, choose another name with -o, or replace it with --force`, {
      details: { target, path },
    });
  }
  const done: { target: string; path: string; length: number; hashes: Record<string, string>; transferred: boolean }[] = [];
  for (const { target, path, info } of plan) {
    const progress = downloadProgress(basename(path), info.length, { json: opts.json === true });
    try {
      const { transferred } = await updater.downloadTarget(info, path, { onProgress: progress.update, replace: opts.force === true });
      done.push({ target, path, length: info.length, hashes: info.hashes, transferred });
    } catch (err) {
      if (!isAirlockError(err) || done.length === 0) throw err;
      throw new AirlockError(err.code, err.message, { cause: err, details: { ...err.details, target, completed: done } });
    } finally {
      progress.finish();
    }
  }
  emit(opts, { ok: true, command: 'download', targets: done }, () =>
    done.map((d) => `verified ${d.target} -> ${d.path} (${d.length} bytes, sha256 ${d.hashes.sha256 ?? Object.values(d.hashes)[0]})${d.transferred ? '' : ', already present'}`),
  );
}
