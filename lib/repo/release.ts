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
import { metadataFileName, SPEC_VERSION, type AirlockTargetCustom, type TargetFileInfo, type TargetsSigned } from '../core/tuf-metadata.js';
import type { Signer } from '../keys/signer.js';
import { openpgpCertificate, updateAllowedSigners, updateAptRepository, updateKeysFile, writeReleaseSignatures, type AptLayout } from './compat/index.js';
import { writeKeyHistory } from './compat/key-history.js';
import { updateRpmRepository } from './compat/rpm-repository.js';
import { assertRpmTools } from './compat/rpm-sign.js';
import { expiresAt, type ExpiryDays } from './expiry.js';
import { allBinNames, binFor, DEFAULT_BIN_LAYOUT, layoutOf, succinctDelegations, type BinLayout } from './hash-bins.js';
import { commitStaged, LocalRepository, type CurrentMetadata } from './local-repository.js';
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
  /** SSHSIG (`<file>.sshsig`, keys/allowed_signers). */
  ssh?: Signer;
}

export interface ReleaseOptions {
  now: Date;
  expiryDays: ExpiryDays;
  /** Hashing and signing progress, per file (the CLI draws it on a TTY). */
  onProgress?: (e: { phase: 'hashing' | 'signing'; file: string; bytes: number; total: number }) => void;
  /** Past this many targets, targets delegate to hash bins (docs/formats.md, "Scale"). */
  hashBins?: { afterTargets: number; layout: BinLayout };
  /** Origin and Label of the apt repository. */
  name: string;
  /** The OpenPGP certificate's user id; `name` unless given. */
  userId?: string;
  /** Suite, codename, components and architectures of the apt repository. */
  apt?: AptLayout;
  /** Public base URL of the host: the rpm repository's .repo file points there. */
  publicUrl?: string;
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
    if (!NAME_PART.test(a.name) || /\.(asc|minisig|sshsig|sha512)$/.test(a.name) || a.name.startsWith('SHA256SUMS')) {
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
  if (input.artifacts.some((a) => a.name.endsWith('.rpm'))) {
    // Checked before anything is signed: the rpm repository needs its tools, a pgp key and the public URL.
    if (!signers.pgp) throw new AirlockError('E_KEY_NOT_FOUND', 'the release has .rpm files but the keystore has no pgp key to sign them; run `airlock key generate pgp`');
    if (!options.publicUrl) throw new AirlockError('E_CONFIG', 'the release has .rpm files: set "publicUrl" (the host\'s public base URL, e.g. "https://releases.example.org") in airlock.json, for the .repo file users install');
    await assertRpmTools();
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
      const total = (await stat(local)).size;
      const { length, digests } = await hashFile(local, (bytes) => options.onProgress?.({ phase: 'hashing', file: name, bytes, total }));
      const target = `${input.project}/${input.version}/${name}`;
      const custom: AirlockTargetCustom = {
        project: input.project,
        version: input.version,
        commit: input.commit,
        branch: input.branch,
        sourceDateEpoch: input.sourceDateEpoch,
        provenance: provenanceTarget,
      };
      additions[target] = { length, hashes: { sha256: digests.sha256, sha512: digests.sha512 }, custom: { airlock: custom } };
      // TUF consistent snapshots: targets/<dir>/<sha256>.<name>, the same bytes as the release copy.
      const consistent = join(staging, 'targets', input.project, input.version, `${digests.sha256}.${name}`);
      await mkdir(join(staging, 'targets', input.project, input.version), { recursive: true });
      await link(local, consistent).catch(() => copyFile(local, consistent));
      released.push({ target, release: `${releaseDir}/${name}`, length, sha256: digests.sha256 });
    }

    // SSH signing windows are checked before anything is signed (a retired key refuses here).
    if (signers.ssh) await updateAllowedSigners(join(repoDir, 'keys'), join(staging, 'keys'), signers.ssh, input.project, options.now);
    if (signers.pgp && signers.minisign) {
      const sizes = new Map(released.map((t) => [t.target.slice(t.target.lastIndexOf('/') + 1), t.length]));
      await writeReleaseSignatures({
        dir: join(staging, releaseDir),
        files: names,
        project: input.project,
        version: input.version,
        pgp: signers.pgp,
        minisign: signers.minisign,
        ...(signers.ssh ? { ssh: signers.ssh } : {}),
        date: options.now,
        onProgress: (file, bytes) => options.onProgress?.({ phase: 'signing', file, bytes, total: sizes.get(file) ?? bytes }),
      });
    }
    // The public keys users check .asc and .minisig files with follow the keys that signed
    // this release: the same key gives the same bytes (no change), a replaced key (say,
    // moved into a hardware token) is republished with the release it first signs.
    if (signers.pgp) {
      const userId = options.userId ?? options.name;
      const certificate = await openpgpCertificate(signers.pgp, userId);
      await writeKeyHistory(join(repoDir, 'keys'), join(staging, 'keys'), { pgpCertificate: certificate });
      await updateKeysFile(join(repoDir, 'keys'), join(staging, 'keys'), signers.pgp, userId, certificate);
    }
    if (signers.minisign) await writeKeyHistory(join(repoDir, 'keys'), join(staging, 'keys'), { minisign: signers.minisign });
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
        ...(options.apt ? { layout: options.apt } : {}),
        // apt refuses the repository after this unless `airlock refresh` re-signs it first.
        validUntil: new Date(expiresAt('timestamp', options.now, options.expiryDays)),
      });
    }

    const rpms = input.artifacts.filter((a) => a.name.endsWith('.rpm')).map((a) => join(staging, releaseDir, a.name));
    if (rpms.length > 0 && signers.pgp && options.publicUrl) {
      await updateRpmRepository({ rpmDir: join(staging, 'rpm'), publishedRpmDir: join(repoDir, 'rpm'), rpms, pgp: signers.pgp, date: options.now, project: input.project, name: options.name, publicUrl: options.publicUrl });
    }

    const changed = await signTargetsChanges(repo, current, additions, signers.targets, options);
    for (const c of changed) await writeFileAtomic(join(staging, 'metadata', metadataFileName(c.role, c.version)), c.bytes);
    const snapshot = await signMetadata(
      nextSnapshot(current.snapshot.signed, Object.fromEntries(changed.map((c) => [metadataFileName(c.role), metaFileFor(c.version, c.bytes)])), expiresAt('snapshot', options.now, options.expiryDays)),
      [signers.snapshot],
    );
    const snapshotBytes = envelopeBytes(snapshot);
    await writeFileAtomic(join(staging, 'metadata', metadataFileName('snapshot', snapshot.signed.version)), snapshotBytes);
    const timestamp = await signMetadata(
      nextTimestamp(current.timestamp.signed, metaFileFor(snapshot.signed.version, snapshotBytes), expiresAt('timestamp', options.now, options.expiryDays)),
      [signers.timestamp],
    );
    await writeFileAtomic(join(staging, 'metadata', metadataFileName('timestamp')), envelopeBytes(timestamp));

    const files = await commitStaged(staging, repoDir);
    return {
      project: input.project,
      version: input.version,
      targets: released,
      files,
      metadataVersions: { targets: changed.find((c) => c.role === 'targets')?.version ?? current.targets.signed.version, snapshot: snapshot.signed.version, timestamp: timestamp.signed.version },
    };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

export const DEFAULT_HASH_BINS = { afterTargets: 1024, layout: DEFAULT_BIN_LAYOUT } as const;

interface SignedRole {
  role: string;
  version: number;
  bytes: Uint8Array;
}

/**
 * Signs the targets metadata a release changes. While the repository is small that is
 * targets.json itself; once it holds more than `hashBins.afterTargets` targets, every
 * target moves into hash bins and from then on a release re-signs only the bins its
 * new targets fall in (top-level targets, which only holds the delegation, stays).
 */
async function signTargetsChanges(
  repo: LocalRepository,
  current: CurrentMetadata,
  additions: Record<string, TargetFileInfo>,
  signer: Signer,
  options: ReleaseOptions,
): Promise<SignedRole[]> {
  const expires = expiresAt('targets', options.now, options.expiryDays);
  const sign = async (signed: TargetsSigned, role: string): Promise<SignedRole> => {
    const env = await signMetadata(signed, [signer], role);
    return { role, version: signed.version, bytes: envelopeBytes(env) };
  };
  const existing = (targets: Record<string, TargetFileInfo>): void => {
    const dup = Object.keys(additions).find((p) => targets[p] !== undefined);
    if (dup) throw new AirlockError('E_RELEASE_EXISTS', `target ${dup} is already in the repository; release under a new version`);
  };
  const layout = layoutOf(current.targets.signed.delegations);
  if (layout) {
    const byBin = new Map<string, Record<string, TargetFileInfo>>();
    for (const [path, info] of Object.entries(additions)) {
      const bin = binFor(layout, path);
      byBin.set(bin, { ...byBin.get(bin), [path]: info });
    }
    const out: SignedRole[] = [];
    for (const [bin, group] of [...byBin].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const prior = await repo.readDelegated(current.snapshot.signed, bin);
      if (!prior) throw new AirlockError('E_METADATA_INVALID', `snapshot lists no ${bin}.json; the repository copy is damaged — restore it`);
      existing(prior.signed.targets);
      out.push(await sign(nextTargets(prior.signed, group, expires), bin));
    }
    return out;
  }
  existing(current.targets.signed.targets);
  const bins = options.hashBins ?? DEFAULT_HASH_BINS;
  const all = { ...current.targets.signed.targets, ...additions };
  if (Object.keys(all).length <= bins.afterTargets) {
    return [await sign(nextTargets(current.targets.signed, additions, expires), 'targets')];
  }
  // Crossing the line: every target moves into its bin; every bin exists, empty or not,
  // because a client that looks a path up must find its bin in snapshot.
  const grouped = new Map<string, Record<string, TargetFileInfo>>(allBinNames(bins.layout).map((b) => [b, {}]));
  for (const [path, info] of Object.entries(all)) grouped.get(binFor(bins.layout, path))![path] = info;
  const out: SignedRole[] = [];
  const top: TargetsSigned = {
    _type: 'targets',
    spec_version: SPEC_VERSION,
    version: current.targets.signed.version + 1,
    expires,
    targets: {},
    delegations: succinctDelegations(bins.layout, [signer.tufKey]),
  };
  out.push(await sign(top, 'targets'));
  for (const [bin, targets] of grouped) out.push(await sign(nextTargets(undefined, targets, expires), bin));
  return out;
}
