// Driving the built CLIs as a user would: `node dist/cli/airlock.js …` and
// `node dist/airlock-verify.mjs …`, with no standard input and only the environment
// given (plus PATH), so nothing leaks in from the developer's shell.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

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
 * Runs a built CLI without blocking this process's event loop: tests often serve the
 * host tree from a server inside the test process, which must keep answering.
 */
export function runCli(which: 'airlock' | 'verify', args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [which === 'airlock' ? airlockBin : verifierBin, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      timeout: 240_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Relative path → SHA-256 of every file below `dir`: to show a tree did not change. */
export async function treeDigest(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name), `${rel}${e.name}/`);
      else out[`${rel}${e.name}`] = createHash('sha256').update(await readFile(join(d, e.name))).digest('hex');
    }
  };
  await walk(dir, '');
  return out;
}
