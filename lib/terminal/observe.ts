// Reading what plans take as input, in one place: the terminal's config, the signed state
// of its repository copy (bins included, through the metadata parser), and the public
// listing of each keystore. Reads only; nothing here writes, prompts or decrypts.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Keystore } from '../keys/keystore.js';
import { observeTokenPresence } from '../keys/pkcs11/index.js';
import { binExpiries } from '../repo/bin-summary.js';
import { LocalRepository, type CurrentMetadata, type SignedState } from '../repo/local-repository.js';
import { readConfig, type TerminalConfig } from './config.js';
import type { TerminalPaths } from './home.js';
import type { KeystoreListing } from './plan.js';

export interface TerminalObservation {
  config: TerminalConfig;
  state: SignedState;
}

export async function observeTerminal(paths: TerminalPaths): Promise<TerminalObservation> {
  const config = await readConfig(paths);
  const state = await new LocalRepository(paths.repository).signedState();
  return { config, state };
}

/** The config and the current metadata without the hash bins: for a plan that reads only the bins its change falls in (a release). */
export async function observeTerminalCurrent(paths: TerminalPaths): Promise<{ config: TerminalConfig; state: CurrentMetadata }> {
  const config = await readConfig(paths);
  const state = await new LocalRepository(paths.repository).current();
  return { config, state };
}

/** The config, the current metadata and each hash bin's expiry from the copy's bin summary (refresh: no bin parsed). */
export async function observeTerminalExpiries(paths: TerminalPaths): Promise<{ config: TerminalConfig; state: CurrentMetadata & { bins: Map<string, { signed: { expires: string } }> } }> {
  const config = await readConfig(paths);
  const current = await new LocalRepository(paths.repository).current();
  return { config, state: { ...current, bins: await binExpiries(paths.repository, current) } };
}

/**
 * A keystore's public listing (opening checks its permissions; no passphrase), with the
 * presence of each token key's token: looked up in its module's slots, no PIN asked.
 */
export async function listKeystore(dir: string): Promise<KeystoreListing & { keystore: Keystore }> {
  const keystore = await Keystore.open(dir);
  const keys = await keystore.list();
  const onTokens = keys.flatMap((k) => (k.token ? [{ keyId: k.keyId, token: k.token }] : []));
  return { dir: keystore.dir, keys, keystore, ...(onTokens.length > 0 ? { tokens: await observeTokenPresence(onTokens) } : {}) };
}

export async function pathExists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
