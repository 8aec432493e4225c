// How a `run` step is started. Recipe steps are the project's code: whoever controls the
// release branch controls them, and they run as the terminal's own user. So a step gets:
//   - a scrubbed environment (exactly the variables the plan lists), umask 022, stdin
//     closed, and no file descriptor of ours but stdout and stderr (a --passphrase-fd
//     left open by the caller's shell is not inherited);
//   - no network: a new, empty network namespace from util-linux `unshare` (as root
//     `unshare -n`; otherwise `unshare -rn`, which needs unprivileged user namespaces).
//     Where neither works the build is refused unless the release manager allows the
//     network, and that choice is recorded in the provenance;
//   - where the OS allows it ("confined"), a private mount namespace in which the
//     terminal's secrets are covered (the terminal home and keystore, the passphrase and
//     PIN files, ~/.ssh, ~/.gnupg, agent sockets, the terminal's tty devices), locked
//     there by a second user namespace so the step cannot unmount them; and a private PID
//     namespace, so no process of the step outlives it (nothing can linger to tamper
//     with the output after it was checked, or wait for keys to be unlocked).
// What confinement does not cover is in docs/recipe.md ("What a step can reach").
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { AirlockError } from '../core/errors.js';

/** The only PATH a step sees: system directories, nothing from the caller. */
export const SAFE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface Isolation {
  network: 'isolated' | 'allowed';
  /** The `unshare …` command line put before every step ([] when none is used). */
  prefix: string[];
  /** Mount and PID namespaces: secrets covered, no process outlives its step. */
  confined: boolean;
}

/** A working form, once found, stays working for the life of the process. */
const probed = new Map<boolean, Isolation>();

function findTool(name: string): string | undefined {
  for (const d of SAFE_PATH.split(':')) {
    const p = join(d, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/**
 * Runs inside the namespaces, as (namespace) root: covers each path to hide, closes every
 * inherited descriptor above 2, sets the umask, then (confined) enters one more user and
 * mount namespace, in which the covering mounts are locked (mount_namespaces(7): mounts
 * that come from a more privileged namespace cannot be unmounted singly), and runs the
 * step's argv as given: nothing here parses it. bash, because `exec {fd}>&-` closes a
 * descriptor of any number (dash handles only 0–9); bash is Essential in Debian.
 * $1: number of paths to hide; then the paths; then "lock" or "-"; the working
 * directory; then the argv.
 */
const STEP_SCRIPT = [
  'n=$1; shift',
  'while [ "$n" -gt 0 ]; do',
  '  if [ -d "$1" ]; then mount -t tmpfs -o ro,nosuid,nodev,noexec,size=4k,mode=000 airlock-hidden "$1" || exit 125',
  '  elif [ -e "$1" ]; then mount --bind /dev/null "$1" || exit 125',
  '  fi',
  '  shift; n=$((n - 1))',
  'done',
  'lock=$1; wd=$2; shift 2',
  // The working directory is entered only now, by path, inside the new mount namespace: a
  // directory entered before the covering mounts would still reach what they cover.
  'cd -- "$wd" || exit 125',
  'for f in /proc/self/fd/*; do k=${f##*/}; if [ "$k" -gt 2 ] && [ -L "$f" ]; then exec {k}>&-; fi; done',
  'umask 022',
  'if [ "$lock" = lock ]; then exec unshare -U -r -m -- "$@"; fi',
  'exec "$@"',
].join('\n');

function stepCommand(isolation: Isolation, hide: readonly string[], cwd: string, argv: readonly string[]): string[] {
  const bash = findTool('bash');
  if (bash === undefined) {
    // Without bash nothing closes inherited descriptors; still never parse the argv.
    if (isolation.confined) throw new AirlockError('E_TOOL_MISSING', 'bash is needed to start confined build steps; install bash');
    return [...isolation.prefix, '/bin/sh', '-c', 'umask 022 && exec "$@"', 'airlock-step', ...argv];
  }
  const hidden = isolation.confined ? hide : [];
  return [...isolation.prefix, bash, '-c', STEP_SCRIPT, 'airlock-step', String(hidden.length), ...hidden, isolation.confined ? 'lock' : '-', cwd, ...argv];
}

function succeeds(file: string, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: 'ignore', env: { PATH: SAFE_PATH } });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
}

async function works(isolation: Isolation): Promise<boolean> {
  // Covers what every real step covers, so a kernel that refuses one of them is found here.
  const argv = stepCommand(isolation, isolation.confined ? ['/dev/pts', '/dev/tty'] : [], '/', ['/bin/true']);
  return succeeds(argv[0]!, argv.slice(1));
}

/**
 * Finds how to run steps: confined with no network if the OS allows it, else with no
 * network only. With allowNetwork the network stays (and the provenance says so), but
 * steps are still confined where possible.
 */
export async function networkIsolation(allowNetwork: boolean): Promise<Isolation> {
  const known = probed.get(allowNetwork);
  if (known) return known;
  const unshare = findTool('unshare');
  const userns = process.getuid?.() === 0 ? [[], ['-r']] : [['-r'], []];
  const net = allowNetwork ? [] : ['-n'];
  const network = allowNetwork ? 'allowed' : 'isolated';
  const candidates: Isolation[] = [];
  if (unshare) {
    for (const u of userns) candidates.push({ network, confined: true, prefix: [unshare, ...u, ...net, '-m', '-p', '-f', '--kill-child', '--mount-proc', '--'] });
    if (!allowNetwork) for (const u of userns) candidates.push({ network, confined: false, prefix: [unshare, ...u, '-n', '--'] });
  }
  for (const c of candidates) {
    if (await works(c)) {
      probed.set(allowNetwork, c);
      return c;
    }
  }
  if (allowNetwork) {
    const plain: Isolation = { network: 'allowed', confined: false, prefix: [] };
    probed.set(allowNetwork, plain);
    return plain;
  }
  throw new AirlockError(
    'E_NETWORK_ISOLATION',
    unshare
      ? 'cannot start build steps without network here: `unshare -n` and `unshare -rn` both failed (no privilege and no unprivileged user namespaces); run as root, enable user namespaces (sysctl kernel.unprivileged_userns_clone=1), or pass --allow-network, which the provenance records'
      : 'cannot start build steps without network: util-linux `unshare` is not installed; install util-linux, or pass --allow-network, which the provenance records',
    { details: { unshare: unshare ?? null } },
  );
}

function isWithin(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * What a confined step must not see, from the caller's environment: the terminal home
 * (AIRLOCK_HOME, and ~/.airlock), the passphrase and PIN files, the user's ssh and GnuPG
 * directories, agent sockets and per-user runtime directory, and the terminal devices
 * (a step could print a fake passphrase prompt and read the answer from the tty).
 */
export function defaultHiddenPaths(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env.HOME !== undefined && env.HOME !== '' ? env.HOME : homedir();
  const set = (v: string | undefined) => (v !== undefined && v !== '' ? [resolve(v)] : []);
  const uid = process.getuid?.();
  return [
    ...set(env.AIRLOCK_HOME),
    join(home, '.airlock'),
    ...set(env.AIRLOCK_PASSPHRASE_FILE),
    ...set(env.AIRLOCK_NEW_PASSPHRASE_FILE),
    ...set(env.AIRLOCK_PIN_FILE),
    join(home, '.ssh'),
    join(home, '.gnupg'),
    ...set(env.GNUPGHOME),
    ...set(env.SSH_AUTH_SOCK),
    ...(uid === undefined ? [] : [`/run/user/${uid}`]),
    '/dev/tty',
    '/dev/pts',
  ];
}

/**
 * The paths to cover for a build in `workDir`: absolute, without duplicates, never `/`.
 * Refuses (E_CONFIG) a build directory inside one of them: the step could not see its own
 * checkout, and the terminal home is no place for untrusted code to run.
 */
export function hiddenPathsFor(workDir: string, hide: readonly string[]): string[] {
  const out: string[] = [];
  for (const h of hide.map((p) => resolve(p))) {
    if (h === '/' || out.includes(h)) continue;
    if (isWithin(h, workDir)) {
      throw new AirlockError('E_CONFIG', `the build directory ${workDir} lies inside ${h}, which build steps must not see; build elsewhere (set TMPDIR to a directory outside it)`, {
        details: { workDir, hidden: h },
      });
    }
    // A path inside the build directory is the build's own business (and is not a secret of ours).
    if (isWithin(workDir, h)) continue;
    out.push(h);
  }
  return out;
}

export interface StepProcess {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  timeoutSeconds: number;
  isolation: Isolation;
  /** Paths covered inside a confined step (hiddenPathsFor). */
  hide?: readonly string[];
  onOutput: (chunk: Buffer) => void;
}

export interface StepExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
}

/**
 * Runs one step to completion. The argv is never given to a shell to parse: the wrapper
 * script only prepares the namespaces and then `exec "$@"` the argv as given.
 */
export function runStepProcess(p: StepProcess): Promise<StepExit> {
  const argv = stepCommand(p.isolation, p.hide ?? [], p.cwd, p.argv);
  return new Promise((resolve, reject) => {
    // Confined, the step's directory is entered inside the namespaces (see STEP_SCRIPT).
    const child = spawn(argv[0]!, argv.slice(1), { cwd: p.isolation.confined ? '/' : p.cwd, env: p.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let timedOut = false;
    const timer =
      p.timeoutSeconds > 0
        ? setTimeout(() => {
            timedOut = true;
            // Confined: unshare's --kill-child takes the whole PID namespace with it.
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
