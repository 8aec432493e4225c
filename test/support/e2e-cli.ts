// Driving the built CLIs as a user would: `node dist/cli/airlock.js …` and
// `node dist/airlock-verify.mjs …`, with no standard input and only the environment
// given (plus PATH), so nothing leaks in from the developer's shell.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MANIFEST_FILE } from '../../lib/core/copy-manifest.js';
import { BIN_SUMMARY_FILE } from '../../lib/repo/bin-summary.js';

export const projectRoot = resolve(import.meta.dirname, '../..');
export const airlockBin = join(projectRoot, 'dist', 'cli', 'airlock.js');
export const verifierBin = join(projectRoot, 'dist', 'airlock-verify.mjs');

export interface DemoContract {
  project: string;
  version: string;
  rootFingerprint: string;
  source: string;
  artifacts: { target: string; release: string }[];
}

/** `npm test` builds first; a single test file run on its own builds here. */
export async function ensureBuilt(): Promise<void> {
  if (!existsSync(airlockBin) || !existsSync(verifierBin)) {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: projectRoot, stdio: 'inherit' });
  }
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program with exactly `env`, without blocking this process's event loop: tests
 * often serve the host tree from a server inside the test process, which must keep answering.
 */
export function runProgram(argv: string[], options: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: options.cwd,
      env: options.env,
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Runs a built CLI asynchronously with only PATH, HOME and `env` in its environment. */
export function runCli(which: 'airlock' | 'verify', args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<CliResult> {
  const bin = which === 'airlock' ? airlockBin : verifierBin;
  return runProgram([process.execPath, bin, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, cwd, timeoutMs: 240_000 });
}

/** The E_CODE a CLI printed on refusal (`error E_…: …` on stderr). */
export function printedErrorCode(stderr: string): string | undefined {
  return /^error (E_[A-Z_]+):/m.exec(stderr)?.[1];
}

function lastJsonLine(stdout: string): any {
  const last = stdout.trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
  try {
    return last === undefined ? undefined : JSON.parse(last);
  } catch {
    return undefined;
  }
}

export interface AirlockRun extends CliResult {
  /** The parsed --json result (the last JSON line of stdout), when there is one. */
  json: any;
  /** The E_CODE of a refusal. */
  code: string | undefined;
}

export interface AirlockRunOptions {
  /** Added to PATH and HOME. */
  env?: NodeJS.ProcessEnv;
  /** fd number → file opened read-only as that descriptor of the child (passphrases and PINs never go in argv). */
  fds?: Record<number, string>;
}

/**
 * Runs the built `airlock` synchronously with no stdin, and in a new session (setsid) so
 * there is no controlling terminal to prompt on.
 */
export function runAirlock(args: string[], opts: AirlockRunOptions = {}): AirlockRun {
  const fdEntries = Object.entries(opts.fds ?? {}).map(([n, file]) => [Number(n), openSync(file, 'r')] as const);
  const maxFd = Math.max(2, ...fdEntries.map(([n]) => n));
  const stdio: (number | 'ignore' | 'pipe')[] = ['ignore', 'pipe', 'pipe'];
  for (let i = 3; i <= maxFd; i++) stdio.push('ignore');
  for (const [n, fd] of fdEntries) stdio[n] = fd;
  try {
    const r = spawnSync('setsid', ['-w', process.execPath, airlockBin, ...args], {
      encoding: 'utf8',
      stdio,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env },
      timeout: 120_000,
    });
    const json = lastJsonLine(r.stdout);
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, json, code: json?.error?.code ?? printedErrorCode(r.stderr) };
  } finally {
    for (const [, fd] of fdEntries) closeSync(fd);
  }
}

/** Relative path of every file below `dir`, sorted; the repository copy's manifest and bin summary are not host content and are left out. */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (rel === '' && (e.name === MANIFEST_FILE || e.name === BIN_SUMMARY_FILE)) continue;
      if (e.isDirectory()) await walk(join(d, e.name), `${rel}${e.name}/`);
      else out.push(`${rel}${e.name}`);
    }
  };
  await walk(dir, '');
  return out.sort();
}

/** Relative path → SHA-256 of every file below `dir`: to show a tree did not change. */
export async function treeDigest(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of await listTree(dir)) out[f] = createHash('sha256').update(await readFile(join(dir, f))).digest('hex');
  return out;
}

/**
 * Plays the demo into `out` as `npm run demo -- OUT` does, with only PATH, HOME and
 * `env` in its environment; returns what it printed and its demo.json.
 */
export async function runDemo(out: string, env: NodeJS.ProcessEnv = {}): Promise<{ demo: DemoContract; stdout: string; stderr: string }> {
  await ensureBuilt();
  const r = spawnSync(process.execPath, [join(projectRoot, 'scripts', 'demo.mjs'), out], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    timeout: 280_000,
  });
  if (r.status !== 0) throw new Error(`the demo failed (exit ${r.status}):\n${r.stderr}`);
  const demo = JSON.parse(await readFile(join(out, 'demo.json'), 'utf8')) as DemoContract;
  return { demo, stdout: r.stdout, stderr: r.stderr };
}
