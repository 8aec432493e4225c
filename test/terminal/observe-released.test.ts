// Issue 19: the release plan knows whether a version is already released without reading
// every hash bin (at 100,000 targets that was ~25 MB of metadata parsed before the build).
// It reads the copy's releases/ and targets/ directories and, for each path the release
// adds, only the bin it falls in — counted here — and still refuses a version found by
// any of the three.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { allBinNames, binFor, layoutOf } from '../../lib/repo/hash-bins.js';
import { initRepository } from '../../lib/repo/init-repository.js';
import { LocalRepository } from '../../lib/repo/local-repository.js';
import { releaseToRepository, type ReleaseInput } from '../../lib/repo/release.js';
import { observeReleased } from '../../lib/terminal/observe-released.js';
import { releaseTargetPaths, type ReleaseRecipe } from '../../lib/terminal/plan-release.js';
import { memorySigner } from '../support/memory-signer.js';

const hashBins = { afterTargets: 4, layout: { bitLength: 4, namePrefix: 'bins' } };
const options = { now: new Date(), expiryDays: DEFAULT_EXPIRY_DAYS, name: 'Observe', hashBins };
const signers = { targets: memorySigner('targets'), snapshot: memorySigner('snapshot'), timestamp: memorySigner('timestamp') };
let work: string;
let repoDir: string;

async function release(project: string, version: string, names: string[]): Promise<void> {
  const artifacts = [];
  for (const name of names) {
    const path = join(work, `${project}-${version}-${name}`);
    await writeFile(path, `${project} ${version} ${name}\n`);
    artifacts.push({ name, path });
  }
  const input: ReleaseInput = { project, version, commit: 'a'.repeat(40), branch: `release/${version}`, sourceDateEpoch: 1, artifacts, provenance: new TextEncoder().encode('{}') };
  await releaseToRepository(repoDir, join(work, 'staging'), input, signers, options);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'airlock-observe-released-'));
  repoDir = join(work, 'repository');
  await initRepository(repoDir, join(work, 'staging'), { ...signers, root: [memorySigner('root')], rootThreshold: 1 }, options);
  // Past afterTargets: the repository delegates to 16 bins.
  for (let v = 0; v < 6; v++) await release('app', `1.${v}.0`, ['a.tar.gz', 'b.tar.gz', 'c.tar.gz']);
}, 120_000);
afterEach(() => {
  vi.restoreAllMocks();
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const recipe = (version: string, artifacts = ['a.tar.gz', 'b.tar.gz', 'c.tar.gz']): ReleaseRecipe => ({ project: 'app', version, artifacts });

describe('observeReleased on a repository with hash bins', () => {
  it('reads only the bins the new target paths fall in', async () => {
    const state = await new LocalRepository(repoDir).current();
    const layout = layoutOf(state.targets.signed.delegations)!;
    expect(allBinNames(layout)).toHaveLength(16);
    const read = vi.spyOn(LocalRepository.prototype, 'readDelegated');
    expect(await observeReleased(repoDir, state, recipe('2.0.0'))).toBe(false);
    const expected = new Set(releaseTargetPaths(recipe('2.0.0')).map((p) => binFor(layout, p)));
    expect(new Set(read.mock.calls.map((c) => c[1]))).toEqual(expected);
    expect(read).toHaveBeenCalledTimes(expected.size);
  });

  it('finds a released version by its releases/ directory, its targets/ directory, or a target signed in its bin', async () => {
    const state = await new LocalRepository(repoDir).current();
    const read = vi.spyOn(LocalRepository.prototype, 'readDelegated');
    // The directory answers first: no bin is read.
    expect(await observeReleased(repoDir, state, recipe('1.0.0', ['other.tar.gz']))).toBe(true);
    expect(read).not.toHaveBeenCalled();
    // Without releases/app/1.1.0 the targets/ directory still holds its consistent-snapshot copies.
    await rm(join(repoDir, 'releases', 'app', '1.1.0'), { recursive: true });
    expect(await observeReleased(repoDir, state, recipe('1.1.0', ['other.tar.gz']))).toBe(true);
    // Without either, a path the release would add is found signed in its bin.
    await rm(join(repoDir, 'releases', 'app', '1.2.0'), { recursive: true });
    await rm(join(repoDir, 'targets', 'app', '1.2.0'), { recursive: true });
    expect(await observeReleased(repoDir, state, recipe('1.2.0', ['b.tar.gz']))).toBe(true);
    expect(read).toHaveBeenCalled();
  });
});
