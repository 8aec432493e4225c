// `airlock init`, planned: the keystores, the keys each gets and the files of repository
// version 1, checked before anything is created — an initialised home, a threshold out of
// range, root keystores that are not separate directories, a medium that already holds
// something, and (when the passphrases are at hand) a passphrase too short for a new key.
// Each retry of a refused init used to leave orphan root keys on every holder's medium.
import { resolve } from 'node:path';
import { AirlockError } from '../core/errors.js';
import { assertNewPassphrase, type Passphrase } from '../keys/passphrase.js';
import type { KeyRole } from '../keys/signer.js';
import type { TerminalPaths } from './home.js';

export interface InitPlanInput {
  paths: TerminalPaths;
  rootKeys: number;
  rootThreshold: number;
  /** Separate keystores (media) for the root keys, one key in each. */
  rootKeystores: readonly string[];
  /** Observed: the home already holds airlock.json / a repository. */
  homeIsTerminal: boolean;
  /** Observed: directories (of the terminal keystore and each root keystore) that exist, are not empty and are not keystores. */
  occupied: readonly string[];
  /** Checked when given: the terminal keystore's passphrase, then one per root keystore. */
  passphrases?: { main: Passphrase; roots: readonly Passphrase[] };
}

export interface InitPlan {
  kind: 'init';
  home: string;
  keystores: { dir: string; keys: KeyRole[] }[];
  rootThreshold: number;
  files: string[];
}

const ONLINE_AND_COMPAT: readonly KeyRole[] = ['targets', 'snapshot', 'timestamp', 'pgp', 'minisign', 'ssh', 'publish'];

export function planInit(input: InitPlanInput): InitPlan {
  const { paths } = input;
  if (input.homeIsTerminal) throw new AirlockError('E_ALREADY_INITIALISED', `${paths.home} is already a release terminal; use another AIRLOCK_HOME for a new one`);
  const separate = input.rootKeystores.map((d) => resolve(d));
  const rootCount = separate.length > 0 ? separate.length : input.rootKeys;
  if (!Number.isInteger(rootCount) || rootCount < 1 || rootCount > 16) throw new AirlockError('E_USAGE', '--root-keys must be a whole number from 1 to 16');
  if (!Number.isInteger(input.rootThreshold) || input.rootThreshold < 1 || input.rootThreshold > rootCount) {
    throw new AirlockError('E_USAGE', `--root-threshold must be between 1 and the number of root keys (${rootCount})`);
  }
  const main = resolve(paths.keystore);
  if (separate.length > 0 && new Set([main, ...separate]).size !== separate.length + 1) {
    throw new AirlockError('E_USAGE', 'each --root-keystore must be its own directory, apart from each other and from the terminal keystore');
  }
  for (const dir of [main, ...separate]) {
    if (input.occupied.map((d) => resolve(d)).includes(dir)) throw new AirlockError('E_USAGE', `${dir} exists, is not empty and is not a keystore; a new terminal's keys go into new, empty directories (or existing keystores)`, { details: { dir } });
  }
  if (input.passphrases) {
    assertNewPassphrase(input.passphrases.main);
    for (const p of input.passphrases.roots) assertNewPassphrase(p);
  }
  const rootRoles: KeyRole[] = Array.from({ length: separate.length > 0 ? 0 : rootCount }, () => 'root');
  return {
    kind: 'init',
    home: paths.home,
    keystores: [{ dir: main, keys: [...rootRoles, ...ONLINE_AND_COMPAT] }, ...separate.map((dir) => ({ dir, keys: ['root'] as KeyRole[] }))],
    rootThreshold: input.rootThreshold,
    files: ['metadata/1.targets.json', 'metadata/1.snapshot.json', 'metadata/timestamp.json', 'metadata/1.root.json', 'keys/root.json', 'keys/release-signing.asc', 'keys/minisign.pub', 'airlock.json'],
  };
}
