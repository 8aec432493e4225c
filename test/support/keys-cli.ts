// Runs the built `airlock` on a terminal, for the keystore's no-echo prompt tests. (Runs
// without a terminal are e2e-cli.ts `runAirlock`.)
import { spawn } from 'node:child_process';
import { airlockBin } from './e2e-cli.js';

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
