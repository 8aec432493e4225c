// The git operations the build needs, run through the git program with a scrubbed
// environment: no system or global config, no prompts, no hooks, no fsmonitor, so the
// caller's git settings (autocrlf, filters, a hostile repository's fsmonitor command)
// cannot change what is checked out or run code. git's own ownership check stays on
// (no safe.directory=*): a repository another user owns carries that user's
// .git/config, whose filter drivers `git status` would run as us. Working-tree writes run under umask 022
// so file modes in the checkout do not depend on the caller's umask.
import { spawn } from 'node:child_process';
import { AirlockError } from '../core/errors.js';

/** Enough for `git status` of a big dirty tree; more means something is very wrong. */
const MAX_OUTPUT_BYTES = 32 << 20;

const CONFIG = [
  'core.autocrlf=false',
  'core.eol=lf',
  'core.symlinks=true',
  'core.fileMode=true',
  'core.fsmonitor=false',
  'core.untrackedCache=false',
  'core.hooksPath=/dev/null',
  'core.quotePath=false',
  'transfer.fsckObjects=true',
  // Only the plain transports: no ext:: (runs a command), fd::, or remote helpers
  // (git-remote-<scheme> for any other scheme or <name>:: prefix), which a source URL
  // would otherwise select. The commit is pinned, so which of these serves it is moot.
  'protocol.allow=never',
  'protocol.file.allow=always',
  'protocol.git.allow=always',
  'protocol.ssh.allow=always',
  'protocol.http.allow=always',
  'protocol.https.allow=always',
  'init.defaultBranch=airlock',
  'advice.detachedHead=false',
  'gc.auto=0',
  'maintenance.auto=false',
].flatMap((c) => ['-c', c]);

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_OPTIONAL_LOCKS: '0',
    LC_ALL: 'C',
    TZ: 'UTC',
  };
  // ssh:// sources find the user's ssh keys and known_hosts under HOME.
  if (process.env.HOME) env.HOME = process.env.HOME;
  return { ...env, ...extra };
}

export interface GitOptions {
  cwd?: string;
  umask022?: boolean;
  env?: Record<string, string>;
}

/** Runs git; never throws for a non-zero exit (callers decide what it means). */
export function git(args: readonly string[], opts: GitOptions = {}): Promise<GitResult> {
  const argv = ['git', ...CONFIG, ...args];
  const [file, fileArgs] = opts.umask022
    ? ['/bin/sh', ['-c', 'umask 022 && exec "$@"', 'airlock-git', ...argv]]
    : [argv[0]!, argv.slice(1)];
  return new Promise((resolve, reject) => {
    const child = spawn(file, fileArgs, { cwd: opts.cwd, env: gitEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    const collect = (into: Buffer[]) => (b: Buffer) => {
      size += b.length;
      if (size > MAX_OUTPUT_BYTES) child.kill('SIGKILL');
      else into.push(b);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    child.on('error', (e) => {
      const code = (e as NodeJS.ErrnoException).code;
      reject(
        code === 'ENOENT'
          ? new AirlockError('E_TOOL_MISSING', 'git is not installed or not on PATH; install git (apt-get install git)', { cause: e })
          : new AirlockError('E_IO', 'could not run git', { cause: e }),
      );
    });
    child.on('close', (code, signal) => {
      if (size > MAX_OUTPUT_BYTES) {
        reject(new AirlockError('E_IO', `git ${args[0]} wrote more than ${MAX_OUTPUT_BYTES} bytes; the repository is not usable for a release`));
        return;
      }
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** Runs git and returns stdout; a non-zero exit becomes the given error. */
export async function gitOk(args: readonly string[], opts: GitOptions, fail: (r: GitResult) => AirlockError): Promise<string> {
  const r = await git(args, opts);
  if (r.code !== 0) throw fail(r);
  return r.stdout;
}

export const COMMIT_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** A branch name git itself accepts (`git check-ref-format --branch` rules). */
export async function isValidBranchName(branch: string): Promise<boolean> {
  if (branch.startsWith('-') || branch.length === 0) return false;
  const r = await git(['check-ref-format', `refs/heads/${branch}`]);
  return r.code === 0;
}

/** The commit a branch points at in the source, or undefined when there is no such branch. */
export async function remoteBranchHead(source: string, branch: string): Promise<string | undefined> {
  const ref = `refs/heads/${branch}`;
  const r = await git(['ls-remote', '--heads', '--', source, ref]);
  if (r.code !== 0) {
    if (/dubious ownership/.test(r.stderr)) {
      throw new AirlockError('E_USAGE', `the git repository at ${source} belongs to another user, and its configuration could run commands as you; clone it into a directory of your own and give that as --source`, {
        details: { source, stderr: r.stderr.trim() },
      });
    }
    throw new AirlockError('E_IO', `cannot read the git repository at ${source}; check the --source path or URL (git said: ${firstLine(r.stderr)})`, {
      details: { source, stderr: r.stderr.trim() },
    });
  }
  for (const line of r.stdout.split('\n')) {
    const [sha, name] = line.split('\t');
    if (name === ref && sha) return sha.toLowerCase();
  }
  return undefined;
}

/**
 * When the source is a local working tree, the paths a release manager sees there that
 * are not committed: changes to tracked files and untracked files that are not ignored.
 * Undefined for bare repositories and URLs.
 */
export async function uncommittedPaths(dir: string): Promise<string[] | undefined> {
  const r = await git(['rev-parse', '--is-inside-work-tree', '--show-toplevel'], { cwd: dir });
  const [inside, top] = r.stdout.trim().split('\n');
  if (r.code !== 0 || inside !== 'true' || !top) return undefined;
  const status = await gitOk(['status', '--porcelain=v1', '-z', '--untracked-files=normal'], { cwd: top }, (e) =>
    new AirlockError('E_IO', `git status failed in ${dir}: ${firstLine(e.stderr)}`),
  );
  return porcelainPaths(status);
}

/** Paths out of `git status --porcelain=v1 -z` (renames carry a second, source path: skipped). */
export function porcelainPaths(z: string): string[] {
  const parts = z.split('\0');
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (p.length < 4) continue;
    out.push(p.slice(3));
    if (p[0] === 'R' || p[0] === 'C') i++;
  }
  return out;
}

export interface CommitInfo {
  commit: string;
  author: string;
  authorDate: string;
  committerTime: number;
  subject: string;
  /** `%G?`: G good, B bad, U good but untrusted, N none, E cannot check … */
  signature: string;
}

const SIGNATURE_WORDS: Record<string, string> = {
  G: 'good signature from a trusted key',
  U: 'good signature, from a key of unknown trust',
  X: 'good signature, but the signature has expired',
  Y: 'good signature, but made by a key that has expired',
  R: 'good signature, but made by a key that was revoked',
  B: 'BAD signature: the commit does not match it',
  E: 'signed, but the signature cannot be checked here (the key is not in this keyring)',
  N: 'not signed',
};

/** `%G?` in words, for the release manager confirming a commit. */
export function signatureInWords(status: string): string {
  return SIGNATURE_WORDS[status] ?? `unknown signature status "${status}"`;
}

export async function commitInfo(repoDir: string, commit: string): Promise<CommitInfo> {
  const out = await gitOk(['show', '-s', '--format=%H%x00%an <%ae>%x00%aI%x00%ct%x00%G?%x00%s', commit, '--'], { cwd: repoDir }, (r) =>
    new AirlockError('E_PIN_COMMIT', `commit ${commit} is not in the repository: ${firstLine(r.stderr)}`),
  );
  const [h, author, authorDate, ct, sig, subject] = out.replace(/\n$/, '').split('\0');
  const committerTime = Number(ct);
  if (!h || !Number.isSafeInteger(committerTime)) throw new AirlockError('E_IO', `git show gave an unexpected answer for ${commit}`);
  return { commit: h, author: author ?? '', authorDate: authorDate ?? '', committerTime, subject: subject ?? '', signature: sig ?? 'N' };
}

export function firstLine(s: string): string {
  return s.trim().split('\n')[0] ?? '';
}
