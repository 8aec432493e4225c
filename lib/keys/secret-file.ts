// Writing files that hold key material (encrypted or not) and the audit log: created
// exclusively with mode 0600, never through a symlink, flushed before they are linked
// into place (signify `generate`, minisign `fopen_create_useronly`).
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AirlockError, fromSystemError } from '../core/errors.js';

const CREATE_EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

async function writeTemporary(path: string, data: Uint8Array): Promise<string> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, CREATE_EXCLUSIVE, 0o600);
  try {
    // The umask cannot widen 0600, but a pre-set default ACL could; be explicit.
    await fh.chmod(0o600);
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  return tmp;
}

async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * A new secret file: refuses (E_KEY_EXISTS) if anything, a symlink included, already
 * has the name. link(2) is atomic and never replaces, so the name appears complete or not at all.
 */
export async function createSecretFile(path: string, data: Uint8Array): Promise<void> {
  let tmp: string | undefined;
  try {
    tmp = await writeTemporary(path, data);
    await link(tmp, path);
    await syncDirectory(dirname(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new AirlockError('E_KEY_EXISTS', `${path} already exists; airlock never overwrites a key file`, { cause: err, details: { path } });
    }
    throw fromSystemError(err, `writing ${path}`);
  } finally {
    if (tmp !== undefined) await rm(tmp, { force: true });
  }
}

/** Replaces a secret file atomically (rename(2) replaces the name, never follows a symlink). */
export async function replaceSecretFile(path: string, data: Uint8Array): Promise<void> {
  let tmp: string | undefined;
  try {
    tmp = await writeTemporary(path, data);
    await rename(tmp, path);
    tmp = undefined;
    await syncDirectory(dirname(path));
  } catch (err) {
    throw fromSystemError(err, `writing ${path}`);
  } finally {
    if (tmp !== undefined) await rm(tmp, { force: true });
  }
}
