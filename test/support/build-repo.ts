// Small git repositories for build tests: fixed author, committer and dates, so commit
// ids and SOURCE_DATE_EPOCH are the same on every run.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const COMMIT_EPOCH = 1_700_000_000;

export type RepoFile = string | { content: string; mode?: number } | { symlink: string };

export function gitIn(dir: string, args: string[], epoch = COMMIT_EPOCH): string {
  return execFileSync('git', args, {
    cwd: dir,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_AUTHOR_NAME: 'Release Tester',
      GIT_AUTHOR_EMAIL: 'tester@example.org',
      GIT_AUTHOR_DATE: `@${epoch} +0000`,
      GIT_COMMITTER_NAME: 'Release Tester',
      GIT_COMMITTER_EMAIL: 'tester@example.org',
      GIT_COMMITTER_DATE: `@${epoch} +0000`,
    },
  }).trim();
}

export function writeFiles(dir: string, files: Record<string, RepoFile>): void {
  for (const [rel, f] of Object.entries(files)) {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    rmSync(p, { force: true });
    if (typeof f === 'string') writeFileSync(p, f);
    else if ('symlink' in f) symlinkSync(f.symlink, p);
    else {
      writeFileSync(p, f.content);
      if (f.mode !== undefined) chmodSync(p, f.mode);
    }
  }
}

/** Commits the files on `branch` (created from the current HEAD when new); returns the commit id. */
export function commitFiles(dir: string, branch: string, files: Record<string, RepoFile>, epoch = COMMIT_EPOCH, message = 'change'): string {
  const current = gitIn(dir, ['symbolic-ref', '--short', 'HEAD']);
  if (current !== branch) {
    const exists = gitIn(dir, ['branch', '--list', branch]) !== '';
    gitIn(dir, exists ? ['checkout', '-q', branch] : ['checkout', '-q', '-b', branch]);
  }
  writeFiles(dir, files);
  gitIn(dir, ['add', '-A']);
  gitIn(dir, ['commit', '-q', '--allow-empty', '-m', message], epoch);
  return gitIn(dir, ['rev-parse', 'HEAD']);
}

export interface TestRepo {
  dir: string;
  commit: string;
  branch: string;
}

/** A new repository whose `branch` holds `files` in one commit. */
export function makeRepo(files: Record<string, RepoFile>, branch = 'release/1.0.0', parent = tmpdir()): TestRepo {
  const dir = mkdtempSync(join(parent, 'airlock-src-'));
  gitIn(dir, ['init', '-q', '-b', 'main']);
  gitIn(dir, ['commit', '-q', '--allow-empty', '-m', 'root'], COMMIT_EPOCH - 100);
  const commit = commitFiles(dir, branch, files);
  return { dir, commit, branch };
}

export function recipeJson(recipe: Record<string, unknown>): string {
  return `${JSON.stringify(recipe, null, 2)}\n`;
}

/** A small release recipe: a source tarball and one built file (tests vary it with spreads). */
export const helloRecipe = {
  project: 'hello',
  version: '1.0.0',
  steps: [
    { name: 'source tarball', archive: { output: 'hello-1.0.0.tar.gz', root: '.', prefix: 'hello-1.0.0/', exclude: ['.git', 'out'] } },
    { name: 'binary', run: ['sh', 'build.sh'] },
  ],
  artifacts: ['hello-1.0.0.tar.gz', 'hello.bin'],
};

/** The source tree `helloRecipe` builds. */
export const helloFiles: Record<string, RepoFile> = {
  'airlock.recipe.json': recipeJson(helloRecipe),
  'build.sh': { content: 'echo building; printf "hello %s\\n" "$AIRLOCK_VERSION" > "$AIRLOCK_OUT/hello.bin"\n', mode: 0o755 },
  'src/hello.txt': 'hello\n',
};
