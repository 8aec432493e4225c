// A new repository: root v1 naming every role's keys, empty targets, and the snapshot
// and timestamp over them; plus the public keys users pin, under keys/ (docs/host-layout.md).
// A short script over the editing transaction.
import { join } from 'node:path';
import { AirlockError } from '../core/errors.js';
import type { Signer } from '../keys/signer.js';
import { openpgpCertificate, updateKeysFile } from './compat/index.js';
import { writeKeyHistory } from './compat/key-history.js';
import { expiresAt, type ExpiryDays } from './expiry.js';
import { signMetadata } from './sign-metadata.js';
import { buildRoot } from './top-level.js';
import { RepositoryTransaction } from './transaction.js';

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
  const m = signers.rootThreshold;
  if (!Number.isInteger(m) || m < 1 || m > signers.root.length) {
    throw new AirlockError('E_USAGE', `the root threshold must be between 1 and the number of root keys (${signers.root.length})`);
  }
  const { now, expiryDays } = options;
  const tx = await RepositoryTransaction.create(repoDir, stagingRoot, { now, expiryDays });
  try {
    const root = buildRoot({
      version: 1,
      expires: expiresAt('root', now, expiryDays),
      roles: {
        root: { keys: signers.root.map((s) => s.tufKey), threshold: m },
        targets: { keys: [signers.targets.tufKey], threshold: 1 },
        snapshot: { keys: [signers.snapshot.tufKey], threshold: 1 },
        timestamp: { keys: [signers.timestamp.tufKey], threshold: 1 },
      },
    });
    tx.setRoot(await signMetadata(root, signers.root));
    if (signers.pgp) {
      const certificate = await openpgpCertificate(signers.pgp, options.name);
      await writeKeyHistory(join(repoDir, 'keys'), join(tx.stagingDir, 'keys'), { pgpCertificate: certificate });
      await updateKeysFile(join(repoDir, 'keys'), join(tx.stagingDir, 'keys'), signers.pgp, options.name, certificate);
    }
    if (signers.minisign) await writeKeyHistory(join(repoDir, 'keys'), join(tx.stagingDir, 'keys'), { minisign: signers.minisign });
    const result = await tx.commit({ targets: [signers.targets], snapshot: [signers.snapshot], timestamp: [signers.timestamp] });
    return { rootFingerprint: result.root!.fingerprint, files: result.files };
  } finally {
    await tx.close();
  }
}
