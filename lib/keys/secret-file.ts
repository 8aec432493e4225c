// Writing files that hold key material (encrypted or not) and the audit log: created
// exclusively with mode 0600, never through a symlink, flushed before they are linked
// into place (signify `generate`, minisign `fopen_create_useronly`). The atomic write
// itself is lib/core's (temporary file, fsync, rename or link, directory fsync).
import { writeFileAtomic } from '../core/atomic-file.js';
import { AirlockError, isAirlockError } from '../core/errors.js';

/**
 * A new secret file: refuses (E_KEY_EXISTS) if anything, a symlink included, already
 * has the name. link(2) is atomic and never replaces, so the name appears complete or not at all.
 */
export async function createSecretFile(path: string, data: Uint8Array): Promise<void> {
  try {
    await writeFileAtomic(path, data, { mode: 0o600, replace: false });
  } catch (err) {
    if (isAirlockError(err) && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'EEXIST') {
      throw new AirlockError('E_KEY_EXISTS', `${path} already exists; airlock never overwrites a key file`, { cause: err, details: { path } });
    }
    throw err;
  }
}

/** Replaces a secret file atomically (rename(2) replaces the name, never follows a symlink). */
export async function replaceSecretFile(path: string, data: Uint8Array): Promise<void> {
  await writeFileAtomic(path, data, { mode: 0o600 });
}
