// Lockfile pin checks over a fresh checkout: every lockfile the recipe lists must exist
// in the commit (a regular file inside the checkout) and pin every dependency; a
// manifest at the repository root (package.json with dependencies, Cargo.toml,
// requirements.txt) without its lockfile listed is refused too, so a recipe cannot pass
// by simply not mentioning its dependencies.
import { lstat, readFile, realpath } from 'node:fs/promises';
import { dirname, join, relative, isAbsolute, posix } from 'node:path';
import { sha256Hex } from '../core/digest.js';
import { AirlockError } from '../core/errors.js';
import { checkCargoLock } from './lockfile-cargo.js';
import { lockfileError, type LockfileCheckContext } from './lockfile-errors.js';
import { checkNpmLock } from './lockfile-npm.js';
import { checkPipRequirements, normalisePipName } from './lockfile-pip.js';
import type { LockfileType, Recipe } from './recipe.js';

/** Lockfiles are text of at most a few MiB; a cap keeps a hostile one from filling memory. */
export const LOCKFILE_MAX_BYTES = 64 << 20;

export interface CheckedLockfile {
  path: string;
  type: LockfileType;
  sha256: string;
  /** Dependency entries checked. */
  entries: number;
}

async function readInside(checkoutDir: string, rel: string): Promise<Buffer | undefined> {
  const abs = join(checkoutDir, rel);
  let st;
  try {
    st = await lstat(abs);
  } catch {
    return undefined;
  }
  const [real, base] = await Promise.all([realpath(abs), realpath(checkoutDir)]);
  const r = relative(base, real);
  if (!st.isFile() || r.startsWith('..') || isAbsolute(r)) {
    throw lockfileError({ path: rel }, 'must be a regular file inside the repository, not a link or directory');
  }
  if (st.size > LOCKFILE_MAX_BYTES) throw lockfileError({ path: rel }, `is larger than ${LOCKFILE_MAX_BYTES} bytes`);
  return readFile(abs);
}

async function hasRootDependencies(checkoutDir: string): Promise<{ npm: boolean; cargo: boolean; pip: boolean }> {
  const pkg = await readInside(checkoutDir, 'package.json').catch(() => undefined);
  let npm = false;
  if (pkg) {
    try {
      const j = JSON.parse(pkg.toString('utf8')) as Record<string, unknown>;
      npm = ['dependencies', 'devDependencies', 'optionalDependencies'].some((f) => {
        const d = j[f];
        return typeof d === 'object' && d !== null && Object.keys(d).length > 0;
      });
    } catch {
      npm = true; // unreadable manifest: insist on a lockfile, whose check reports it
    }
  }
  const exists = async (p: string) => (await lstat(join(checkoutDir, p)).then(() => true, () => false));
  return { npm, cargo: await exists('Cargo.toml'), pip: await exists('requirements.txt') };
}

export async function checkLockfiles(checkoutDir: string, recipe: Recipe): Promise<CheckedLockfile[]> {
  const listed = new Set(recipe.lockfiles.map((l) => l.path));
  const roots = await hasRootDependencies(checkoutDir);
  const need = (cond: boolean, candidates: string[], manifest: string) => {
    if (cond && !candidates.some((c) => listed.has(c))) {
      throw new AirlockError('E_PIN_LOCKFILE', `the repository has ${manifest} but the recipe lists no ${candidates.join(' or ')} in "lockfiles"; commit the lockfile and list it`, {
        details: { manifest, lockfile: candidates[0] },
      });
    }
  };
  need(roots.npm, ['package-lock.json', 'npm-shrinkwrap.json'], 'package.json with dependencies');
  need(roots.cargo, ['Cargo.lock'], 'Cargo.toml');
  need(roots.pip, ['requirements.txt'], 'requirements.txt');

  const allow = new Set<string>();
  for (const a of recipe.allow.unpinned) {
    allow.add(a);
    allow.add(normalisePipName(a));
  }
  const out: CheckedLockfile[] = [];
  for (const l of recipe.lockfiles) {
    const bytes = await readInside(checkoutDir, l.path);
    if (bytes === undefined) {
      throw new AirlockError('E_PIN_LOCKFILE', `the lockfile ${l.path} the recipe lists is not in the commit; commit it, or remove it from "lockfiles"`, {
        details: { lockfile: l.path },
      });
    }
    const text = bytes.toString('utf8');
    let entries: number;
    if (l.type === 'npm') {
      const ctx: LockfileCheckContext = { path: l.path, allow, registries: recipe.registries.npm };
      const manifest = await readInside(checkoutDir, posix.join(dirname(l.path), 'package.json')).catch(() => undefined);
      entries = checkNpmLock(text, ctx, manifest?.toString('utf8'));
    } else if (l.type === 'cargo') {
      entries = checkCargoLock(text, { path: l.path, allow, registries: recipe.registries.cargo });
    } else {
      entries = checkPipRequirements(text, { path: l.path, allow, registries: [] }, listed);
    }
    out.push({ path: l.path, type: l.type, sha256: sha256Hex(bytes), entries });
  }
  return out;
}

export function lockfileDigests(lockfiles: readonly CheckedLockfile[]): Record<string, string> {
  return Object.fromEntries(lockfiles.map((l) => [l.path, l.sha256]));
}
