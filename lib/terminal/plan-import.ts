// `airlock import DIR`, planned: the archive was walked and checked (surveyArchive:
// layout, release records, names, versions the copy already holds) before this runs;
// here, from that survey, the copy's current metadata, the config and the keystore's
// public listing, the plan names the keys, the batches and what is written — before a
// passphrase is read or a byte written. `--dry-run` prints it and stops.
import { AirlockError } from '../core/errors.js';
import type { ArchiveSurvey, ImportCompat } from '../repo/import.js';
import type { CurrentMetadata } from '../repo/local-repository.js';
import type { TerminalConfig } from './config.js';
import { listedKeys, newestKey, type KeyNeed, type KeystoreListing } from './plan.js';

export interface ImportPlanInput {
  survey: ArchiveSurvey;
  current: CurrentMetadata;
  config: TerminalConfig;
  keystore: KeystoreListing;
  compat: ImportCompat;
  batchTargets: number;
  journal: string;
}

export interface ImportPlan {
  kind: 'import';
  source: string;
  /** Still to import. */
  releases: number;
  targets: number;
  projects: number;
  first?: { project: string; version: string };
  last?: { project: string; version: string };
  /** Resuming after this release (an earlier run's batches are in). */
  resumedAfter?: { project: string; version: string };
  importedTargets: number;
  /** Targets an interrupted run moved into the copy and did not sign: signed by this run. */
  unsigned: number;
  /** Releases of an interrupted batch imported again. */
  redoThrough?: { project: string; version: string };
  batchTargets: number;
  /** At most this many commits (a release is never split across two). */
  batches: number;
  compat: ImportCompat;
  keys: KeyNeed[];
  /** What each batch writes into the copy, in publishing order. */
  files: string[];
  journal: string;
}

export function planImport(input: ImportPlanInput): ImportPlan {
  const { survey, current, keystore, compat, batchTargets } = input;
  if (!Number.isSafeInteger(batchTargets) || batchTargets < 1) throw new AirlockError('E_USAGE', '--batch takes a whole number of targets, at least 1');
  const root = current.root.signed;
  const keys: KeyNeed[] =
    survey.releases === 0 && survey.unsigned === 0
      ? []
      : [...listedKeys([keystore], root, 'targets', 'signs each hash bin once (or targets)'), ...listedKeys([keystore], root, 'snapshot', 'signs snapshot once'), ...listedKeys([keystore], root, 'timestamp', 'signs timestamp once')];
  if (compat === 'signatures' && survey.releases > 0) {
    const pgp = newestKey(keystore, 'pgp', 'signs .asc files and SHA256SUMS.asc');
    const minisign = newestKey(keystore, 'minisign', 'signs .minisig files');
    if (!pgp || !minisign) throw new AirlockError('E_KEY_NOT_FOUND', `--compat signatures needs a pgp and a minisign key and ${keystore.dir} lacks ${pgp ? 'minisign' : 'pgp'}; run \`airlock key generate ${pgp ? 'minisign' : 'pgp'}\`, or import with --compat tuf`);
    keys.push(pgp, minisign);
    const ssh = newestKey(keystore, 'ssh', 'signs .sshsig files');
    if (ssh) keys.push(ssh);
  }
  const files = [
    'targets/<project>/<version>/<sha256>.<file>  (each batch)',
    'releases/<project>/<version>/<file>  (each batch)',
    ...(compat === 'signatures' ? ['releases/<project>/<version>/<file>.{asc,minisig,sha512,sshsig}  (each batch)', 'releases/<project>/<version>/SHA256SUMS{,.asc,.minisig}  (each batch)', 'keys/…  (each batch)'] : []),
    'metadata/<N>.<bin>.json  (then, once: each bin the import fills, or every bin of a new layout)',
    'metadata/<N>.targets.json  (once, when the bin layout changes: crossing into bins, re-binning)',
    'metadata/<N>.snapshot.json  (once)',
    'metadata/timestamp.json  (once)',
  ];
  return {
    kind: 'import',
    source: survey.source,
    releases: survey.releases,
    targets: survey.targets,
    projects: survey.projects,
    ...(survey.first ? { first: survey.first } : {}),
    ...(survey.last ? { last: survey.last } : {}),
    ...(survey.resumedAfter ? { resumedAfter: survey.resumedAfter } : {}),
    importedTargets: survey.importedTargets,
    unsigned: survey.unsigned,
    ...(survey.redoThrough ? { redoThrough: survey.redoThrough } : {}),
    batchTargets,
    batches: Math.ceil(survey.targets / batchTargets),
    compat,
    keys,
    files,
    journal: input.journal,
  };
}

const ref = (r: { project: string; version: string }): string => `${r.project} ${r.version}`;

export function describeImportPlan(plan: ImportPlan): string[] {
  if (plan.releases === 0 && plan.unsigned === 0) return [`nothing to import from ${plan.source}${plan.resumedAfter ? ` (imported through ${ref(plan.resumedAfter)}: ${plan.importedTargets} targets)` : ''}`];
  return [
    `import ${plan.releases} releases of ${plan.projects} projects (${plan.targets} targets) from ${plan.source}`,
    ...(plan.first ? [`  first ${ref(plan.first)}, last ${ref(plan.last!)}`] : []),
    ...(plan.unsigned > 0 ? [`  ${plan.unsigned} targets an interrupted run moved into the copy are signed too`] : []),
    ...(plan.resumedAfter ? [`  resuming after ${ref(plan.resumedAfter)} (${plan.importedTargets} targets already imported)`] : []),
    ...(plan.redoThrough ? [`  an interrupted batch (through ${ref(plan.redoThrough)}) is imported again`] : []),
    `batches: at most ${plan.batches} of ${plan.batchTargets} targets, each moved into the copy; then one commit signs every target (each bin once, snapshot and timestamp once)`,
    `compatibility outputs: ${plan.compat === 'tuf' ? 'TUF targets and releases/ copies only (--compat signatures adds .asc, .minisig, .sshsig, .sha512, SHA256SUMS)' : 'TUF targets, releases/ copies, per-file signatures and SHA256SUMS'}`,
    'keys to unlock:',
    ...plan.keys.map((k) => `  ${k.role.padEnd(9)} ${k.keyId.slice(0, 16)}  in ${k.keystore}  (${k.purpose})`),
    'the import writes, in publishing order:',
    ...plan.files.map((f) => `  ${f}`),
    `journal: ${plan.journal} (a re-run continues where an interrupted one stopped)`,
    'publish afterwards with `airlock publish`',
  ];
}
