// airlock-verify as the hostile-host tests run it: the built bundle, as a user runs it,
// and its trusted state on disk. (tuf-js, the other client, is in tufjs-client.ts.)
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
export const BUNDLE = join(REPO_ROOT, 'dist', 'airlock-verify.mjs');

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
  if (bundleChecked) return BUNDLE;
  const sources = Math.max(
    newestSource(join(REPO_ROOT, 'lib', 'verify')),
    newestSource(join(REPO_ROOT, 'lib', 'core')),
    newestSource(join(REPO_ROOT, 'cli', 'commands', 'verify')),
    statSync(join(REPO_ROOT, 'cli', 'airlock-verify.ts')).mtimeMs,
    statSync(join(REPO_ROOT, 'cli', 'run.ts')).mtimeMs,
  );
  if (!existsSync(BUNDLE) || statSync(BUNDLE).mtimeMs < sources) {
    execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'bundle-verifier.mjs')], { stdio: 'pipe' });
  }
  bundleChecked = true;
  return BUNDLE;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The E_CODE printed on refusal. */
  errorCode: string | undefined;
}

/** Runs the bundle asynchronously (the loopback server lives in this process). */
export function runVerifyCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ensureBundle(), ...args], {
      cwd: options.cwd,
      env: { ...process.env, AIRLOCK_VERIFY_STATE: join(tmpdir(), 'airlock-verify-default-state-unused'), ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, errorCode: /^error (E_[A-Z_]+):/m.exec(stderr)?.[1] });
    });
  });
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
