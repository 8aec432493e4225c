// airlock-verify check: is this file on disk exactly the named target?
import { emit } from '../../run.js';
import { openUpdater, type SessionOptions } from '../../verify-session.js';

export interface CheckOptions extends SessionOptions {
  file: string;
  target: string;
}

export async function check(opts: CheckOptions): Promise<void> {
  const updater = await openUpdater(opts);
  await updater.refresh();
  const info = await updater.requireTargetInfo(opts.target);
  await updater.verifyLocalFile(info, opts.file);
  emit(opts, { ok: true, command: 'check', file: opts.file, target: opts.target, length: info.length, hashes: info.hashes, custom: info.custom }, () =>
    `verified ${opts.file} is ${opts.target} (${info.length} bytes, sha256 ${info.hashes.sha256 ?? Object.values(info.hashes)[0]})`,
  );
}
