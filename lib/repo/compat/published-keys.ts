// The key lists under keys/ that grow with every key used: KEYS (OpenPGP, Apache style)
// and allowed_signers (SSH, with signing windows). Each is read from the repository copy,
// updated for the keys signing now, and written into the staging tree; the previous
// entries are carried forward from the file itself, so history survives a key that is
// no longer in the keystore.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../core/atomic-file.js';
import { fromSystemError } from '../../core/errors.js';
import type { Signer } from '../../keys/signer.js';
import { ALLOWED_SIGNERS_FILE, formatAllowedSigners, parseAllowedSigners, recordSshSigning } from './allowed-signers.js';
import { KEYS_FILE, formatKeysFile, parseKeysFile, withCurrentKey } from './keys-file.js';
import { openpgpFingerprint } from './openpgp-sign.js';

/**
 * A keys/ file as the change will leave it: the one already staged (an earlier release
 * of the same batch wrote it), else the copy's. Key files are staged only when they change.
 */
export async function readKeysFile(stagingKeys: string, repoKeys: string, name: string): Promise<string | undefined> {
  return (await readIfPresent(join(stagingKeys, name))) ?? (await readIfPresent(join(repoKeys, name)));
}

/**
 * Stages `text` as keys/<name> only when it differs from the file as the change would
 * leave it (readKeysFile): a release stages what it changes, and a key list or public key
 * rewritten byte for byte is no change (lib/repo/README.md).
 */
export async function stageKeysFile(stagingKeys: string, repoKeys: string, name: string, text: string): Promise<void> {
  if (text !== (await readKeysFile(stagingKeys, repoKeys, name))) await writeFileAtomic(join(stagingKeys, name), text);
}

export async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fromSystemError(err, `reading ${path}`);
  }
}

/** keys/KEYS with `pgp` first (its armored certificate as published) and every earlier key after it. */
export async function updateKeysFile(fromKeysDir: string, toKeysDir: string, pgp: Signer, userId: string, certificate: string): Promise<void> {
  const existing = await readKeysFile(toKeysDir, fromKeysDir, KEYS_FILE);
  const entries = withCurrentKey(existing === undefined ? [] : parseKeysFile(existing), { fingerprint: openpgpFingerprint(pgp), algorithm: pgp.keyType === 'ecdsa-p256' ? 'nistp256' : 'ed25519', created: pgp.createdAt, userId, certificate });
  await stageKeysFile(toKeysDir, fromKeysDir, KEYS_FILE, formatKeysFile(entries));
}

/** keys/allowed_signers after `ssh` signed a release of `project` at `at` (see allowed-signers.ts for the windows). */
export async function updateAllowedSigners(fromKeysDir: string, toKeysDir: string, ssh: Signer, project: string, at: Date): Promise<void> {
  const existing = await readKeysFile(toKeysDir, fromKeysDir, ALLOWED_SIGNERS_FILE);
  const signers = recordSshSigning(existing === undefined ? [] : parseAllowedSigners(existing), ssh.publicKey, project, at);
  const text = formatAllowedSigners(signers);
  if (text !== existing) await writeFileAtomic(join(toKeysDir, ALLOWED_SIGNERS_FILE), text);
}
