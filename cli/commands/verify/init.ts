// airlock-verify init: pin a root once, after comparing its fingerprint out of band.
import { initState } from '../../../lib/verify/index.js';
import { emit } from '../../run.js';
import { defaultStateDir, readRootFile } from '../../verify-session.js';

export interface InitOptions {
  root: string;
  fingerprint: string;
  state?: string;
  json?: boolean;
}

export async function init(opts: InitOptions): Promise<void> {
  const state = opts.state ?? defaultStateDir();
  const pinned = await initState(state, await readRootFile(opts.root), opts.fingerprint);
  emit(opts, { ok: true, command: 'init', state, ...pinned }, () => [
    `root fingerprint (SHA-256): ${pinned.fingerprint}`,
    pinned.trustedVersion !== undefined
      ? `${state} was pinned to this root (version ${pinned.version}) and has followed its rotations to root version ${pinned.trustedVersion}; nothing to do`
      : `pinned root version ${pinned.version} (expires ${pinned.expires}) in ${state}${pinned.written ? '' : ' (already pinned)'}`,
  ]);
}
