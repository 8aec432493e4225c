// diffoscope (https://diffoscope.org), when installed, explains a difference in depth
// (recursively unpacking archives, disassembling binaries …). It is optional: the
// per-entry report never depends on it. Exit status: 0 same, 1 differences, 2 error.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { fromSystemError } from '../core/errors.js';

export const DIFFOSCOPE_TIMEOUT_MS = 10 * 60_000;

export type DiffoscopeResult = { output: string; exitCode: number } | { output: null; error: string };

/** The diffoscope program on PATH, or undefined. */
export function findDiffoscope(pathVariable = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathVariable.split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, 'diffoscope');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next PATH entry
    }
  }
  return undefined;
}

/** Runs diffoscope on two files and writes its text report to `output`. */
export async function runDiffoscope(program: string, published: string, rebuilt: string, output: string, timeoutMs = DIFFOSCOPE_TIMEOUT_MS): Promise<DiffoscopeResult> {
  try {
    await mkdir(dirname(output), { recursive: true });
  } catch (err) {
    throw fromSystemError(err, `creating ${dirname(output)}`);
  }
  return new Promise((resolve) => {
    const child = spawn(program, ['--no-progress', '--text', output, published, rebuilt], { stdio: ['ignore', 'ignore', 'pipe'], timeout: timeoutMs });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 4096) stderr += d;
    });
    child.on('error', (err) => resolve({ output: null, error: `diffoscope could not start: ${(err as NodeJS.ErrnoException).code ?? 'error'}` }));
    child.on('close', (code, signal) => {
      if (code === 0 || code === 1) resolve({ output, exitCode: code });
      else resolve({ output: null, error: signal ? `diffoscope was stopped (${signal})` : `diffoscope failed (exit ${code}): ${stderr.trim().split('\n').at(-1) ?? ''}` });
    });
  });
}
