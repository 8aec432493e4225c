// Plan, then apply: the build plan is plain data computed from the recipe and the
// checkout (pure; printed by a dry run, asserted on in tests); runner.ts performs it.
import { join } from 'node:path';
import type { Recipe } from './recipe.js';
import { SAFE_PATH, type Isolation } from './sandbox.js';

export interface PlannedRun {
  kind: 'run';
  name: string;
  argv: string[];
  cwd: string;
  timeoutSeconds: number;
}

export interface PlannedArchive {
  kind: 'archive';
  name: string;
  root: string;
  prefix: string;
  exclude: string[];
  output: string;
}

export type PlannedStep = PlannedRun | PlannedArchive;

export interface BuildPlan {
  project: string;
  version: string;
  checkoutDir: string;
  outDir: string;
  sourceDateEpoch: number;
  /** Exactly the environment every run step gets. */
  env: Record<string, string>;
  umask: '022';
  isolation: Isolation;
  /** Paths covered inside confined steps (sandbox.ts): the terminal's secrets. */
  hide: string[];
  steps: PlannedStep[];
  artifacts: { name: string; path: string }[];
}

export interface PlanContext {
  checkoutDir: string;
  outDir: string;
  homeDir: string;
  sourceDateEpoch: number;
  isolation: Isolation;
  hide?: readonly string[];
}

/** Stand-ins for the per-build directories, for the provenance (which must not name this machine's paths). */
export const HOME_PLACEHOLDER = '<fresh empty directory>';
export const OUT_PLACEHOLDER = '<fresh empty output directory>';

export function stepEnv(recipe: Pick<Recipe, 'project' | 'version'>, sourceDateEpoch: number, homeDir: string, outDir: string): Record<string, string> {
  return {
    PATH: SAFE_PATH,
    HOME: homeDir,
    TZ: 'UTC',
    LC_ALL: 'C',
    SOURCE_DATE_EPOCH: String(sourceDateEpoch),
    AIRLOCK_OUT: outDir,
    AIRLOCK_PROJECT: recipe.project,
    AIRLOCK_VERSION: recipe.version,
  };
}

export function planBuild(recipe: Recipe, ctx: PlanContext): BuildPlan {
  return {
    project: recipe.project,
    version: recipe.version,
    checkoutDir: ctx.checkoutDir,
    outDir: ctx.outDir,
    sourceDateEpoch: ctx.sourceDateEpoch,
    env: stepEnv(recipe, ctx.sourceDateEpoch, ctx.homeDir, ctx.outDir),
    umask: '022',
    isolation: ctx.isolation,
    hide: [...(ctx.hide ?? [])],
    steps: recipe.steps.map((s): PlannedStep =>
      s.kind === 'run'
        ? { kind: 'run', name: s.name, argv: [...s.argv], cwd: join(ctx.checkoutDir, s.cwd), timeoutSeconds: s.timeoutSeconds }
        : { kind: 'archive', name: s.name, root: join(ctx.checkoutDir, s.root), prefix: s.prefix, exclude: [...s.exclude], output: join(ctx.outDir, s.output) },
    ),
    artifacts: recipe.artifacts.map((name) => ({ name, path: join(ctx.outDir, name) })),
  };
}
