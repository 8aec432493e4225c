// Runs the built `airlock` for the keystore's CLI tests, with passphrase files handed in
// as extra file descriptors (never argv), no stdin, a private HOME/TMPDIR, and in a new
// session (setsid) so there is no controlling terminal to prompt on.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { airlockBin } from './e2e-cli.js';

export interface KeysCliResult {
  status: number | null;
  stdout: string;
  stderr: string;
  json: any;
}

export interface KeysCliOptions {
  env?: NodeJS.ProcessEnv;
  /** fd number → file to open read-only and pass as that descriptor. */
  fds?: Record<number, string>;
}

export function airlock(args: string[], opts: KeysCliOptions = {}): KeysCliResult {
  const fdEntries = Object.entries(opts.fds ?? {}).map(([n, file]) => [Number(n), openSync(file, 'r')] as const);
  const maxFd = Math.max(2, ...fdEntries.map(([n]) => n));
  const stdio: (number | 'ignore' | 'pipe')[] = ['ignore', 'pipe', 'pipe'];
  for (let i = 3; i <= maxFd; i++) stdio.push('ignore');
  for (const [n, fd] of fdEntries) stdio[n] = fd;
  try {
    const r = spawnSync('setsid', ['-w', process.execPath, airlockBin, ...args], {
      encoding: 'utf8',
      stdio,
      env: { PATH: process.env.PATH, ...opts.env },
      timeout: 120_000,
    });
    let json: unknown;
    try {
      json = JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
    } catch {
      json = undefined;
    }
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, json };
  } finally {
    for (const [, fd] of fdEntries) closeSync(fd);
  }
}

/**
 * Runs airlock on a pseudo-terminal (util-linux `script`), typing each answer only after
 * the prompt that asks for it has appeared. Returns everything the terminal showed.
 */
export function airlockOnTerminal(
  args: string[],
  answers: { after: string; type: string }[],
  env: NodeJS.ProcessEnv,
  opts: { stdinFromNull?: boolean } = {},
): Promise<{ status: number | null; screen: string }> {
  const command =
    [process.execPath, airlockBin, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ') + (opts.stdinFromNull ? ' </dev/null' : '');
  const child = spawn('script', ['-qefc', command, '/dev/null'], { env: { PATH: process.env.PATH, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  let next = 0;
  let seenUpTo = 0;
  const onOutput = (chunk: Buffer) => {
    screen += chunk.toString('utf8');
    while (next < answers.length) {
      const at = screen.indexOf(answers[next]!.after, seenUpTo);
      if (at < 0) break;
      seenUpTo = at + answers[next]!.after.length;
      child.stdin.write(answers[next]!.type);
      next += 1;
    }
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`airlock on a terminal timed out; screen so far:\n${screen}`));
    }, 120_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, screen });
    });
  });
}
