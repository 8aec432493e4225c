// A new repository: root v1 naming every role's keys, empty targets, and the snapshot
// and timestamp over them; plus the public keys users pin, under keys/ (docs/host-layout.md).
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { sha256Hex } from '../core/digest.js';
import { AirlockError } from '../core/errors.js';
import { SPEC_VERSION } from '../core/tuf-metadata.js';
import type { Signer } from '../keys/signer.js';
import { openpgpCertificate, updateKeysFile } from './compat/index.js';
import { writeKeyHistory } from './compat/key-history.js';
import { expiresAt, type ExpiryDays } from './expiry.js';
import { commitStaged, LocalRepository } from './local-repository.js';
import { envelopeBytes, signMetadata } from './sign-metadata.js';
import { buildRoot, metaFileFor, nextSnapshot, nextTimestamp } from './top-level.js';

export interface InitSigners {
  root: readonly Signer[];
  rootThreshold: number;
  targets: Signer;
  snapshot: Signer;
  timestamp: Signer;
  pgp?: Signer;
  minisign?: Signer;
}

export interface InitResult {
  /** SHA-256 of keys/root.json: what users compare out of band before pinning it. */
  rootFingerprint: string;
  files: string[];
}

export async function initRepository(
  repoDir: string,
  stagingRoot: string,
  signers: InitSigners,
  options: { now: Date; expiryDays: ExpiryDays; name: string },
): Promise<InitResult> {
  if (await new LocalRepository(repoDir).exists()) {
    throw new AirlockError('E_ALREADY_INITIALISED', `${repoDir} already holds a repository; use \`airlock root propose\` to change its keys`);
  }
  const m = signers.rootThreshold;
  if (!Number.isInteger(m) || m < 1 || m > signers.root.length) {
    throw new AirlockError('E_USAGE', `the root threshold must be between 1 and the number of root keys (${signers.root.length})`);
  }
  const { now, expiryDays } = options;
  const staging = join(stagingRoot, `init-${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(staging, { recursive: true });
    const root = await signMetadata(
      buildRoot({
        version: 1,
        expires: expiresAt('root', now, expiryDays),
        roles: {
          root: { keys: signers.root.map((s) => s.tufKey), threshold: m },
          targets: { keys: [signers.targets.tufKey], threshold: 1 },
          snapshot: { keys: [signers.snapshot.tufKey], threshold: 1 },
          timestamp: { keys: [signers.timestamp.tufKey], threshold: 1 },
        },
      }),
      signers.root,
    );
    const rootBytes = envelopeBytes(root);
    await writeFileAtomic(join(staging, 'metadata', '1.root.json'), rootBytes);
    await writeFileAtomic(join(staging, 'keys', 'root.json'), rootBytes);

    const targets = await signMetadata({ _type: 'targets', spec_version: SPEC_VERSION, version: 1, expires: expiresAt('targets', now, expiryDays), targets: {} }, [signers.targets]);
    const targetsBytes = envelopeBytes(targets);
    await writeFileAtomic(join(staging, 'metadata', '1.targets.json'), targetsBytes);
    const snapshot = await signMetadata(nextSnapshot(undefined, { 'targets.json': metaFileFor(1, targetsBytes) }, expiresAt('snapshot', now, expiryDays)), [signers.snapshot]);
    const snapshotBytes = envelopeBytes(snapshot);
    await writeFileAtomic(join(staging, 'metadata', '1.snapshot.json'), snapshotBytes);
    const timestamp = await signMetadata(nextTimestamp(undefined, metaFileFor(1, snapshotBytes), expiresAt('timestamp', now, expiryDays)), [signers.timestamp]);
    await writeFileAtomic(join(staging, 'metadata', 'timestamp.json'), envelopeBytes(timestamp));

    if (signers.pgp) {
      const certificate = await openpgpCertificate(signers.pgp, options.name);
      await writeKeyHistory(join(repoDir, 'keys'), join(staging, 'keys'), { pgpCertificate: certificate });
      await updateKeysFile(join(repoDir, 'keys'), join(staging, 'keys'), signers.pgp, options.name, certificate);
    }
    if (signers.minisign) await writeKeyHistory(join(repoDir, 'keys'), join(staging, 'keys'), { minisign: signers.minisign });

    const files = await commitStaged(staging, repoDir);
    return { rootFingerprint: sha256Hex(rootBytes), files };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
