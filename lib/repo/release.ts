// A release: everything it adds to the repository is written and signed into the
// editing transaction's staging directory first (targets, human-readable copies,
// compatibility outputs), then the transaction signs targets (or the bins the new paths
// fall in) → snapshot → timestamp and moves it all into the terminal's repository copy
// at once, so a refused signature or a full disk leaves the repository as it was.
import { copyFile, link, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { contentDigestsOf, copyWithContentDigests, type ContentDigests } from '../core/content-digests.js';
import { AirlockError, fromSystemError } from '../core/errors.js';
import { openRegularFile } from '../core/regular-file.js';
import { listedHashes, type AirlockTargetCustom, type TargetFileInfo } from '../core/tuf-metadata.js';
import type { Signer } from '../keys/signer.js';
import { openpgpCertificate, updateAllowedSigners, updateAptRepository, updateKeysFile, writeReleaseSignatures, type AptLayout } from './compat/index.js';
import { keyIdentityChange, publishedKeyIds, writeKeyHistory, type PublishedKeyIdentity } from './compat/key-history.js';
import { readKeysFile } from './compat/published-keys.js';
import { updateRpmRepository } from './compat/rpm-repository.js';
import { checkRpmRelease, observeRpmTools } from './compat/rpm-tools.js';
import { expiresAt, type ExpiryDays } from './expiry.js';
import type { BinLayout } from './hash-bins.js';
import { RepositoryTransaction } from './transaction.js';

export interface ReleaseArtifact {
  name: string;
  path: string;
  /**
   * The digests the build took while it copied the artifact out (the one read of it).
   * With them the file is handed over, not copied: it is hard-linked into the release
   * when it can be, and must not be written again. Without them the release copies the
   * file and hashes it on the way, once.
   */
  content?: ContentDigests;
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
  /** Earlier pgp keys that co-sign the apt Release across a key change (compat/apt-key-transition.ts). */
  aptCosigners?: readonly Signer[];
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
  /** Every path the release staged (a file the copy already held byte for byte is not written again). */
  staged: string[];
  metadataVersions: { targets: number; snapshot: number; timestamp: number };
  /** The OpenPGP fingerprint and minisign key id users compare, and whether they changed since the previous release. */
  keys: PublishedKeyIdentity;
}

const NAME_PART = /^[A-Za-z0-9][A-Za-z0-9._+~-]*$/;

export function provenanceFileName(project: string, version: string): string {
  return `${project}-${version}.intoto.jsonl`;
}

export function checkNames(input: { project: string; version: string; artifacts: readonly { name: string }[] }): void {
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

/** What a compatibility writer sees: the release staged so far, and the keys at hand. */
export interface CompatContext {
  /** The transaction's staging directory (a host tree): write outputs under it. */
  staging: string;
  /** The terminal's repository copy, read-only: earlier indices to extend (apt). */
  repoDir: string;
  /** `releases/<project>/<version>`, posix. */
  releaseDir: string;
  input: ReleaseInput;
  /** File names of the release directory (artifacts and provenance), sorted. */
  names: string[];
  /** Each of those files' digests, so no writer reads a release file again to hash it (absent: writers read what they sign). */
  content?: ReadonlyMap<string, ContentDigests>;
  targets: ReleasedTarget[];
  signers: ReleaseSigners;
  options: ReleaseOptions;
}

/**
 * A compatibility output (DESIGN "Compatibility outputs"): signatures and indices people
 * check with the tools they already have. Each writer stages its files; the transaction
 * commits them with the metadata. New formats (SSHSIG, .sha512, rpm …) are one more
 * entry in COMPAT_WRITERS.
 */
export interface CompatWriter {
  name: string;
  write(ctx: CompatContext): Promise<void>;
}

// SSH signing windows are checked before anything is signed (a retired key refuses here).
const allowedSigners: CompatWriter = {
  name: 'ssh allowed_signers',
  async write({ staging, repoDir, input, signers, options }) {
    if (signers.ssh) await updateAllowedSigners(join(repoDir, 'keys'), join(staging, 'keys'), signers.ssh, input.project, options.now);
  },
};

const releaseSignatures: CompatWriter = {
  name: 'openpgp, minisign, ssh signatures and checksums',
  async write({ staging, releaseDir, names, content, input, targets, signers, options }) {
    if (!signers.pgp || !signers.minisign) return;
    const sizes = new Map(targets.map((t) => [t.target.slice(t.target.lastIndexOf('/') + 1), t.length]));
    await writeReleaseSignatures({
      dir: join(staging, releaseDir),
      files: names,
      project: input.project,
      version: input.version,
      pgp: signers.pgp,
      minisign: signers.minisign,
      ...(signers.ssh ? { ssh: signers.ssh } : {}),
      date: options.now,
      ...(content ? { digests: content } : {}),
      onProgress: (file, bytes) => options.onProgress?.({ phase: 'signing', file, bytes, total: sizes.get(file) ?? bytes }),
    });
  },
};

// The public keys users check .asc and .minisig files with follow the keys that signed
// this release: the same key gives the same bytes (no change), a replaced key (say,
// moved into a hardware token) is republished with the release it first signs.
const publicKeys: CompatWriter = {
  name: 'public keys',
  async write({ staging, repoDir, signers, options }) {
    if (signers.pgp) {
      const userId = options.userId ?? options.name;
      const certificate = await openpgpCertificate(signers.pgp, userId);
      await writeKeyHistory(join(repoDir, 'keys'), join(staging, 'keys'), { pgpCertificate: certificate });
      await updateKeysFile(join(repoDir, 'keys'), join(staging, 'keys'), signers.pgp, userId, certificate);
    }
    if (signers.minisign) await writeKeyHistory(join(repoDir, 'keys'), join(staging, 'keys'), { minisign: signers.minisign });
  },
};

const aptRepository: CompatWriter = {
  name: 'apt repository',
  async write({ staging, repoDir, releaseDir, input, signers, options }) {
    const debs = input.artifacts.filter((a) => a.name.endsWith('.deb')).map((a) => join(staging, releaseDir, a.name));
    if (debs.length === 0) return;
    if (!signers.pgp) throw new AirlockError('E_KEY_NOT_FOUND', 'the release has .deb files but the keystore has no pgp key to sign the apt repository; run `airlock key generate pgp`');
    // The apt indexes list every earlier version too: extended from the copy's, written to staging.
    await updateAptRepository({
      aptDir: join(staging, 'apt'),
      previousAptDir: join(repoDir, 'apt'),
      debs,
      pgp: [signers.pgp, ...(signers.aptCosigners ?? [])],
      date: options.now,
      origin: options.name,
      label: options.name,
      ...(options.apt ? { layout: options.apt } : {}),
      // apt refuses the repository after this unless `airlock refresh` re-signs it first.
      validUntil: new Date(expiresAt('timestamp', options.now, options.expiryDays)),
    });
  },
};

const rpmRepository: CompatWriter = {
  name: 'rpm repository',
  async write({ staging, repoDir, releaseDir, input, signers, options }) {
    const rpms = input.artifacts.filter((a) => a.name.endsWith('.rpm')).map((a) => join(staging, releaseDir, a.name));
    if (rpms.length > 0 && signers.pgp && options.publicUrl) {
      // Each signed package is checked against the keys published with it (staged by publicKeys when they change).
      const publishedKeys = await readKeysFile(join(staging, 'keys'), join(repoDir, 'keys'), 'release-signing.asc');
      if (publishedKeys === undefined) throw new AirlockError('E_INTERNAL', 'keys/release-signing.asc was not written before the rpm repository');
      await updateRpmRepository({ rpmDir: join(staging, 'rpm'), publishedRpmDir: join(repoDir, 'rpm'), rpms, pgp: signers.pgp, date: options.now, project: input.project, name: options.name, publicUrl: options.publicUrl, publishedKeys });
    }
  },
};

/** The compatibility outputs a release writes, in order. */
export const COMPAT_WRITERS: readonly CompatWriter[] = [allowedSigners, releaseSignatures, publicKeys, aptRepository, rpmRepository];

/** What `airlock import --compat signatures` writes per release (lib/repo/import.ts): the signatures and keys, not the apt/rpm indices. */
export const IMPORT_COMPAT_WRITERS: readonly CompatWriter[] = [allowedSigners, releaseSignatures, publicKeys];

/**
 * Writes and signs the whole release into the terminal's repository copy: a script over
 * the editing transaction (stage content → add targets → compat outputs → commit).
 */
export async function releaseToRepository(repoDir: string, stagingRoot: string, input: ReleaseInput, signers: ReleaseSigners, options: ReleaseOptions): Promise<ReleaseResult> {
  checkNames(input);
  const tx = await RepositoryTransaction.open(repoDir, stagingRoot, { now: options.now, expiryDays: options.expiryDays, ...(options.hashBins ? { hashBins: options.hashBins } : {}) });
  try {
    const root = tx.root;
    for (const role of ['targets', 'snapshot', 'timestamp'] as const) {
      // A key root no longer lists (rotated away) would make metadata every client refuses.
      if (!root.roles[role].keyids.includes(signers[role].keyId)) {
        throw new AirlockError('E_KEY_ROLE', `the ${role} key ${signers[role].keyId.slice(0, 16)}… is not the ${role} key root v${root.version} trusts; use the keystore that holds the current key (airlock key list)`);
      }
    }
    if (input.artifacts.some((a) => a.name.endsWith('.rpm'))) {
      // The release plan checked this before the build; checked again before anything is signed.
      checkRpmRelease({ tools: await observeRpmTools(), publicUrl: options.publicUrl, pgpKeyType: signers.pgp?.keyType });
    }
    const releaseDir = `releases/${input.project}/${input.version}`;
    if (await stat(join(repoDir, releaseDir)).then(() => true, () => false)) throw releaseExists(input.project, input.version);
    const staging = tx.stagingDir;
    await mkdir(join(staging, releaseDir), { recursive: true });
    const provenanceName = provenanceFileName(input.project, input.version);
    await writeFileAtomic(join(staging, releaseDir, provenanceName), input.provenance);
    const content = new Map<string, ContentDigests>([[provenanceName, await contentDigestsOf(input.provenance)]]);
    for (const a of input.artifacts) {
      if (a.name === provenanceName) throw new AirlockError('E_RECIPE', `artifact name "${a.name}" is reserved for the provenance`);
      const staged = join(staging, releaseDir, a.name);
      content.set(a.name, await stageArtifact(a, staged, (bytes, total) => options.onProgress?.({ phase: 'hashing', file: a.name, bytes, total })));
    }
    const names = [...input.artifacts.map((a) => a.name), provenanceName].sort();
    const custom = releaseCustom(input);
    const additions: Record<string, TargetFileInfo> = {};
    const released: ReleasedTarget[] = [];
    for (const name of names) {
      const local = join(staging, releaseDir, name);
      const { length, sha256 } = content.get(name)!;
      const target = `${input.project}/${input.version}/${name}`;
      additions[target] = { length, hashes: listedHashes({ sha256 }), custom: { airlock: custom } };
      // TUF consistent snapshots: targets/<dir>/<sha256>.<name>, the same bytes as the release copy.
      const consistent = join(staging, 'targets', input.project, input.version, `${sha256}.${name}`);
      await mkdir(join(staging, 'targets', input.project, input.version), { recursive: true });
      await link(local, consistent).catch(() => copyFile(local, consistent));
      released.push({ target, release: `${releaseDir}/${name}`, length, sha256 });
    }
    tx.addTargets(additions);
    for (const writer of COMPAT_WRITERS) await writer.write({ staging, repoDir, releaseDir, input, names, content, targets: released, signers, options });
    const before = await publishedKeyIds(join(repoDir, 'keys'));
    const keys = keyIdentityChange(before, await publishedKeyIds(join(staging, 'keys')));
    const result = await tx.commit({ targets: [signers.targets], snapshot: [signers.snapshot], timestamp: [signers.timestamp] });
    const current = tx.current!;
    return {
      project: input.project,
      version: input.version,
      targets: released,
      files: result.files,
      staged: result.staged,
      keys,
      metadataVersions: {
        targets: result.versions.targets ?? current.targets.signed.version,
        snapshot: result.versions.snapshot ?? current.snapshot.signed.version,
        timestamp: result.versions.timestamp ?? current.timestamp.signed.version,
      },
    };
  } finally {
    await tx.close();
  }
}

/**
 * Puts one artifact into the staged release directory and returns its digests. Handed
 * over with the build's digests, it is linked (one filesystem) or copied in the kernel;
 * its size must still be the one hashed. Otherwise it is copied and hashed in one read.
 */
async function stageArtifact(a: ReleaseArtifact, staged: string, onProgress: (bytes: number, total: number) => void): Promise<ContentDigests> {
  if (a.content) {
    const size = await stat(a.path).then(
      (st) => st.size,
      (err: unknown) => {
        throw fromSystemError(err, `reading the artifact ${a.path}`);
      },
    );
    if (size !== a.content.length) {
      throw new AirlockError('E_IO', `the artifact ${a.path} changed after the build hashed it (${a.content.length} bytes, now ${size}); run the release again`, { details: { artifact: a.name } });
    }
    // A hard link is no read and no write; across filesystems copyFile streams in the kernel.
    await link(a.path, staged).catch(() =>
      copyFile(a.path, staged).catch((err: unknown) => {
        throw fromSystemError(err, `copying artifact ${a.path}`);
      }),
    );
    return a.content;
  }
  let opened;
  try {
    opened = await openRegularFile(a.path, { followSymlink: true });
  } catch (err) {
    throw fromSystemError(err, `copying artifact ${a.path}`);
  }
  if ('refused' in opened) throw new AirlockError('E_IO', `the artifact ${a.path} is ${opened.refused === 'absent' ? 'missing' : 'not a regular file'}`, { details: { artifact: a.name } });
  try {
    const total = opened.st.size;
    return await copyWithContentDigests(opened.fh, total, staged, { onProgress: (bytes) => onProgress(bytes, total) });
  } catch (err) {
    throw fromSystemError(err, `copying artifact ${a.path}`);
  } finally {
    await opened.fh.close();
  }
}

/** The `custom.airlock` every target of a release carries (DESIGN "Trust and formats"). */
export function releaseCustom(input: Pick<ReleaseInput, 'project' | 'version' | 'commit' | 'branch' | 'sourceDateEpoch'>): AirlockTargetCustom {
  return {
    project: input.project,
    version: input.version,
    commit: input.commit,
    branch: input.branch,
    sourceDateEpoch: input.sourceDateEpoch,
    provenance: `${input.project}/${input.version}/${provenanceFileName(input.project, input.version)}`,
  };
}

export function releaseExists(project: string, version: string): AirlockError {
  return new AirlockError('E_RELEASE_EXISTS', `${project} ${version} is already released; a published version is immutable — bump the version on a new release branch`, { details: { project, version } });
}

export { DEFAULT_HASH_BINS } from './transaction.js';
