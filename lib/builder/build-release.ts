// The build stage end to end: pin checks, a fresh checkout, the recipe run with no
// network, the artifacts and their provenance. `buildRelease` builds a release from the
// branch head the release manager confirmed; `rebuildFromProvenance` runs the same build
// again from what a provenance statement records, with no keys (for `airlock reproduce`).
import { randomUUID } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ContentDigests } from '../core/content-digests.js';
import { hashFile, sha256Hex } from '../core/digest.js';
import { AirlockError, fromSystemError } from '../core/errors.js';
import { checkSourcePins, DEFAULT_RELEASE_PATTERN, freshCheckout, sourceLocation } from './checkout.js';
import { git } from './git.js';
import { checkLockfiles, lockfileDigests, type CheckedLockfile } from './lockfiles.js';
import { planBuild } from './plan.js';
import { BUILDER_RELEASE, BUILDER_REPRODUCE, buildStatement, parseStatement, type InTotoStatement } from './provenance.js';
import { parseRecipe, RECIPE_FILE, RECIPE_MAX_BYTES, type Recipe } from './recipe.js';
import { dirIdentity } from './build-dirs.js';
import { BuildLog, collectArtifacts, runPlan } from './runner.js';
import { defaultHiddenPaths, hiddenPathsFor, networkIsolation } from './sandbox.js';

/** The airlock version recorded as the builder's version in provenance. */
export const BUILDER_VERSION = '0.1.0';
export const BUILD_LOG_NAME = 'build.log';

export interface BuildRequest {
  /** Git URL or local repository directory. */
  source: string;
  /** e.g. release/1.2.0 */
  branch: string;
  /** Full hex commit id the release manager confirmed. */
  commit: string;
  /** Default 'release/*'. */
  releasePattern?: string;
  allowNetwork?: boolean;
  /** Parent of the fresh temporary build directory (default os.tmpdir()). */
  workRoot?: string;
  /** Build output streams here as well as to the build log. */
  onOutput?: (chunk: string) => void;
  /**
   * Paths confined steps must not see, besides the defaults (sandbox.ts
   * defaultHiddenPaths: the terminal home, passphrase files, ~/.ssh …); e.g. --keystore.
   */
  hide?: readonly string[];
}

export interface BuiltArtifact {
  name: string;
  path: string;
  length: number;
  digests: { sha256: string; sha512: string };
  /** Every digest the release signs, from the one read that copied the artifact out (release.ts takes them). */
  content: ContentDigests;
}

export interface BuildResult {
  project: string;
  version: string;
  commit: string;
  branch: string;
  sourceDateEpoch: number;
  /** Hex SHA-256 of the recipe file's bytes. */
  recipeDigest: string;
  /** Lockfile path (relative to the checkout) → hex SHA-256. */
  lockfileDigests: Record<string, string>;
  artifacts: BuiltArtifact[];
  /** Path of the build log. */
  buildLog: string;
  statement: InTotoStatement;
  /** The temporary build directory; removed by cleanup(). */
  workDir: string;
  cleanup(): Promise<void>;
}

export interface PinReport {
  commit: string;
  branch: string;
  sourceDateEpoch: number;
  recipe: Recipe;
  recipeDigest: string;
  lockfiles: CheckedLockfile[];
  lockfileDigests: Record<string, string>;
}

interface Dirs {
  workDir: string;
  checkoutDir: string;
  outDir: string;
  homeDir: string;
}

async function makeWorkDir(workRoot: string | undefined): Promise<Dirs> {
  const parent = resolve(workRoot ?? tmpdir());
  try {
    await mkdir(parent, { recursive: true });
    const workDir = await mkdtemp(join(parent, 'airlock-build-'));
    const dirs = { workDir, checkoutDir: join(workDir, 'src'), outDir: join(workDir, 'out'), homeDir: join(workDir, 'home') };
    await mkdir(dirs.outDir, { mode: 0o755 });
    await mkdir(dirs.homeDir, { mode: 0o755 });
    return dirs;
  } catch (err) {
    throw fromSystemError(err, `creating a build directory under ${parent}`);
  }
}

/** Reads the recipe from the checkout: a regular file (never a link out of the tree), capped. */
async function readRecipe(checkoutDir: string, commit: string): Promise<{ recipe: Recipe; digest: string }> {
  const path = join(checkoutDir, RECIPE_FILE);
  let st;
  try {
    st = await lstat(path);
  } catch {
    throw new AirlockError('E_RECIPE', `commit ${commit} has no ${RECIPE_FILE} at the repository root; add one (docs/recipe.md)`, { details: { commit } });
  }
  if (!st.isFile()) throw new AirlockError('E_RECIPE', `${RECIPE_FILE} must be a regular file, not a link or directory`);
  if (st.size > RECIPE_MAX_BYTES) throw new AirlockError('E_RECIPE', `${RECIPE_FILE} is larger than ${RECIPE_MAX_BYTES} bytes`);
  const bytes = await readFile(path);
  return { recipe: parseRecipe(bytes), digest: sha256Hex(bytes) };
}

/**
 * Every pin check, in order, into `dirs.checkoutDir`: branch and commit at the source,
 * a clean source working tree, a clean fresh checkout, the recipe, and the lockfiles.
 */
async function pinnedCheckout(req: BuildRequest, dirs: Dirs): Promise<PinReport> {
  const { commit } = await checkSourcePins(req);
  const tracking = `refs/remotes/source/${req.branch}`;
  const co = await freshCheckout(req.source, [`+refs/heads/${req.branch}:${tracking}`], commit, dirs.checkoutDir);
  // The branch may have moved between the check and the fetch: what was fetched counts.
  const fetched = (await git(['rev-parse', '--verify', '--quiet', tracking], { cwd: dirs.checkoutDir })).stdout.trim();
  if (fetched !== commit) {
    throw new AirlockError('E_PIN_COMMIT', `branch "${req.branch}" moved to ${fetched} while it was fetched; you confirmed ${commit}; review and confirm again`, {
      details: { head: fetched, confirmed: commit },
    });
  }
  const { recipe, digest } = await readRecipe(dirs.checkoutDir, commit);
  const lockfiles = await checkLockfiles(dirs.checkoutDir, recipe);
  return {
    commit,
    branch: req.branch,
    sourceDateEpoch: co.sourceDateEpoch,
    recipe,
    recipeDigest: digest,
    lockfiles,
    lockfileDigests: lockfileDigests(lockfiles),
  };
}

/**
 * Runs every pin check without building (for a dry run): the checkout is made in a
 * temporary directory and removed again.
 */
export async function checkPins(req: Omit<BuildRequest, 'onOutput'>): Promise<PinReport> {
  const prepared = await prepareBuild(req);
  await prepared.cleanup();
  return prepared.pins;
}

interface Execution {
  dirs: Dirs;
  recipe: Recipe;
  recipeDigest: string;
  lockfiles: CheckedLockfile[];
  sourceDateEpoch: number;
  allowNetwork: boolean;
  builderId: string;
  repository: string;
  branch: string;
  commit: string;
  releasePattern: string;
  onOutput: ((chunk: string) => void) | undefined;
  hide: readonly string[] | undefined;
}

async function execute(x: Execution): Promise<BuildResult> {
  const isolation = await networkIsolation(x.allowNetwork);
  const hide = hiddenPathsFor(x.dirs.workDir, [...defaultHiddenPaths(), ...(x.hide ?? [])]);
  const plan = planBuild(x.recipe, { ...x.dirs, sourceDateEpoch: x.sourceDateEpoch, isolation, hide });
  const guard = await Promise.all([x.dirs.workDir, x.dirs.checkoutDir, x.dirs.outDir, x.dirs.homeDir].map(dirIdentity));
  const log = new BuildLog(join(x.dirs.workDir, BUILD_LOG_NAME));
  const startedOn = new Date();
  let artifacts;
  try {
    await runPlan(plan, { log, onOutput: x.onOutput, guard });
    artifacts = await collectArtifacts(plan, log, guard, join(x.dirs.workDir, 'artifacts'));
  } finally {
    await log.close();
  }
  const finishedOn = new Date();
  const logHash = await hashFile(log.path);
  const statement = buildStatement({
    builderId: x.builderId,
    builderVersion: BUILDER_VERSION,
    repository: x.repository,
    branch: x.branch,
    commit: x.commit,
    releasePattern: x.releasePattern,
    recipePath: RECIPE_FILE,
    recipeSha256: x.recipeDigest,
    allowNetwork: x.allowNetwork,
    network: isolation.network,
    project: x.recipe.project,
    version: x.recipe.version,
    sourceDateEpoch: x.sourceDateEpoch,
    lockfiles: x.lockfiles.map((l) => ({ path: l.path, type: l.type, sha256: l.sha256 })),
    artifacts,
    buildLog: { name: BUILD_LOG_NAME, sha256: logHash.digests.sha256 },
    invocationId: randomUUID(),
    startedOn,
    finishedOn,
  });
  const workDir = x.dirs.workDir;
  return {
    project: x.recipe.project,
    version: x.recipe.version,
    commit: x.commit,
    branch: x.branch,
    sourceDateEpoch: x.sourceDateEpoch,
    recipeDigest: x.recipeDigest,
    lockfileDigests: lockfileDigests(x.lockfiles),
    artifacts: artifacts.map((a) => ({ name: a.name, path: a.path, length: a.length, digests: { sha256: a.digests.sha256, sha512: a.digests.sha512 }, content: a.content })),
    buildLog: log.path,
    statement,
    workDir,
    cleanup: () => rm(workDir, { recursive: true, force: true }),
  };
}

/**
 * Keeps the build directory when a step failed, so the log it points at can be read;
 * removes it for every other failure.
 */
async function keepOnlyForFailedStep<T>(dirs: Dirs, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof AirlockError && (err.code === 'E_BUILD_FAILED' || err.code === 'E_ARCHIVE'))) {
      await rm(dirs.workDir, { recursive: true, force: true });
    }
    throw err;
  }
}

/**
 * The pinned checkout of a release, made once: its pin report is what the release plan
 * reads (the recipe at the confirmed commit), and `build` runs the recipe in that same
 * checkout — a release checks the source out once, not once to plan and again to build.
 * `cleanup` removes it when the plan refuses (or a dry run ends) before the build.
 */
export interface PreparedBuild {
  pins: PinReport;
  build(opts?: Pick<BuildRequest, 'onOutput' | 'hide'>): Promise<BuildResult>;
  cleanup(): Promise<void>;
}

export async function prepareBuild(req: Omit<BuildRequest, 'onOutput' | 'hide'>): Promise<PreparedBuild> {
  const dirs = await makeWorkDir(req.workRoot);
  const pins = await keepOnlyForFailedStep(dirs, () => pinnedCheckout(req, dirs));
  let used = false;
  return {
    pins,
    build(opts = {}) {
      if (used) throw new Error('PreparedBuild.build: a checkout is built once');
      used = true;
      return keepOnlyForFailedStep(dirs, () =>
        execute({
          dirs,
          recipe: pins.recipe,
          recipeDigest: pins.recipeDigest,
          lockfiles: pins.lockfiles,
          sourceDateEpoch: pins.sourceDateEpoch,
          allowNetwork: req.allowNetwork === true,
          builderId: BUILDER_RELEASE,
          repository: sourceLocation(req.source),
          branch: req.branch,
          commit: pins.commit,
          releasePattern: req.releasePattern ?? DEFAULT_RELEASE_PATTERN,
          onOutput: opts.onOutput,
          hide: opts.hide,
        }),
      );
    },
    cleanup: () => rm(dirs.workDir, { recursive: true, force: true }),
  };
}

/** Builds a release from the confirmed head of a release branch. */
export async function buildRelease(req: BuildRequest): Promise<BuildResult> {
  return (await prepareBuild(req)).build({ onOutput: req.onOutput, hide: req.hide });
}

export interface RebuildOptions {
  workRoot?: string;
  onOutput?: (chunk: string) => void;
  /** Overrides the recorded choice (e.g. a CI machine without user namespaces); recorded in the new statement. */
  allowNetwork?: boolean;
  /** As BuildRequest.hide. */
  hide?: readonly string[];
}

/**
 * Runs the build a provenance statement records, from `source` (which need not be the
 * recorded repository's location): the recorded commit, recipe and lockfiles are
 * checked against the statement before any step runs. Needs no keys.
 */
export async function rebuildFromProvenance(statement: InTotoStatement | unknown, source: string, opts: RebuildOptions = {}): Promise<BuildResult> {
  const { recorded } = parseStatement(statement);
  const dirs = await makeWorkDir(opts.workRoot);
  return keepOnlyForFailedStep(dirs, async () => {
    // The release branch may have moved on since the release: fetch every branch and tag.
    const co = await freshCheckout(source, ['+refs/heads/*:refs/remotes/source/*', '+refs/tags/*:refs/tags/*'], recorded.commit, dirs.checkoutDir);
    const mismatch = (what: string, details: Record<string, unknown>) =>
      new AirlockError('E_PROVENANCE', `${what} differs from what the provenance records; this is not the source of that release`, { details });
    if (co.sourceDateEpoch !== recorded.sourceDateEpoch) {
      throw mismatch('the commit time (SOURCE_DATE_EPOCH)', { recorded: recorded.sourceDateEpoch, found: co.sourceDateEpoch });
    }
    const { recipe, digest } = await readRecipe(dirs.checkoutDir, recorded.commit);
    if (digest !== recorded.recipeSha256) throw mismatch(`the recipe ${RECIPE_FILE}`, { recorded: recorded.recipeSha256, found: digest });
    if (recipe.project !== recorded.project || recipe.version !== recorded.version) {
      throw mismatch('the recipe project/version', { recorded: `${recorded.project}/${recorded.version}`, found: `${recipe.project}/${recipe.version}` });
    }
    const lockfiles: CheckedLockfile[] = [];
    for (const l of recipe.lockfiles) {
      const want = recorded.lockfiles[l.path];
      let found: string | undefined;
      try {
        found = (await hashFile(join(dirs.checkoutDir, l.path))).digests.sha256;
      } catch {
        found = undefined;
      }
      if (want === undefined || found !== want) throw mismatch(`the lockfile ${l.path}`, { recorded: want ?? null, found: found ?? null });
      lockfiles.push({ path: l.path, type: l.type, sha256: found, entries: 0 });
    }
    return execute({
      dirs,
      recipe,
      recipeDigest: digest,
      lockfiles,
      sourceDateEpoch: co.sourceDateEpoch,
      allowNetwork: opts.allowNetwork ?? recorded.allowNetwork,
      builderId: BUILDER_REPRODUCE,
      repository: sourceLocation(source),
      branch: recorded.branch,
      commit: recorded.commit,
      releasePattern: recorded.releasePattern,
      onOutput: opts.onOutput,
      hide: opts.hide,
    });
  });
}
