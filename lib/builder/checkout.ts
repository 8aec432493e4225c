// The pinned checkout: a release is built only from a release branch whose head is the
// commit the release manager confirmed, checked out fresh into an empty directory. What
// "clean" means here: the release manager's own working tree holds nothing uncommitted
// (or they would sign something other than what they looked at), and the fresh checkout
// is byte-for-byte the commit (no untracked, ignored or modified path after checkout,
// e.g. from .gitattributes conversions or submodules).
import { existsSync, statSync } from 'node:fs';
import { lutimes, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AirlockError } from '../core/errors.js';
import { walkTree } from '../core/file-tree.js';
import { COMMIT_RE, commitInfo, type CommitInfo, firstLine, git, gitOk, isValidBranchName, remoteBranchHead, uncommittedPaths } from './git.js';

export const DEFAULT_RELEASE_PATTERN = 'release/*';

/** Glob over branch names: `*` and `?` stay within one path component, `**` crosses them. */
export function branchMatches(pattern: string, branch: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`).test(branch);
}

export interface SourcePinRequest {
  source: string;
  branch: string;
  commit: string;
  releasePattern?: string;
}

function isLocalDir(source: string): boolean {
  try {
    return existsSync(source) && statSync(source).isDirectory();
  } catch {
    return false;
  }
}

/**
 * A local source directory as an absolute path (git runs in other directories, where a
 * relative path would point elsewhere); URLs unchanged.
 */
export function sourceLocation(source: string): string {
  return isLocalDir(source) ? resolve(source) : source;
}

/** Normalises the confirmed commit id; anything but a full hex id is a usage error. */
export function confirmedCommit(commit: string): string {
  const c = commit.trim().toLowerCase();
  if (!COMMIT_RE.test(c)) {
    throw new AirlockError('E_USAGE', `--commit must be the full commit id (40 hex digits), not "${commit}"; copy it from \`git rev-parse HEAD\` on the release branch`);
  }
  return c;
}

/**
 * Pin checks on the source, before anything is fetched: branch pattern, branch exists,
 * head is the confirmed commit, the local working tree is clean.
 */
export async function checkSourcePins(req: SourcePinRequest): Promise<{ commit: string }> {
  const pattern = req.releasePattern ?? DEFAULT_RELEASE_PATTERN;
  const commit = confirmedCommit(req.commit);
  if (!(await isValidBranchName(req.branch))) {
    throw new AirlockError('E_PIN_BRANCH', `"${req.branch}" is not a valid branch name`, { details: { branch: req.branch } });
  }
  if (!branchMatches(pattern, req.branch)) {
    throw new AirlockError('E_PIN_BRANCH', `branch "${req.branch}" is not a release branch (pattern "${pattern}"); build from a branch such as "${pattern.replace(/\*+/g, '1.0.0')}"`, {
      details: { branch: req.branch, releasePattern: pattern },
    });
  }
  if (!isLocalDir(req.source) && !/^[A-Za-z][A-Za-z0-9+.-]*:\/\/|^[^/:]+@?[^/:]*:/.test(req.source)) {
    throw new AirlockError('E_USAGE', `the source "${req.source}" is neither a directory nor a git URL`, { details: { source: req.source } });
  }
  // `<helper>::<address>` picks a git remote helper (ext:: runs a shell command); a
  // leading "-" would be an option to some tool down the line.
  if (!isLocalDir(req.source) && (/^[A-Za-z][A-Za-z0-9+.-]*::/.test(req.source) || req.source.startsWith('-') || /[\0\r\n]/.test(req.source))) {
    throw new AirlockError('E_USAGE', `the source "${req.source}" names a git transport airlock does not use; give a directory, or a file://, ssh://, git:// or https:// URL`, { details: { source: req.source } });
  }
  const head = await remoteBranchHead(req.source, req.branch);
  if (head === undefined) {
    throw new AirlockError('E_PIN_BRANCH', `the source has no branch "${req.branch}"; push the release branch (or check its name) and run again`, {
      details: { branch: req.branch, source: req.source },
    });
  }
  if (head !== commit) {
    throw new AirlockError('E_PIN_COMMIT', `branch "${req.branch}" is at ${head}, but you confirmed ${commit}; review the new commits, then confirm the head again`, {
      details: { branch: req.branch, head, confirmed: commit },
    });
  }
  if (isLocalDir(req.source)) {
    const changes = await uncommittedPaths(req.source);
    if (changes && changes.length > 0) {
      const shown = changes.slice(0, 10).join(', ') + (changes.length > 10 ? `, … (${changes.length} in all)` : '');
      throw new AirlockError('E_PIN_DIRTY', `the working tree at ${req.source} has uncommitted changes (${shown}); commit or remove them so the release is what you reviewed`, {
        details: { source: req.source, paths: changes },
      });
    }
  }
  return { commit };
}

/**
 * The head of a branch with author, date and signature status, for a release manager
 * to confirm before building (the interactive alternative to --commit).
 */
export async function describeBranchHead(given: string, branch: string, workRoot?: string): Promise<CommitInfo> {
  const source = sourceLocation(given);
  const head = await remoteBranchHead(source, branch);
  if (head === undefined) {
    throw new AirlockError('E_PIN_BRANCH', `the source has no branch "${branch}"; push the release branch (or check its name) and run again`, { details: { branch, source } });
  }
  if (isLocalDir(source) && (await git(['cat-file', '-e', `${head}^{commit}`], { cwd: source })).code === 0) return commitInfo(source, head);
  const dir = await mkdtemp(join(workRoot ?? tmpdir(), 'airlock-inspect-'));
  try {
    await gitOk(['init', '--quiet', dir], {}, (r) => new AirlockError('E_IO', `git init failed: ${firstLine(r.stderr)}`));
    await gitOk(['fetch', '--quiet', '--no-tags', '--', source, `+refs/heads/${branch}:refs/remotes/source/${branch}`], { cwd: dir }, (r) =>
      new AirlockError('E_IO', `fetching from ${source} failed: ${firstLine(r.stderr)}`),
    );
    return await commitInfo(dir, head);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface FreshCheckout {
  dir: string;
  commit: string;
  sourceDateEpoch: number;
}

/**
 * Fetches `ref` from the source into a new repository at `dir` and checks out `commit`
 * detached. `ref` is the release branch for a release; a rebuild fetches every branch
 * and tag instead, since the branch may have moved on since.
 */
export async function freshCheckout(given: string, fetchRefspecs: string[], commit: string, dir: string): Promise<FreshCheckout> {
  const source = sourceLocation(given);
  const io = (what: string) => (r: { stderr: string }) => new AirlockError('E_IO', `${what}: ${firstLine(r.stderr)}`, { details: { stderr: r.stderr.trim() } });
  await gitOk(['init', '--quiet', dir], {}, io('git init failed'));
  await gitOk(['fetch', '--quiet', '--no-tags', '--no-recurse-submodules', '--', source, ...fetchRefspecs], { cwd: dir }, io(`fetching from ${source} failed`));
  const has = await git(['cat-file', '-e', `${commit}^{commit}`], { cwd: dir });
  if (has.code !== 0) {
    throw new AirlockError('E_PIN_COMMIT', `commit ${commit} is not in the fetched history of ${source}`, { details: { commit, source } });
  }
  await gitOk(['checkout', '--quiet', '--detach', commit], { cwd: dir, umask022: true }, io(`checking out ${commit} failed`));

  const submodules = await git(['ls-files', '--stage', '-z'], { cwd: dir });
  if (submodules.stdout.split('\0').some((l) => l.startsWith('160000 '))) {
    throw new AirlockError('E_PIN_DIRTY', 'the commit has git submodules, which a release checkout does not fetch; vendor them or remove them', {});
  }
  await checkoutIsCommit(dir, commit);
  const { committerTime } = await commitInfo(dir, commit);
  await setTreeTimes(dir, committerTime);
  return { dir, commit, sourceDateEpoch: committerTime };
}

/**
 * Hashes every file of the checkout again, into a separate index, and compares the tree
 * with the commit's. `git status` alone trusts stat data and can miss a file that
 * .gitattributes (eol, filters) rewrote on checkout, when the index is not racy.
 */
async function checkoutIsCommit(dir: string, commit: string): Promise<void> {
  const io = (what: string) => (r: { stderr: string }) => new AirlockError('E_IO', `${what}: ${firstLine(r.stderr)}`);
  const index = { GIT_INDEX_FILE: join(dir, '.git', 'airlock-recheck-index') };
  try {
    await gitOk(['add', '--all', '--force', '--', '.'], { cwd: dir, env: index }, io('re-hashing the checkout failed'));
    const tree = (await gitOk(['write-tree'], { cwd: dir, env: index }, io('git write-tree failed'))).trim();
    const want = (await gitOk(['rev-parse', `${commit}^{tree}`], { cwd: dir }, io('git rev-parse failed'))).trim();
    if (tree === want) return;
    const diff = await git(['diff-tree', '-r', '--name-only', '-z', want, tree], { cwd: dir });
    const paths = diff.stdout.split('\0').filter(Boolean);
    throw new AirlockError('E_PIN_DIRTY', `a fresh checkout of ${commit} differs from the commit (${paths.slice(0, 10).join(', ')}); remove the .gitattributes conversions or filters that alter these files on checkout`, {
      details: { paths },
    });
  } finally {
    await rm(index.GIT_INDEX_FILE, { force: true });
  }
}

/**
 * Gives every checked-out path the commit time, so tools that copy mtimes without
 * honouring SOURCE_DATE_EPOCH still produce the same bytes.
 */
async function setTreeTimes(dir: string, epoch: number): Promise<void> {
  // Setting a time changes no directory's mtime, so the order of the walk does not matter.
  for await (const e of walkTree(dir, { prune: (x) => x.path === '.git' })) await lutimes(e.abs, epoch, epoch);
  await lutimes(dir, epoch, epoch);
}
