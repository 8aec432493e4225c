// The verify stage of `airlock reproduce`, all of it before any build: the repository's
// metadata through the TUF client workflow (lib/verify) from the pinned root; the
// release's provenance target, downloaded and checked against the targets metadata, then
// its DSSE signature against the targets keys that same root trusts; and every artifact
// the provenance names, each a target of the release whose hashes equal the subject's
// digests, downloaded and verified. Anything that does not hold is refused here, so a
// tampered host never gets as far as running a recipe.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError, fromSystemError } from '../core/errors.js';
import type { RootSigned } from '../core/tuf-metadata.js';
import { parseTrustedProvenanceEnvelope, provenanceFileName, type VerifiedProvenance } from '../builder/index.js';
import { identifyProvenanceSigner, type ProvenanceSigner } from './provenance-signer.js';
import type { TargetFile, Updater } from '../verify/index.js';

/** Project and version names as target paths allow them (lib/repo's rule). */
const NAME_PART = /^[A-Za-z0-9][A-Za-z0-9._+~-]*$/;

export interface ReleaseId {
  project: string;
  version: string;
}

export interface PublishedArtifact {
  name: string;
  target: TargetFile;
  /** The verified download. */
  path: string;
}

export interface PublishedRelease extends ReleaseId {
  provenanceTarget: TargetFile;
  provenance: VerifiedProvenance;
  /** Who signed the provenance's DSSE envelope (current, retired or unlisted targets key). */
  signer: ProvenanceSigner;
  artifacts: PublishedArtifact[];
  /** Targets of this release the top-level targets role lists that the provenance does not name. */
  unaccounted: string[];
}

/** Parses "PROJECT/VERSION". */
export function parseReleaseId(text: string): ReleaseId {
  const parts = text.split('/');
  if (parts.length !== 2 || !parts.every((p) => NAME_PART.test(p))) {
    throw new AirlockError('E_USAGE', `"${text}" is not PROJECT/VERSION (e.g. hello/1.2.0); both parts may hold letters, digits and . _ + ~ -`);
  }
  return { project: parts[0]!, version: parts[1]! };
}

function disagree(what: string, details: Record<string, unknown>): AirlockError {
  return new AirlockError('E_PROVENANCE', `${what}; the published release and its signed provenance do not belong together — do not trust this release`, { details });
}

/** The release's artifacts and provenance must say the same release: commit, branch, time, provenance path. */
function checkCustom(target: TargetFile, release: ReleaseId, provenancePath: string, recorded: VerifiedProvenance['recorded']): void {
  const custom = target.custom.airlock;
  if (custom === undefined) throw disagree(`${target.path} carries no custom.airlock record`, { target: target.path });
  const expected: Record<string, unknown> = {
    project: release.project,
    version: release.version,
    commit: recorded.commit,
    branch: recorded.branch,
    sourceDateEpoch: recorded.sourceDateEpoch,
    provenance: provenancePath,
  };
  for (const [field, want] of Object.entries(expected)) {
    const got = (custom as unknown as Record<string, unknown>)[field];
    if (got !== want) throw disagree(`${target.path} records ${field} ${JSON.stringify(got)}, the provenance ${JSON.stringify(want)}`, { target: target.path, field, targets: got ?? null, provenance: want });
  }
}

export interface FetchOptions {
  /** Progress, for people. */
  onNote?: (message: string) => void;
  /** Roots before the trusted one, verified from the pinned root (provenance-signer.ts), to name a retired signer. */
  earlierRoots?: readonly RootSigned[];
}

/**
 * Runs the whole verify stage and downloads into `downloadDir` (which must exist): the
 * provenance as `provenance.intoto.jsonl`, each artifact under its own name.
 */
export async function fetchVerifiedRelease(updater: Updater, release: ReleaseId, downloadDir: string, options: FetchOptions = {}): Promise<PublishedRelease> {
  const note = options.onNote ?? (() => undefined);
  // TUF §5.1–§5.6: root, timestamp, snapshot and targets, from the pinned root.
  await updater.refresh();
  const trusted = updater.trusted!;
  note(`verified the repository metadata (root v${trusted.root.version}, snapshot v${trusted.snapshot!.version})`);

  const provenancePath = `${release.project}/${release.version}/${provenanceFileName(release.project, release.version)}`;
  const provenanceTarget = await updater.getTargetInfo(provenancePath);
  if (provenanceTarget === undefined) {
    throw new AirlockError('E_TARGET_UNKNOWN', `${release.project} ${release.version} has no provenance target (${provenancePath}) in this repository; check PROJECT/VERSION, or the release predates airlock provenance`, {
      details: { target: provenancePath },
    });
  }
  const provenanceFile = join(downloadDir, 'provenance.intoto.jsonl');
  await updater.downloadTarget(provenanceTarget, provenanceFile);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(provenanceFile);
  } catch (err) {
    throw fromSystemError(err, `reading ${provenanceFile}`);
  }
  // Trusted because the targets metadata vouches for these bytes (downloadTarget checked
  // length and hashes); the DSSE signer is reported — after a targets-key rotation every
  // older release is signed by the retired key (provenance-signer.ts).
  const opened = parseTrustedProvenanceEnvelope(bytes);
  const signer = identifyProvenanceSigner(opened.envelope, trusted.root, options.earlierRoots);
  const provenance: VerifiedProvenance = { ...opened, keyIds: signer.keyIds };
  const { recorded } = provenance;
  if (recorded.project !== release.project || recorded.version !== release.version) {
    throw disagree(`the provenance at ${provenancePath} is for ${recorded.project}/${recorded.version}`, { requested: `${release.project}/${release.version}`, recorded: `${recorded.project}/${recorded.version}` });
  }
  checkCustom(provenanceTarget, release, provenancePath, recorded);
  const who = { current: 'the current targets key', retired: `a retired targets key (root v${signer.rootVersions?.join(', v')})`, unlisted: 'a key of no root this client verified (pin an older root to check it)' }[signer.key];
  note(`verified the provenance through the targets metadata; DSSE-signed by ${who} ${signer.keyIds.map((k) => k.slice(0, 16)).join(', ')}; commit ${recorded.commit}`);

  const names = new Set<string>();
  const artifacts: PublishedArtifact[] = [];
  for (const subject of recorded.subjects) {
    // The names become file names here: plain names only, each once.
    if (!NAME_PART.test(subject.name) || names.has(subject.name) || subject.name === provenanceFileName(release.project, release.version)) {
      throw new AirlockError('E_PROVENANCE', `the provenance names an artifact "${subject.name}" that cannot be a file of this release`, { details: { subject: subject.name } });
    }
    names.add(subject.name);
    const path = `${release.project}/${release.version}/${subject.name}`;
    const target = await updater.getTargetInfo(path);
    if (target === undefined) throw disagree(`the provenance names ${subject.name}, but ${path} is not a target of the repository`, { target: path });
    for (const alg of ['sha256', 'sha512']) {
      const want = subject.digest[alg];
      const have = target.hashes[alg];
      if (alg === 'sha256' && have === undefined) throw disagree(`${path} has no sha256 in the targets metadata to compare with the provenance`, { target: path });
      if (want !== undefined && have !== undefined && want.toLowerCase() !== have.toLowerCase()) {
        throw disagree(`${path} has ${alg} ${have} in the targets metadata, the provenance records ${want}`, { target: path, algorithm: alg, targets: have, provenance: want });
      }
    }
    checkCustom(target, release, provenancePath, recorded);
    const file = join(downloadDir, subject.name);
    // TUF §5.7: length and hashes checked while the bytes stream in.
    await updater.downloadTarget(target, file);
    artifacts.push({ name: subject.name, target, path: file });
  }
  note(`downloaded and verified ${artifacts.length} artifact(s)`);

  const prefix = `${release.project}/${release.version}/`;
  const top = trusted.targets?.targets ?? {};
  const unaccounted = Object.keys(top)
    .filter((p) => p.startsWith(prefix) && p !== provenancePath && !names.has(p.slice(prefix.length)))
    .sort();
  return { ...release, provenanceTarget, provenance, signer, artifacts, unaccounted };
}
