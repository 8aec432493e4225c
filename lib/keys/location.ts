// Where the terminal home and the keystore are: `--keystore DIR` if given, else
// `$AIRLOCK_HOME/keystore`, with AIRLOCK_HOME defaulting to ~/.airlock (docs/keys.md).
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function airlockHome(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.AIRLOCK_HOME;
  return home !== undefined && home !== '' ? resolve(home) : join(homedir(), '.airlock');
}

export function keystoreDirFor(opts: { keystore?: string | undefined }, env: NodeJS.ProcessEnv = process.env): string {
  return opts.keystore !== undefined && opts.keystore !== '' ? resolve(opts.keystore) : join(airlockHome(env), 'keystore');
}
