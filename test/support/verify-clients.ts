// airlock-verify as the hostile-host tests run it: the built bundle, as a user runs it,
// and its trusted state on disk. (tuf-js, the other client, is in tufjs-client.ts.)
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { printedErrorCode, projectRoot, runProgram, verifierBin } from './e2e-cli.js';


function newestSource(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    newest = Math.max(newest, s.isDirectory() ? newestSource(p) : s.mtimeMs);
  }
  return newest;
}

let bundleChecked = false;

/** Builds dist/airlock-verify.mjs when it is missing or older than its sources (tests run the real bundle). */
export function ensureBundle(): string {
  if (bundleChecked) return verifierBin;
  const sources = Math.max(
    newestSource(join(projectRoot, 'lib', 'verify')),
    newestSource(join(projectRoot, 'lib', 'core')),
    newestSource(join(projectRoot, 'cli', 'commands', 'verify')),
    statSync(join(projectRoot, 'cli', 'airlock-verify.ts')).mtimeMs,
    statSync(join(projectRoot, 'cli', 'run.ts')).mtimeMs,
    statSync(join(projectRoot, 'scripts', 'bundle-verifier.mjs')).mtimeMs,
  );
  if (!existsSync(verifierBin) || statSync(verifierBin).mtimeMs < sources) {
    execFileSync(process.execPath, [join(projectRoot, 'scripts', 'bundle-verifier.mjs')], { stdio: 'pipe' });
  }
  bundleChecked = true;
  return verifierBin;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The E_CODE printed on refusal. */
  errorCode: string | undefined;
}

/** Runs the bundle asynchronously (the loopback server lives in this process). */
export async function runVerifyCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  const r = await runProgram([process.execPath, ensureBundle(), ...args], {
    cwd: options.cwd,
    env: { ...process.env, AIRLOCK_VERIFY_STATE: join(tmpdir(), 'airlock-verify-default-state-unused'), ...options.env },
    timeoutMs: options.timeoutMs ?? 20_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, errorCode: printedErrorCode(r.stderr) };
}

/** A directory's files and their bytes, to assert trusted state is unchanged. */
export function snapshotDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isFile()) out[name] = readFileSync(p).toString('base64');
  }
  return out;
}
