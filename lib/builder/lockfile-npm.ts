// npm lockfiles (package-lock.json / npm-shrinkwrap.json, lockfileVersion 2 and 3:
// https://docs.npmjs.com/cli/v10/configuring-npm/package-lock-json). A dependency is
// pinned when its entry has `resolved` at an allowed registry and an `integrity` with a
// SHA-2 digest (sha1 is not a pin). npm with `omit-lockfile-registry-resolved` writes
// registry packages without `resolved`: a plain version and its integrity pin the bytes
// whatever registry serves them, so that is a pin too. Links are pinned only when they point at a
// workspace inside the repository (its own `packages` entry, fixed by the commit).
import { isInsidePath } from './recipe.js';
import { lockfileError, unpinned, type LockfileCheckContext } from './lockfile-errors.js';

const INTEGRITY_RE = /^(?:sha512|sha384|sha256)-[A-Za-z0-9+/]+={0,2}$/;
const NM = 'node_modules/';
/** A registry version (npm writes name@version entries this way), not a URL, path or git spec. */
const REGISTRY_VERSION_RE = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function describeSource(resolved: string): string {
  if (/^git\+|^git:|^github:|^gitlab:|^bitbucket:|\.git(?:#|$)/.test(resolved)) return `a git dependency (${resolved})`;
  if (resolved.startsWith('file:')) return `a file dependency (${resolved})`;
  if (resolved.startsWith('http:')) return `fetched over plain http (${resolved})`;
  if (resolved.startsWith('https:')) return `a tarball outside the allowed registries (${resolved})`;
  return `resolved to "${resolved}"`;
}

/**
 * Checks an npm lockfile. `manifest` is the package.json beside it, when there is one:
 * every dependency it declares must be in the lockfile.
 */
export function checkNpmLock(text: string, ctx: LockfileCheckContext, manifest?: string): number {
  let lock: unknown;
  try {
    lock = JSON.parse(text);
  } catch (err) {
    throw lockfileError(ctx, 'is not valid JSON; regenerate it with `npm install --package-lock-only`', err);
  }
  if (!isObj(lock)) throw lockfileError(ctx, 'is not a JSON object');
  if (lock.lockfileVersion !== 2 && lock.lockfileVersion !== 3) {
    throw lockfileError(ctx, `has lockfileVersion ${JSON.stringify(lock.lockfileVersion)}; only versions 2 and 3 list every package with its integrity: regenerate it with npm 7 or later`);
  }
  const packages = lock.packages;
  if (!isObj(packages)) throw lockfileError(ctx, 'has no "packages" object');

  let checked = 0;
  for (const [key, entry] of Object.entries(packages)) {
    if (key === '' || !isObj(entry)) continue;
    // Keys without node_modules/ are workspace folders of this repository (pinned by the commit).
    if (!key.includes(NM)) continue;
    checked++;
    const name = typeof entry.name === 'string' ? entry.name : key.slice(key.lastIndexOf(NM) + NM.length);
    const allowed = ctx.allow.has(name) || ctx.allow.has(key);
    if (entry.link === true) {
      const target = entry.resolved;
      const inRepoWorkspace = typeof target === 'string' && isInsidePath(target) && !target.includes(NM) && isObj(packages[target]);
      if (!inRepoWorkspace && !allowed) throw unpinned(ctx, key, `is a link to ${JSON.stringify(target)}, not to a workspace in this repository`);
      continue;
    }
    // Bundled packages ship inside their parent's tarball, which the parent's integrity covers.
    if (entry.inBundle === true || allowed) continue;
    const resolved = entry.resolved;
    const integrity = entry.integrity;
    if (typeof resolved !== 'string') {
      if (typeof entry.version !== 'string' || !REGISTRY_VERSION_RE.test(entry.version)) {
        throw unpinned(ctx, key, 'has neither a "resolved" URL nor a registry version; run `npm install --package-lock-only` and commit the lockfile');
      }
    } else if (!ctx.registries.some((r) => resolved.startsWith(r))) {
      throw unpinned(ctx, key, `is ${describeSource(resolved)}`);
    }
    if (typeof integrity !== 'string') throw unpinned(ctx, key, 'has no "integrity" hash; run `npm install --package-lock-only` and commit the lockfile');
    if (!integrity.split(/\s+/).some((h) => INTEGRITY_RE.test(h))) {
      throw unpinned(ctx, key, `has integrity "${integrity.slice(0, 20)}…" without a SHA-256/384/512 digest`);
    }
  }

  if (manifest !== undefined) {
    let pkg: unknown;
    try {
      pkg = JSON.parse(manifest);
    } catch (err) {
      throw lockfileError(ctx, 'sits beside a package.json that is not valid JSON', err);
    }
    if (isObj(pkg)) {
      for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
        const deps = pkg[field];
        if (!isObj(deps)) continue;
        for (const dep of Object.keys(deps)) {
          if (!isObj(packages[`${NM}${dep}`]) && !ctx.allow.has(dep) && field !== 'optionalDependencies') {
            throw unpinned(ctx, dep, `is in package.json ${field} but not in the lockfile; run \`npm install\` and commit the lockfile`);
          }
        }
      }
    }
  }
  return checked;
}
