// `airlock init`: a new release terminal. Root keys go into the terminal keystore, or
// with --root-keystore DIR (repeatable) one each onto separate media, each under its own
// passphrase (see cli/keystore-passphrases.ts for where the passphrases come from).
import { join, resolve } from 'node:path';
import { AirlockError } from '../../lib/core/errors.js';
import { initTerminal, isTerminalHome, occupiedDirs } from '../../lib/terminal/init.js';
import { describeInitPlan, planInit } from '../../lib/terminal/plan-init.js';
import { terminalPaths } from '../../lib/terminal/home.js';
import { parseKeyTypeChoices } from '../../lib/keys/key-type-choice.js';
import { KEY_ROLES } from '../../lib/keys/signer.js';
import { describeKeyIdentity, keyIdentityChange, publishedKeyIds } from '../../lib/repo/compat/key-history.js';
import { emit } from '../run.js';
import { parseExpiryAssignments } from '../expiry-assignments.js';
import { readKeystorePassphrases, wipeAll } from '../keystore-passphrases.js';

export interface InitOptions {
  name: string;
  rootKeys?: number;
  rootThreshold: number;
  rootKeystore?: string[];
  rootPassphraseFile?: string[];
  expiry?: string[];
  keyType?: string[];
  keystore?: string;
  passphraseFd?: number;
  json?: boolean;
  dryRun?: boolean;
}

export async function init(opts: InitOptions): Promise<void> {
  const defaults = terminalPaths();
  const paths = opts.keystore ? { ...defaults, keystore: resolve(opts.keystore) } : defaults;
  const separate = opts.rootKeystore ?? [];
  if (separate.length > 0 && opts.rootKeys !== undefined && opts.rootKeys !== separate.length) {
    throw new AirlockError('E_USAGE', `--root-keys ${opts.rootKeys} but ${separate.length} --root-keystore given; with separate root keystores there is one root key in each`);
  }
  const expiryDays = parseExpiryAssignments(opts.expiry ?? []);
  const keyTypes = parseKeyTypeChoices(opts.keyType, KEY_ROLES);
  // The plan is checked (and, on --dry-run, printed) before any passphrase is asked.
  const plan = planInit({
    paths,
    rootKeys: opts.rootKeys ?? 1,
    rootThreshold: opts.rootThreshold,
    rootKeystores: separate,
    homeIsTerminal: await isTerminalHome(paths),
    occupied: await occupiedDirs([paths.keystore, ...separate]),
    keyTypes,
  });
  if (opts.dryRun) {
    emit(opts, { ok: true, dryRun: true, plan }, () => describeInitPlan(plan));
    return;
  }
  const passphrases = await readKeystorePassphrases(paths.keystore, opts, true);
  try {
    const result = await initTerminal(paths, passphrases.main!, {
      name: opts.name,
      rootKeys: opts.rootKeys ?? 1,
      rootThreshold: opts.rootThreshold,
      rootKeystores: passphrases.roots,
      expiryDays,
      keyTypes,
      now: new Date(),
    });
    const keys = keyIdentityChange({}, await publishedKeyIds(join(paths.repository, 'keys')));
    emit(opts, { ok: true, home: paths.home, keystore: result.keystore, rootKeys: result.rootKeys, rootThreshold: opts.rootThreshold, rootFingerprint: result.rootFingerprint, keys, files: result.files }, () => [
      `release terminal ready in ${paths.home}`,
      `root keys (${opts.rootThreshold} of ${result.rootKeys.length} needed to change the root):`,
      ...result.rootKeys.map((k) => `  ${k.keyId}  in ${k.keystore}`),
      `root of trust: ${paths.repository}/keys/root.json`,
      `root fingerprint (SHA-256, publish it out of band): ${result.rootFingerprint}`,
      ...describeKeyIdentity(keys, 'changed'),
    ]);
  } finally {
    wipeAll(passphrases);
  }
}
