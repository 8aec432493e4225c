// The build's own directories (work, checkout, output, home) as they were when airlock
// made them. Recipe steps run as the terminal's user and can rename any of them and put
// a symlink in its place (`$AIRLOCK_OUT -> ~/.airlock/keystore`); airlock would then
// archive, read or write elsewhere by following the same path. So before airlock itself
// touches the tree again (an archive step, collecting the artifacts) every directory
// must still be the very directory it made: not a link, same device and inode, same
// real path. No step process runs at that moment (confined steps leave none behind).
import { lstat, mkdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { copyWithContentDigests, type ContentDigests } from '../core/content-digests.js';
import type { Digests } from '../core/digest.js';
import { AirlockError, fromSystemError } from '../core/errors.js';
import { openRegularFile } from '../core/regular-file.js';

export interface DirIdentity {
  path: string;
  real: string;
  dev: number;
  ino: number;
}

export async function dirIdentity(path: string): Promise<DirIdentity> {
  try {
    const st = await lstat(path);
    if (!st.isDirectory()) throw new AirlockError('E_IO', `${path} is not a directory`);
    return { path, real: await realpath(path), dev: st.dev, ino: st.ino };
  } catch (err) {
    throw fromSystemError(err, `reading the build directory ${path}`);
  }
}

function replaced(path: string, details: Record<string, unknown> = {}): AirlockError {
  return new AirlockError(
    'E_BUILD_FAILED',
    `a build step replaced the build directory ${path} (with a link, or another directory); airlock does not follow it — the recipe is hostile or broken`,
    { details: { path, ...details } },
  );
}

/** Refuses (E_BUILD_FAILED) unless every directory is still the one recorded. */
export async function assertDirsUnchanged(dirs: readonly DirIdentity[]): Promise<void> {
  for (const d of dirs) {
    let st;
    try {
      st = await lstat(d.path);
    } catch {
      throw replaced(d.path, { problem: 'gone' });
    }
    if (st.isSymbolicLink() || !st.isDirectory() || st.dev !== d.dev || st.ino !== d.ino) throw replaced(d.path);
    if ((await realpath(d.path).catch(() => '')) !== d.real) throw replaced(d.path, { problem: 'a parent directory was replaced' });
  }
}

/**
 * Copies `name` out of the output directory into `intoDir` (a directory no step ever
 * saw), never through a symlink and only if it is a regular file (not a FIFO, socket or
 * device), hashing the bytes as they are copied — for every format a release signs, so
 * this is the one read of the artifact (lib/core/content-digests.ts). What is signed
 * later is the copy. Returns undefined when there is no such file.
 */
export async function takeArtifact(
  outDir: string,
  name: string,
  intoDir: string,
): Promise<{ path: string; length: number; digests: Digests; content: ContentDigests } | { problem: string } | undefined> {
  let opened;
  try {
    opened = await openRegularFile(join(outDir, name));
  } catch (err) {
    throw fromSystemError(err, `reading the artifact ${name}`);
  }
  if ('refused' in opened) {
    if (opened.refused === 'absent') return undefined;
    return { problem: opened.refused === 'symlink' ? 'is a symlink' : 'is not a regular file' };
  }
  const { fh, st } = opened;
  try {
    await mkdir(intoDir, { recursive: true, mode: 0o700 });
    const path = join(intoDir, name);
    const content = await copyWithContentDigests(fh, st.size, path, { sync: true });
    return { path, length: content.length, digests: { sha256: content.sha256, sha512: content.sha512 }, content };
  } catch (err) {
    if (err instanceof AirlockError) throw err;
    throw fromSystemError(err, `copying the artifact ${name}`);
  } finally {
    await fh.close();
  }
}
