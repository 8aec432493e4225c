// The keystore's file-system posture: a directory only its owner can enter (0700),
// regular files only their owner can read (0600), no symlinks inside. Shared by
// Keystore.open (which refuses) and `airlock doctor` (which reports).
import type { Stats } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError, fromSystemError } from '../core/errors.js';

export interface PermissionProblem {
  path: string;
  problem: string;
  /** The shell command (or action) that fixes it. */
  fix: string;
}

function quote(path: string): string {
  return `'${path.replace(/'/g, `'\\''`)}'`;
}

function ownerProblem(path: string, st: Stats): PermissionProblem | null {
  const uid = process.getuid?.();
  if (uid === undefined || st.uid === uid) return null;
  return { path, problem: `owned by uid ${st.uid}, not by you (uid ${uid})`, fix: `chown ${uid} ${quote(path)}` };
}

/** Every problem with the directory and its entries; [] when the posture is right. Throws if `dir` is missing. */
export async function keystorePermissionProblems(dir: string): Promise<PermissionProblem[]> {
  const problems: PermissionProblem[] = [];
  let st: Stats;
  try {
    st = await stat(dir);
  } catch (err) {
    throw fromSystemError(err, `reading keystore ${dir}`);
  }
  if (!st.isDirectory()) return [{ path: dir, problem: 'not a directory', fix: `point --keystore at the keystore directory` }];
  if ((st.mode & 0o077) !== 0) problems.push({ path: dir, problem: `mode ${(st.mode & 0o777).toString(8)} lets others in`, fix: `chmod 700 ${quote(dir)}` });
  const owner = ownerProblem(dir, st);
  if (owner) problems.push(owner);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw fromSystemError(err, `reading keystore ${dir}`);
  }
  for (const name of names.sort()) {
    const path = join(dir, name);
    let est: Stats;
    try {
      est = await lstat(path);
    } catch {
      continue; // gone meanwhile (a temporary file renamed into place)
    }
    if (est.isSymbolicLink()) {
      problems.push({ path, problem: 'is a symlink; a keystore holds only regular files', fix: `rm ${quote(path)} (and put the real file there if it was a key)` });
    } else if (est.isDirectory()) {
      if ((est.mode & 0o077) !== 0) problems.push({ path, problem: `mode ${(est.mode & 0o777).toString(8)} lets others in`, fix: `chmod 700 ${quote(path)}` });
    } else if (!est.isFile()) {
      problems.push({ path, problem: 'is not a regular file', fix: `remove ${quote(path)}` });
    } else {
      if ((est.mode & 0o077) !== 0) problems.push({ path, problem: `mode ${(est.mode & 0o777).toString(8)} lets others read it`, fix: `chmod 600 ${quote(path)}` });
      const o = ownerProblem(path, est);
      if (o) problems.push(o);
    }
  }
  return problems;
}

export function permissionsError(dir: string, problems: PermissionProblem[]): AirlockError {
  const fixes = problems.map((p) => p.fix).join(' && ');
  return new AirlockError(
    'E_KEYSTORE_PERMISSIONS',
    `keystore ${dir} is not private (${problems.map((p) => `${p.path}: ${p.problem}`).join('; ')}); fix with: ${fixes}`,
    { details: { dir, problems } },
  );
}
