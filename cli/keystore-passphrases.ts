// Passphrases for several keystores in one command (init with root keys on separate
// media, key rotate with root keystores brought in). Each keystore has its own
// passphrase, and none ever comes from argv:
//   - on a terminal: one no-echo prompt per keystore, naming its directory;
//   - --passphrase-fd N: one line per keystore, the terminal keystore first, then each
//     --root-keystore in the order given (one fd serves them all);
//   - else AIRLOCK_PASSPHRASE_FILE for the terminal keystore, and --root-passphrase-file
//     FILE (repeatable, in the order of the --root-keystore options) for the others.
import { resolve } from 'node:path';
import { AirlockError } from '../lib/core/errors.js';
import { readPassphrase, type Passphrase } from '../lib/keys/passphrase.js';

export interface KeystorePassphraseOptions {
  passphraseFd?: number;
  rootKeystore?: string[];
  rootPassphraseFile?: string[];
}

export interface KeystorePassphrase {
  dir: string;
  passphrase: Passphrase;
}

/**
 * Reads the terminal keystore's passphrase, then one per root keystore, in the order
 * documented above. `confirm` asks twice on a terminal (new keystores).
 */
export async function readKeystorePassphrases(
  mainDir: string | undefined,
  opts: KeystorePassphraseOptions,
  confirm = false,
): Promise<{ main?: Passphrase; roots: KeystorePassphrase[] }> {
  const rootDirs = (opts.rootKeystore ?? []).map((d) => resolve(d));
  const files = opts.rootPassphraseFile ?? [];
  if (files.length > 0 && files.length !== rootDirs.length) {
    throw new AirlockError('E_USAGE', `give one --root-passphrase-file per --root-keystore (${rootDirs.length}), in the same order`);
  }
  const read: Passphrase[] = [];
  try {
    let main: Passphrase | undefined;
    if (mainDir !== undefined) {
      main = await readPassphrase({ fd: opts.passphraseFd }, `${confirm ? 'New passphrase' : 'Passphrase'} for the terminal keystore ${mainDir}: `, { confirm });
      read.push(main);
    }
    const roots: KeystorePassphrase[] = [];
    for (const [i, dir] of rootDirs.entries()) {
      // AIRLOCK_PASSPHRASE_FILE belongs to the terminal keystore; a root keystore never falls back to it.
      const passphrase = await readPassphrase({ fd: opts.passphraseFd, file: files[i] }, `${confirm ? 'New passphrase' : 'Passphrase'} for root keystore ${dir}: `, { confirm, env: {}, fileEnv: '--root-passphrase-file' });
      read.push(passphrase);
      roots.push({ dir, passphrase });
    }
    return main === undefined ? { roots } : { main, roots };
  } catch (err) {
    for (const p of read) p.wipe();
    throw err;
  }
}

export function wipeAll(p: { main?: Passphrase; roots: KeystorePassphrase[] }): void {
  p.main?.wipe();
  for (const r of p.roots) r.passphrase.wipe();
}
