// Staging a release: everything a release adds to the repository is written and signed
// into a staging directory first (targets, human-readable copies, compatibility
// signatures, apt indexes, then targets → snapshot → timestamp metadata). Only when all
// of it exists is it moved into the terminal's repository copy (commitStaged), so a
// refused signature or a full disk leaves the repository as it was.
import { randomBytes } from 'node:crypto';
import { copyFile, cp, link, mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { hashFile } from '../core/digest.js';
import { AirlockError, fromSystemError } from '../core/errors.js';
import type { AirlockTargetCustom, TargetFileInfo } from '../core/tuf-metadata.js';
import type { Signer } from '../keys/signer.js';
import { updateAptRepository, writeReleaseSignatures } from './compat/index.js';
import { expiresAt, type ExpiryDays } from './expiry.js';
import { commitStaged, LocalRepository } from './local-repository.js';
import { envelopeBytes, signMetadata } from './sign-metadata.js';
import { metaFileFor, nextSnapshot, nextTargets, nextTimestamp } from './top-level.js';

export interface ReleaseArtifact {
  name: string;
  path: string;
}

export interface ReleaseInput {
  project: string;
  version: string;
  commit: string;
  branch: string;
  sourceDateEpoch: number;
  artifacts: readonly ReleaseArtifact[];
  /** The DSSE provenance envelope, published as a target of its own. */
  provenance: Uint8Array;
}

export interface ReleaseSigners {
  targets: Signer;
  snapshot: Signer;
  timestamp: Signer;
  pgp?: Signer;
  minisign?: Signer;
}

export interface ReleaseOptions {
  now: Date;
  expiryDays: ExpiryDays;
  /** Origin and Label of the apt repository. */
  name: string;
}

export interface ReleasedTarget {
  /** TUF target path, `<project>/<version>/<file>`. */
  target: string;
  /** Path under the host tree of the human-readable copy. */
  release: string;
  length: number;
  sha256: string;
}

export interface ReleaseResult {
  project: string;
  version: string;
  targets: ReleasedTarget[];
  /** Every path the release added or replaced, in publishing order. */
  files: string[];
  metadataVersions: { targets: number; snapshot: number; timestamp: number };
}

const NAME_PART = /^[A-Za-z0-9][A-Za-z0-9._+~-]*$/;

export function provenanceFileName(project: string, version: string): string {
  return `${project}-${version}.intoto.jsonl`;
}

function checkNames(input: ReleaseInput): void {
  for (const [what, v] of [
    ['project', input.project],
    ['version', input.version],
  ] as const) {
    if (!NAME_PART.test(v)) throw new AirlockError('E_RECIPE', `${what} "${v}" may hold only letters, digits and . _ + ~ - (it becomes part of every target path)`);
  }
  const names = new Set<string>();
  for (const a of input.artifacts) {
    if (!NAME_PART.test(a.name) || a.name.endsWith('.asc') || a.name.endsWith('.minisig') || a.name.startsWith('SHA256SUMS')) {
      throw new AirlockError('E_RECIPE', `artifact name "${a.name}" is not allowed; use letters, digits and . _ + ~ - and no signature suffix`);
    }
    if (names.has(a.name)) throw new AirlockError('E_RECIPE', `two artifacts are named "${a.name}"`);
    names.add(a.name);
  }
}

/** Writes and signs the whole release into the terminal's repository copy. */
export async function releaseToRepository(repoDir: string, stagingRoot: string, input: ReleaseInput, signers: ReleaseSigners, options: ReleaseOptions): Promise<ReleaseResult> {
  checkNames(input);
  const repo = new LocalRepository(repoDir);
  const current = await repo.current();
  for (const role of ['targets', 'snapshot', 'timestamp'] as const) {
    // A key root no longer lists (rotated away) would make metadata every client refuses.
    if (!current.root.signed.roles[role].keyids.includes(signers[role].keyId)) {
      throw new AirlockError('E_KEY_ROLE', `the ${role} key ${signers[role].keyId.slice(0, 16)}… is not the ${role} key root v${current.root.signed.version} trusts; use the keystore that holds the current key (airlock key list)`);
    }
  }
  const releaseDir = `releases/${input.project}/${input.version}`;
  if (await stat(join(repoDir, releaseDir)).then(() => true, () => false)) {
    throw new AirlockError('E_RELEASE_EXISTS', `${input.project} ${input.version} is already released; a published version is immutable — bump the version on a new release branch`);
  }
  const staging = join(stagingRoot, `release-${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(join(staging, releaseDir), { recursive: true });
    const provenanceName = provenanceFileName(input.project, input.version);
    await writeFileAtomic(join(staging, releaseDir, provenanceName), input.provenance);
    for (const a of input.artifacts) {
      if (a.name === provenanceName) throw new AirlockError('E_RECIPE', `artifact name "${a.name}" is reserved for the provenance`);
      // copyFile streams in the kernel (copy_file_range): constant memory on GB files.
      await copyFile(a.path, join(staging, releaseDir, a.name)).catch((err: unknown) => {
        throw fromSystemError(err, `copying artifact ${a.path}`);
      });
    }
    const provenanceTarget = `${input.project}/${input.version}/${provenanceName}`;
    const names = [...input.artifacts.map((a) => a.name), provenanceName].sort();
    const additions: Record<string, TargetFileInfo> = {};
    const released: ReleasedTarget[] = [];
    for (const name of names) {
      const local = join(staging, releaseDir, name);
      const { length, digests } = await hashFile(local);
      const target = `${input.project}/${input.version}/${name}`;
      const custom: AirlockTargetCustom = {
        project: input.project,
        version: input.version,
        commit: input.commit,
        branch: input.branch,
        sourceDateEpoch: input.sourceDateEpoch,
        provenance: provenanceTarget,
      };
      if (current.targets.signed.targets[target]) {
        throw new AirlockError('E_RELEASE_EXISTS', `target ${target} is already in the repository; release under a new version`);
      }
      additions[target] = { length, hashes: { sha256: digests.sha256, sha512: digests.sha512 }, custom: { airlock: custom } };
      // TUF consistent snapshots: targets/<dir>/<sha256>.<name>, the same bytes as the release copy.
      const consistent = join(staging, 'targets', input.project, input.version, `${digests.sha256}.${name}`);
      await mkdir(join(staging, 'targets', input.project, input.version), { recursive: true });
      await link(local, consistent).catch(() => copyFile(local, consistent));
      released.push({ target, release: `${releaseDir}/${name}`, length, sha256: digests.sha256 });
    }

    if (signers.pgp && signers.minisign) {
      await writeReleaseSignatures({
        dir: join(staging, releaseDir),
        files: names,
        project: input.project,
        version: input.version,
        pgp: signers.pgp,
        minisign: signers.minisign,
        date: options.now,
      });
    }
    const debs = input.artifacts.filter((a) => a.name.endsWith('.deb')).map((a) => join(staging, releaseDir, a.name));
    if (debs.length > 0) {
      if (!signers.pgp) throw new AirlockError('E_KEY_NOT_FOUND', 'the release has .deb files but the keystore has no pgp key to sign the apt repository; run `airlock key generate pgp`');
      // The apt indexes list every earlier version too: start from the current ones.
      const dists = join(repoDir, 'apt', 'dists');
      if (await stat(dists).then(() => true, () => false)) await cp(dists, join(staging, 'apt', 'dists'), { recursive: true });
      await updateAptRepository({
        aptDir: join(staging, 'apt'),
        debs,
        pgp: signers.pgp,
        date: options.now,
        origin: options.name,
        label: options.name,
      });
    }

    const targets = await signMetadata(nextTargets(current.targets.signed, additions, expiresAt('targets', options.now, options.expiryDays)), [signers.targets]);
    const targetsBytes = envelopeBytes(targets);
    await writeFileAtomic(join(staging, 'metadata', `${targets.signed.version}.targets.json`), targetsBytes);
    const snapshot = await signMetadata(
      nextSnapshot(current.snapshot.signed, { 'targets.json': metaFileFor(targets.signed.version, targetsBytes) }, expiresAt('snapshot', options.now, options.expiryDays)),
      [signers.snapshot],
    );
    const snapshotBytes = envelopeBytes(snapshot);
    await writeFileAtomic(join(staging, 'metadata', `${snapshot.signed.version}.snapshot.json`), snapshotBytes);
    const timestamp = await signMetadata(
      nextTimestamp(current.timestamp.signed, metaFileFor(snapshot.signed.version, snapshotBytes), expiresAt('timestamp', options.now, options.expiryDays)),
      [signers.timestamp],
    );
    await writeFileAtomic(join(staging, 'metadata', 'timestamp.json'), envelopeBytes(timestamp));

    const files = await commitStaged(staging, repoDir);
    return {
      project: input.project,
      version: input.version,
      targets: released,
      files,
      metadataVersions: { targets: targets.signed.version, snapshot: snapshot.signed.version, timestamp: timestamp.signed.version },
    };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
