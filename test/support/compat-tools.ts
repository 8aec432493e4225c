// Runs the real downloader tools (gpg, gpgv, minisign, sha256sum, apt-get, dpkg-deb)
// for the compatibility-output tests, each with its own temporary state: no test
// touches ~/.gnupg or the system's apt configuration.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string | Uint8Array } = {}): RunResult {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: { ...process.env, LC_ALL: 'C', ...opts.env }, input: opts.input, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a shell snippet with bash -euo pipefail (the way a downloader would paste it). */
export function sh(script: string, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): RunResult {
  return run('bash', ['-euo', 'pipefail', '-c', script], opts);
}

export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `airlock-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Parses gpg's --status-fd lines into [keyword, ...args]. */
export function gpgStatus(output: string): string[][] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('[GNUPG:] '))
    .map((l) => l.slice('[GNUPG:] '.length).split(' '));
}

/** Flips one bit of one byte of a file in place. */
export function flipByte(bytes: Uint8Array, at: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[at] = copy[at]! ^ 0x01;
  return copy;
}
