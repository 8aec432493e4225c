// `airlock init`, planned: the keystores, the keys each gets and the files of repository
// version 1, checked before anything is created — an initialised home, a threshold out of
// range, root keystores that are not separate directories, a medium that already holds
// something, and (when the passphrases are at hand) a passphrase too short for a new key.
// Each retry of a refused init used to leave orphan root keys on every holder's medium.
import { relative, resolve } from 'node:path';
import { DEFAULT_KEY_TYPE, type KeyType } from '../core/key-type.js';
import { AirlockError } from '../core/errors.js';
import { classifyPath, comparePublishOrder } from '../core/host-layout.js';
import { AUDIT_HEAD_FILE, AUDIT_LOG_FILE } from '../keys/audit-log.js';
import { KEYSTORE_MARKER } from '../keys/keystore.js';
import { assertNewPassphrase, type Passphrase } from '../keys/passphrase.js';
import type { KeyRole } from '../keys/signer.js';
import { metadataEdit } from '../repo/transaction.js';
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
  /** The type of each role's new key (`--key-type`); Ed25519 where not named. */
  keyTypes?: Partial<Record<KeyRole, KeyType>>;
}

export interface PlannedKeystore {
  dir: string;
  /** The terminal's own keystore, or a separate medium holding one root key. */
  medium: 'terminal' | 'root medium';
  keys: { role: KeyRole; keyType: KeyType }[];
  /** Files made on this medium, relative to `dir` (a key file is named by its key id, known once made). */
  files: string[];
}

export interface InitPlan {
  kind: 'init';
  home: string;
  keystores: PlannedKeystore[];
  rootThreshold: number;
  /** The repository copy's version 1, in publishing order, relative to `repository`. */
  repository: string;
  files: string[];
  /** Files of the home itself, relative to `home`. */
  homeFiles: string[];
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
  const typed = (roles: readonly KeyRole[]) => roles.map((role) => ({ role, keyType: input.keyTypes?.[role] ?? DEFAULT_KEY_TYPE }));
  const medium = (dir: string, kind: PlannedKeystore['medium'], roles: readonly KeyRole[]): PlannedKeystore => ({
    dir,
    medium: kind,
    keys: typed(roles),
    files: [KEYSTORE_MARKER, ...roles.map((r) => `<${r} key id>.key`), AUDIT_LOG_FILE, AUDIT_HEAD_FILE],
  });
  // Version 1 is what the editing transaction commits for an empty copy (every role signed once).
  const edit = metadataEdit(undefined, undefined, { paths: [], forced: [], newRoot: 1 });
  return {
    kind: 'init',
    home: paths.home,
    keystores: [medium(main, 'terminal', [...rootRoles, ...ONLINE_AND_COMPAT]), ...separate.map((dir) => medium(dir, 'root medium', ['root']))],
    rootThreshold: input.rootThreshold,
    repository: paths.repository,
    // keys/: what users pin and import (docs/host-layout.md) — the pgp keyring and KEYS, the minisign key by its id too.
    files: inPublishingOrder([...edit.files, 'keys/KEYS', 'keys/release-signing.asc', 'keys/minisign.pub', 'keys/minisign-<minisign key id>.pub']),
    homeFiles: [relative(paths.home, paths.config)],
  };
}

function inPublishingOrder(paths: readonly string[]): string[] {
  return paths.map((path) => ({ path, ...classifyPath(path) })).sort(comparePublishOrder).map((f) => f.path);
}

/** The printed init plan: each medium and what goes on it, the repository and the home. */
export function describeInitPlan(plan: InitPlan): string[] {
  const root = plan.keystores.flatMap((k) => k.keys).filter((k) => k.role === 'root').length;
  return [
    `would set up a release terminal in ${plan.home} (root threshold ${plan.rootThreshold} of ${root})`,
    ...plan.keystores.flatMap((k) => [
      `  ${k.medium} keystore ${k.dir}:`,
      ...k.keys.map((key) => `    ${key.role.padEnd(9)} ${key.keyType}`),
      `    files: ${k.files.join(', ')}`,
    ]),
    `  repository ${plan.repository} v1, in publishing order:`,
    ...plan.files.map((f) => `    ${f}`),
    `  home: ${plan.homeFiles.join(', ')}`,
  ];
}
