// Setting up a release terminal: its home, an encrypted keystore with one key per role,
// and repository version 1. Root keys (n of an m-of-n threshold) go either into that
// keystore or, one each, into separate keystores on their own media, each sealed under
// its own passphrase, so no single device or person holds the whole root.
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fromSystemError } from '../core/errors.js';
import { Keystore, KEYSTORE_MARKER } from '../keys/keystore.js';
import type { Passphrase } from '../keys/passphrase.js';
import type { KeyRole, Signer } from '../keys/signer.js';
import type { KeyType } from '../core/key-type.js';
import { parseExpiryDays, type ExpiryDays } from '../repo/expiry.js';
import { initRepository, type InitResult } from '../repo/init-repository.js';
import { closeSigners } from './keys.js';
import { planInit } from './plan-init.js';
import { defaultConfig, writeConfig } from './config.js';
import type { TerminalPaths } from './home.js';

export interface RootKeystore {
  dir: string;
  passphrase: Passphrase;
}

export interface TerminalInitOptions {
  name: string;
  /** Root keys in the terminal's keystore; ignored when rootKeystores are given (one key each). */
  rootKeys: number;
  rootThreshold: number;
  /** Separate keystores (media) for the root keys, one key in each. */
  rootKeystores?: readonly RootKeystore[];
  /** Per-role expiry in days; roles not named keep the defaults (docs/expiry.md). */
  expiryDays?: Partial<ExpiryDays>;
  /** The kind of each role's new key (default Ed25519). */
  keyTypes?: Partial<Record<KeyRole, KeyType>>;
  now: Date;
}

export interface TerminalInitResult extends InitResult {
  keystore: string;
  /** Where each root key went. */
  rootKeys: { keyId: string; keystore: string }[];
}

export async function initTerminal(paths: TerminalPaths, passphrase: Passphrase, options: TerminalInitOptions): Promise<TerminalInitResult> {
  const separate = options.rootKeystores ?? [];
  // Everything refusable is refused before the first directory or key is made.
  planInit({
    paths,
    rootKeys: options.rootKeys,
    rootThreshold: options.rootThreshold,
    rootKeystores: separate.map((k) => k.dir),
    homeIsTerminal: await isTerminalHome(paths),
    occupied: await occupiedDirs([paths.keystore, ...separate.map((k) => k.dir)]),
    passphrases: { main: passphrase, roots: separate.map((k) => k.passphrase) },
  });
  const rootCount = separate.length > 0 ? separate.length : options.rootKeys;
  const config = defaultConfig(options.name);
  config.expiryDays = parseExpiryDays({ ...config.expiryDays, ...options.expiryDays });
  try {
    await mkdir(paths.home, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw fromSystemError(err, `creating ${paths.home}`);
  }
  const keystore = await Keystore.create(paths.keystore);
  const unlocked: Signer[] = [];
  const generateIn = async (ks: Keystore, role: Parameters<Keystore['generate']>[0], pass: Passphrase): Promise<Signer> => {
    const signer = await ks.unlock((await ks.generate(role, pass, options.keyTypes?.[role])).keyId, pass);
    unlocked.push(signer);
    return signer;
  };
  try {
    const root: Signer[] = [];
    const rootKeys: TerminalInitResult['rootKeys'] = [];
    if (separate.length > 0) {
      for (const k of separate) {
        const ks = await Keystore.create(k.dir);
        const signer = await generateIn(ks, 'root', k.passphrase);
        root.push(signer);
        rootKeys.push({ keyId: signer.keyId, keystore: ks.dir });
      }
    } else {
      for (let i = 0; i < rootCount; i++) {
        const signer = await generateIn(keystore, 'root', passphrase);
        root.push(signer);
        rootKeys.push({ keyId: signer.keyId, keystore: keystore.dir });
      }
    }
    const signers = {
      root,
      rootThreshold: options.rootThreshold,
      targets: await generateIn(keystore, 'targets', passphrase),
      snapshot: await generateIn(keystore, 'snapshot', passphrase),
      timestamp: await generateIn(keystore, 'timestamp', passphrase),
      pgp: await generateIn(keystore, 'pgp', passphrase),
      minisign: await generateIn(keystore, 'minisign', passphrase),
    };
    await keystore.generate('ssh', passphrase, options.keyTypes?.ssh);
    await keystore.generate('publish', passphrase, options.keyTypes?.publish);
    const result = await initRepository(paths.repository, paths.staging, signers, { now: options.now, expiryDays: config.expiryDays, name: options.name });
    await writeConfig(paths, config);
    return { ...result, keystore: keystore.dir, rootKeys };
  } finally {
    await closeSigners(unlocked);
  }
}

/** The home already holds a terminal: its airlock.json or a repository copy. */
export async function isTerminalHome(paths: TerminalPaths): Promise<boolean> {
  for (const p of [paths.config, join(paths.repository, 'metadata')]) if (await stat(p).then(() => true, () => false)) return true;
  return false;
}

/** Of `dirs`, those that exist, hold something and are not a keystore (a keystore may take another key). */
export async function occupiedDirs(dirs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const d of dirs) {
    const names = await readdir(d).catch(() => [] as string[]);
    if (names.length > 0 && !names.includes(KEYSTORE_MARKER)) out.push(d);
  }
  return out;
}
