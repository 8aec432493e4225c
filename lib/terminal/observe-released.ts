// Whether the copy already holds a release's project and version: the one read of the
// copy planRelease needs, apart from the plan (plans are pure; reads live in observe*).
import { join } from 'node:path';
import { binFor, layoutOf } from '../repo/hash-bins.js';
import { LocalRepository, type CurrentMetadata } from '../repo/local-repository.js';
import { pathExists } from './observe.js';
import { releasedVersions, releaseTargetPaths, type ReleaseRecipe } from './plan-release.js';

/**
 * Whether the copy already holds `recipe`'s project and version, reading what the change
 * touches and never the whole signed state: its `releases/` or `targets/` directory (a
 * release and an import write both, and every signed target of the version has its
 * consistent-snapshot copy under `targets/<project>/<version>/`), and each target path the
 * release adds where it would be signed — the hash bin its path falls in (the transaction
 * refuses the same, E_RELEASE_EXISTS, before signing). Below the bins threshold
 * targets.json lists every version and is checked whole. Reading every bin to list the
 * released versions was the largest cost of a one-target release that grew with the
 * repository (issue 19: ~25 MB of bins parsed at 100,000 targets).
 */
export async function observeReleased(repoDir: string, state: CurrentMetadata, recipe: ReleaseRecipe): Promise<boolean> {
  const dir = `${recipe.project}/${recipe.version}`;
  for (const top of ['releases', 'targets']) if (await pathExists(join(repoDir, top, ...dir.split('/')))) return true;
  const layout = layoutOf(state.targets.signed.delegations);
  if (!layout) return releasedVersions(state.targets.signed.targets).has(dir);
  const repo = new LocalRepository(repoDir);
  const paths = releaseTargetPaths(recipe);
  for (const bin of new Set(paths.map((p) => binFor(layout, p)))) {
    const env = await repo.readDelegated(state.snapshot.signed, bin);
    if (env && paths.some((p) => env.signed.targets[p] !== undefined)) return true;
  }
  return false;
}
