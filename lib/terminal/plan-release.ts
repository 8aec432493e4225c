// `airlock release`, planned: everything the release can be refused for is decided here,
// from the recipe at the confirmed commit, the terminal's signed state, its config, the
// keystore's public listing and the hosts — before the build runs, before a passphrase
// is read, before a byte is written (a re-run of a released version used to build,
// unlock keys and overwrite the kept build log before it said E_RELEASE_EXISTS).
import type { AirlockTargetCustom } from '../core/tuf-metadata.js';
import type { HostSpec } from '../publish/publish.js';
import type { CurrentMetadata } from '../repo/local-repository.js';
import { checkRpmRelease, type RpmTools } from '../repo/compat/rpm-tools.js';
import { checkNames, provenanceFileName, releaseCustom, releaseExists } from '../repo/release.js';
import { metadataEdit } from '../repo/transaction.js';
import type { TerminalConfig } from './config.js';
import { listedKeys, newestKey, plannedHosts, publishKeyFor, refuseAbsentTokens, type KeyNeed, type KeystoreListing, type PlannedHost } from './plan.js';
import { AirlockError } from '../core/errors.js';
import { describeAptKeyTransition } from '../repo/compat/apt-key-transition.js';
import { planAptKeys, type PlannedAptKeys } from './plan-apt-keys.js';

export interface ReleaseRecipe {
  project: string;
  version: string;
  /** Artifact file names the recipe promises. */
  artifacts: readonly string[];
}

export interface ReleasePlanInput {
  recipe: ReleaseRecipe;
  pins: { commit: string; branch: string; sourceDateEpoch: number };
  /** The current metadata (the hash bins are not read: observeReleased looked in the ones that matter). */
  state: CurrentMetadata;
  /** The copy already holds this project and version (observeReleased). */
  released: boolean;
  config: TerminalConfig;
  keystore: KeystoreListing;
  hosts: readonly HostSpec[];
  /** Where the kept build log will go (`$AIRLOCK_HOME/build-logs/<project>-<version>.log`). */
  buildLog: string;
  /** The terminal's rpm tools (observeRpmTools), observed when the recipe lists .rpm files. */
  rpmTools?: RpmTools;
  /** Fingerprints the copy's apt Releases name in Signed-By (observed; plan-apt-keys.ts). */
  aptSignedBy?: readonly string[];
}

export interface ReleasePlan {
  kind: 'release';
  project: string;
  version: string;
  commit: string;
  branch: string;
  sourceDateEpoch: number;
  targets: { path: string; custom: AirlockTargetCustom }[];
  /** Hash bins the new targets fall in (empty while targets.json holds every target). */
  bins: string[];
  keys: KeyNeed[];
  /** What the release writes into the copy, in publishing order (`<sha256>` is known after the build). */
  files: string[];
  hosts: PlannedHost[];
  buildLog: string;
  /** Across a pgp key change: the earlier keys co-signing the apt Release (their ids are in `keys`). */
  aptKeys?: PlannedAptKeys;
}

/** The project/version pairs a targets map lists. */
export function releasedVersions(targets: Record<string, { custom?: { airlock?: { project: string; version: string } } }>): Set<string> {
  const out = new Set<string>();
  for (const [path, info] of Object.entries(targets)) {
    const a = info.custom?.airlock;
    out.add(a ? `${a.project}/${a.version}` : path.split('/').slice(0, 2).join('/'));
  }
  return out;
}

/** The target paths a release of `recipe` adds: each artifact and the provenance. */
export function releaseTargetPaths(recipe: ReleaseRecipe): string[] {
  return [...recipe.artifacts, provenanceFileName(recipe.project, recipe.version)].sort().map((n) => `${recipe.project}/${recipe.version}/${n}`);
}

export function planRelease(input: ReleasePlanInput): ReleasePlan {
  const { recipe, pins, state, config } = input;
  const provenance = provenanceFileName(recipe.project, recipe.version);
  checkNames({ project: recipe.project, version: recipe.version, artifacts: recipe.artifacts.map((name) => ({ name })) });
  if (recipe.artifacts.includes(provenance)) throw new AirlockError('E_RECIPE', `artifact name "${provenance}" is reserved for the provenance`);
  if (input.released) throw releaseExists(recipe.project, recipe.version);
  if (input.hosts.length === 0) throw new AirlockError('E_HOST_UNKNOWN', 'no hosts to publish to; add one with `airlock host add NAME URL`, or give a directory with --to');

  const names = [...recipe.artifacts, provenance].sort();
  const custom = releaseCustom({ project: recipe.project, version: recipe.version, commit: pins.commit, branch: pins.branch, sourceDateEpoch: pins.sourceDateEpoch });
  const targets = names.map((n) => ({ path: `${recipe.project}/${recipe.version}/${n}`, custom }));
  const hashBins = { afterTargets: config.hashBins.afterTargets, layout: { bitLength: config.hashBins.bitLength, namePrefix: 'bins' } };
  const edit = metadataEdit(state, state.root.signed, { paths: targets.map((t) => t.path), forced: [] }, hashBins);

  const root = state.root.signed;
  const listing = [input.keystore];
  const keys: KeyNeed[] = [
    ...listedKeys(listing, root, 'targets', 'signs targets and the provenance'),
    ...listedKeys(listing, root, 'snapshot', 'signs snapshot'),
    ...listedKeys(listing, root, 'timestamp', 'signs timestamp'),
  ];
  const pgp = newestKey(input.keystore, 'pgp', 'signs .asc files, SHA256SUMS.asc and the apt repository');
  const minisign = newestKey(input.keystore, 'minisign', 'signs .minisig files');
  if (recipe.artifacts.some((a) => a.endsWith('.deb')) && !pgp) {
    throw new AirlockError('E_KEY_NOT_FOUND', `the recipe makes .deb files but ${input.keystore.dir} has no pgp key to sign the apt repository; run \`airlock key generate pgp\``);
  }
  const makesRpm = recipe.artifacts.some((a) => a.endsWith('.rpm'));
  // The recipe lists exactly what the build releases, so its .rpm files are known now.
  if (makesRpm) checkRpmRelease({ tools: input.rpmTools, publicUrl: config.publicUrl, pgpKeyType: input.keystore.keys.find((k) => k.keyId === pgp?.keyId)?.keyType });
  const ssh = newestKey(input.keystore, 'ssh', 'signs .sshsig files');
  for (const k of [pgp, minisign, ssh]) if (k) keys.push(k);
  const apt = pgp && recipe.artifacts.some((a) => a.endsWith('.deb')) ? planAptKeys(input.keystore, pgp.keyId, input.aptSignedBy ?? [], config.apt?.retiredKeys ?? []) : { keys: [] };
  keys.push(...apt.keys);
  const hosts = plannedHosts(input.hosts);
  keys.push(...publishKeyFor(input.keystore, hosts));
  refuseAbsentTokens(keys, listing);

  const dir = `${recipe.project}/${recipe.version}`;
  const files = [
    ...names.map((n) => `targets/${dir}/<sha256>.${n}`),
    ...names.map((n) => `releases/${dir}/${n}`),
    ...(pgp && minisign ? [`releases/${dir}/SHA256SUMS`, `releases/${dir}/SHA256SUMS.asc`, `releases/${dir}/SHA256SUMS.minisig`] : []),
    ...(recipe.artifacts.some((a) => a.endsWith('.deb')) ? ['apt/pool/…', 'apt/dists/…'] : []),
    ...(makesRpm ? ['rpm/Packages/…', 'rpm/repodata/…'] : []),
    ...edit.files,
  ];
  return { kind: 'release', project: recipe.project, version: recipe.version, ...pins, targets, bins: edit.sign.bins, keys, files, hosts, buildLog: input.buildLog, ...(apt.transition ? { aptKeys: apt.transition } : {}) };
}

export function describeReleasePlan(plan: ReleasePlan): string[] {
  return [
    `release ${plan.project} ${plan.version} from ${plan.branch} @ ${plan.commit}`,
    `targets (${plan.targets.length}):`,
    ...plan.targets.map((t) => `  ${t.path}`),
    ...(plan.bins.length ? [`hash bins re-signed: ${plan.bins.join(', ')}`] : []),
    'keys to unlock (after the build):',
    ...plan.keys.map((k) => `  ${k.role.padEnd(9)} ${k.keyId.slice(0, 16)}  in ${k.keystore}  (${k.purpose})`),
    'files, in publishing order:',
    ...plan.files.map((f) => `  ${f}`),
    `hosts: ${plan.hosts.map((h) => `${h.name} (${h.url})`).join(', ')}`,
    `build log kept at ${plan.buildLog}`,
    ...(plan.aptKeys ? describeAptKeyTransition(plan.aptKeys) : []),
  ];
}
