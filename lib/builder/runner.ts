// Applies a build plan: runs the steps in order, streams their output to the caller and
// to the build log, and collects the artifacts. The first failing step stops the build.
import { createWriteStream, type WriteStream } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { commitTemporaryFile, temporaryNameFor } from '../core/atomic-file.js';
import type { ContentDigests } from '../core/content-digests.js';
import type { Digests } from '../core/digest.js';
import { AirlockError, fromSystemError } from '../core/errors.js';
import { writeDeterministicTarGz } from './archive.js';
import { assertDirsUnchanged, takeArtifact, type DirIdentity } from './build-dirs.js';
import type { BuildPlan, PlannedStep } from './plan.js';
import { runStepProcess } from './sandbox.js';

/**
 * The build log, kept with the release. Written under a temporary name and renamed when
 * closed, so a reader never sees half a log presented as the whole one.
 */
export class BuildLog {
  readonly path: string;
  private readonly tmp: string;
  private readonly out: WriteStream;
  private failure: unknown;

  constructor(path: string) {
    this.path = path;
    this.tmp = temporaryNameFor(path);
    this.out = createWriteStream(this.tmp, { flags: 'wx', mode: 0o644 });
    // Reported by close(), so a full disk fails the build instead of crashing the process.
    this.out.on('error', (err) => {
      this.failure ??= err;
    });
  }

  write(text: string | Buffer): void {
    this.out.write(text);
  }

  async close(): Promise<void> {
    if (!this.out.destroyed) await new Promise<void>((resolve) => this.out.end(resolve));
    if (this.failure !== undefined) throw fromSystemError(this.failure, `writing the build log ${this.path}`);
    await commitTemporaryFile(this.tmp, this.path);
  }
}

export interface RunOptions {
  log: BuildLog;
  onOutput?: (chunk: string) => void;
  /** The build's directories as airlock made them; checked before airlock touches the tree again. */
  guard?: readonly DirIdentity[];
}

function say(opts: RunOptions, line: string): void {
  opts.log.write(`${line}\n`);
  opts.onOutput?.(`${line}\n`);
}

async function runStep(plan: BuildPlan, step: PlannedStep, index: number, opts: RunOptions): Promise<void> {
  const header = `==> step ${index + 1}/${plan.steps.length}: ${step.name}`;
  if (step.kind === 'archive') {
    say(opts, `${header} (archive ${step.output})`);
    // An earlier step may have swapped the checkout or $AIRLOCK_OUT for a link elsewhere.
    await assertDirsUnchanged(opts.guard ?? []);
    try {
      await writeDeterministicTarGz({ root: step.root, boundary: plan.checkoutDir, prefix: step.prefix, exclude: step.exclude, mtime: plan.sourceDateEpoch }, step.output);
    } catch (err) {
      say(opts, `<== step "${step.name}" failed: ${(err as Error).message}`);
      if (err instanceof AirlockError && err.code === 'E_ARCHIVE') throw err;
      throw new AirlockError('E_BUILD_FAILED', `step "${step.name}" failed: the archive could not be written; see the build log ${opts.log.path}`, {
        cause: err,
        details: { step: step.name, log: opts.log.path },
      });
    }
    return;
  }
  say(opts, `${header} (${JSON.stringify(step.argv)})`);
  // The recipe names the directory inside the checkout, but a committed symlink on the
  // way could lead anywhere (into the terminal home, say): it must resolve inside.
  await assertDirsUnchanged(opts.guard ?? []);
  await assertInside(plan.checkoutDir, step.cwd, step.name);
  const decoder = new StringDecoder('utf8');
  const exit = await runStepProcess({
    argv: step.argv,
    cwd: step.cwd,
    env: plan.env,
    timeoutSeconds: step.timeoutSeconds,
    isolation: plan.isolation,
    hide: plan.hide,
    onOutput: (chunk) => {
      opts.log.write(chunk);
      if (opts.onOutput) {
        const text = decoder.write(chunk);
        if (text) opts.onOutput(text);
      }
    },
  });
  const rest = decoder.end();
  if (rest && opts.onOutput) opts.onOutput(rest);
  if (exit.code === 0) return;
  const why = exit.timedOut ? `timed out after ${step.timeoutSeconds} s` : exit.signal ? `was killed by ${exit.signal}` : `exited with status ${exit.code}`;
  say(opts, `<== step "${step.name}" ${why}`);
  throw new AirlockError('E_BUILD_FAILED', `step "${step.name}" ${why}; see the build log ${opts.log.path}`, {
    details: { step: step.name, exitCode: exit.code, signal: exit.signal, log: opts.log.path },
  });
}

async function assertInside(checkoutDir: string, dir: string, stepName: string): Promise<void> {
  let root: string;
  let real: string;
  try {
    root = await realpath(checkoutDir);
    real = await realpath(dir);
  } catch (err) {
    throw new AirlockError('E_RECIPE', `step "${stepName}": its cwd ${dir} does not exist in the checkout`, { cause: err, details: { step: stepName } });
  }
  const rel = relative(root, real);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new AirlockError('E_RECIPE', `step "${stepName}": its cwd leads outside the checkout (through a symlink, to ${real}); use a real directory of the repository`, {
      details: { step: stepName, cwd: real },
    });
  }
}

/** Runs every step of the plan in order. */
export async function runPlan(plan: BuildPlan, opts: RunOptions): Promise<void> {
  say(opts, `airlock build of ${plan.project} ${plan.version}, SOURCE_DATE_EPOCH=${plan.sourceDateEpoch}, network ${plan.isolation.network}`);
  if (!plan.isolation.confined) {
    say(opts, 'warning: no mount or PID namespaces here: steps can read every file this user can (the keystore included) and leave processes behind');
  }
  for (const [i, step] of plan.steps.entries()) await runStep(plan, step, i, opts);
}

export interface CollectedArtifact {
  name: string;
  path: string;
  length: number;
  digests: Digests;
  /** Every digest a release signs, from the one read that copied it (no signer reads it again). */
  content: ContentDigests;
}

/**
 * Every artifact the recipe names must be a regular file in the output directory (not a
 * link, FIFO or device). Each is copied into `intoDir`, a directory no step saw, and
 * hashed as it is copied: from then on the copy is what is signed and published.
 */
export async function collectArtifacts(plan: BuildPlan, log: BuildLog, guard: readonly DirIdentity[], intoDir: string): Promise<CollectedArtifact[]> {
  await assertDirsUnchanged(guard);
  const out: CollectedArtifact[] = [];
  for (const a of plan.artifacts) {
    const taken = await takeArtifact(plan.outDir, a.name, intoDir);
    if (taken === undefined || 'problem' in taken) {
      const what = taken === undefined ? 'was not produced' : taken.problem;
      log.write(`<== artifact ${a.name} ${what}\n`);
      throw new AirlockError('E_BUILD_FAILED', `the artifact ${a.name} ${what} in $AIRLOCK_OUT; check the recipe's steps and "artifacts", and the build log ${log.path}`, {
        details: { artifact: a.name, log: log.path },
      });
    }
    log.write(`artifact ${a.name} ${taken.length} bytes sha256:${taken.digests.sha256}\n`);
    out.push({ name: a.name, path: taken.path, length: taken.length, digests: taken.digests, content: taken.content });
  }
  return out;
}
