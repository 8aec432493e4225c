// How a `run` step is started: a scrubbed environment (exactly the variables the plan
// lists), umask 022, stdin closed, and no network: a new, empty network namespace from
// util-linux `unshare` (as root `unshare -n`; otherwise `unshare -rn`, which needs
// unprivileged user namespaces). Where neither works the build is refused unless the
// release manager allows the network, and that choice is recorded in the provenance.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AirlockError } from '../core/errors.js';

/** The only PATH a step sees: system directories, nothing from the caller. */
export const SAFE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export type Isolation =
  | { network: 'isolated'; prefix: string[] }
  | { network: 'allowed'; prefix: [] };

/** A working form, once found, stays working for the life of the process. */
let probed: Isolation | undefined;

function findUnshare(): string | undefined {
  for (const d of SAFE_PATH.split(':')) {
    const p = join(d, 'unshare');
    if (existsSync(p)) return p;
  }
  return undefined;
}

function succeeds(file: string, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: 'ignore', env: { PATH: SAFE_PATH } });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
}

/**
 * Finds a way to run steps without network, trying each `unshare` form on /bin/true.
 * With allowNetwork nothing is isolated (and the provenance says so).
 */
export async function networkIsolation(allowNetwork: boolean): Promise<Isolation> {
  if (allowNetwork) return { network: 'allowed', prefix: [] };
  if (probed) return probed;
  const unshare = findUnshare();
  if (unshare) {
    const forms = process.getuid?.() === 0 ? [['-n'], ['-r', '-n']] : [['-r', '-n'], ['-n']];
    for (const f of forms) {
      if (await succeeds(unshare, [...f, '--', '/bin/true'])) {
        probed = { network: 'isolated', prefix: [unshare, ...f, '--'] };
        return probed;
      }
    }
  }
  throw new AirlockError(
    'E_NETWORK_ISOLATION',
    unshare
      ? 'cannot start build steps without network here: `unshare -n` and `unshare -rn` both failed (no privilege and no unprivileged user namespaces); run as root, enable user namespaces (sysctl kernel.unprivileged_userns_clone=1), or pass --allow-network, which the provenance records'
      : 'cannot start build steps without network: util-linux `unshare` is not installed; install util-linux, or pass --allow-network, which the provenance records',
    { details: { unshare: unshare ?? null } },
  );
}

export interface StepProcess {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  timeoutSeconds: number;
  isolation: Isolation;
  onOutput: (chunk: Buffer) => void;
}

export interface StepExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
}

/**
 * Runs one step to completion. The argv is never given to a shell to parse: /bin/sh
 * only sets the umask and then `exec "$@"` the argv as given.
 */
export function runStepProcess(p: StepProcess): Promise<StepExit> {
  const argv = [...p.isolation.prefix, '/bin/sh', '-c', 'umask 022 && exec "$@"', 'airlock-step', ...p.argv];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: p.cwd, env: p.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let timedOut = false;
    const timer =
      p.timeoutSeconds > 0
        ? setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, p.timeoutSeconds * 1000)
        : undefined;
    child.stdout.on('data', p.onOutput);
    child.stderr.on('data', p.onOutput);
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(new AirlockError('E_IO', `could not start ${argv[0]}`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, timedOut });
    });
  });
}
