import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildRelease, checkPins, describeBranchHead } from '../../lib/builder/index.js';
import { commitFiles, gitIn, helloFiles as files, helloRecipe as recipe, makeRepo, recipeJson, writeFiles } from '../support/build-repo.js';
import { codeOf as code } from '../support/error-codes.js';

const work = mkdtempSync(join(tmpdir(), 'airlock-pins-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('pin checks', () => {
  it('refuses pin failures with their codes', async () => {
    const repo = makeRepo(files, 'release/1.0.0', work);
    const base = { source: repo.dir, workRoot: work };
    expect(await code(checkPins({ ...base, branch: 'main', commit: repo.commit }))).toBe('E_PIN_BRANCH');
    expect(await code(checkPins({ ...base, branch: 'release/9.9.9', commit: repo.commit }))).toBe('E_PIN_BRANCH');
    expect(await code(checkPins({ ...base, branch: repo.branch, commit: 'a'.repeat(40) }))).toBe('E_PIN_COMMIT');
    writeFiles(repo.dir, { 'src/hello.txt': 'changed\n' });
    expect(await code(checkPins({ ...base, branch: repo.branch, commit: repo.commit }))).toBe('E_PIN_DIRTY');
    const next = commitFiles(repo.dir, repo.branch, {});
    expect(await code(checkPins({ ...base, branch: repo.branch, commit: repo.commit }))).toBe('E_PIN_COMMIT');
    expect(await code(checkPins({ ...base, branch: repo.branch, commit: next }))).toBe('ok');
  });

  it('refuses a fresh checkout that differs from the commit, and submodules', async () => {
    const crlf = makeRepo({ ...files, 'f.txt': 'a\r\nb\r\n' }, 'release/1.0.0', work);
    // Only .gitattributes is added, so the CRLF bytes stay in the commit as they were.
    writeFiles(crlf.dir, { '.gitattributes': '*.txt text eol=lf\n' });
    gitIn(crlf.dir, ['add', '.gitattributes']);
    gitIn(crlf.dir, ['commit', '-q', '-m', 'attributes']);
    const c2 = gitIn(crlf.dir, ['rev-parse', 'HEAD']);
    expect(await code(checkPins({ source: crlf.dir, branch: crlf.branch, commit: c2, workRoot: work }))).toBe('E_PIN_DIRTY');

    const sub = makeRepo(files, 'release/1.0.0', work);
    gitIn(sub.dir, ['update-index', '--add', '--cacheinfo', `160000,${sub.commit},vendored`]);
    gitIn(sub.dir, ['commit', '-q', '-m', 'submodule']);
    const c3 = gitIn(sub.dir, ['rev-parse', 'HEAD']);
    expect(await code(checkPins({ source: sub.dir, branch: sub.branch, commit: c3, workRoot: work }))).toBe('E_PIN_DIRTY');
  });

  it('refuses a missing or invalid recipe and a short commit id', async () => {
    const none = makeRepo({ 'README': 'no recipe' }, 'release/1.0.0', work);
    expect(await code(checkPins({ source: none.dir, branch: none.branch, commit: none.commit, workRoot: work }))).toBe('E_RECIPE');
    const bad = makeRepo({ 'airlock.recipe.json': '{"project": "x"}' }, 'release/1.0.0', work);
    expect(await code(checkPins({ source: bad.dir, branch: bad.branch, commit: bad.commit, workRoot: work }))).toBe('E_RECIPE');
    expect(await code(checkPins({ source: bad.dir, branch: bad.branch, commit: bad.commit.slice(0, 12), workRoot: work }))).toBe('E_USAGE');
  });

  it('checks lockfiles before any step runs', async () => {
    const withLock = (lock: unknown, extra: Record<string, string> = {}) =>
      makeRepo(
        {
          ...files,
          'airlock.recipe.json': recipeJson({ ...recipe, lockfiles: ['package-lock.json'] }),
          'package.json': JSON.stringify({ name: 'hello', dependencies: { left: '1.0.0' } }),
          ...(lock === undefined ? {} : { 'package-lock.json': JSON.stringify(lock) }),
          ...extra,
        },
        'release/1.0.0',
        work,
      );
    const pkg = (entry: Record<string, unknown>) => ({ lockfileVersion: 3, packages: { '': {}, 'node_modules/left': entry } });
    const run = async (repo: { dir: string; branch: string; commit: string }) => {
      let out = '';
      const c = await code(buildRelease({ source: repo.dir, branch: repo.branch, commit: repo.commit, workRoot: work, onOutput: (x) => (out += x) }).then((r) => r.cleanup()));
      return { c, ran: out.includes('==> step') };
    };
    expect(await run(withLock(undefined))).toEqual({ c: 'E_PIN_LOCKFILE', ran: false });
    expect(await run(withLock(pkg({ resolved: 'git+https://example.org/left.git#0123', integrity: 'sha512-AAAA' })))).toEqual({ c: 'E_PIN_UNPINNED_DEP', ran: false });
    const good = pkg({ resolved: 'https://registry.npmjs.org/left/-/left-1.0.0.tgz', integrity: `sha512-${Buffer.alloc(64).toString('base64')}` });
    expect(await run(withLock(good))).toEqual({ c: 'ok', ran: true });
    // A package.json with dependencies and no lockfile in the recipe at all.
    const unlisted = makeRepo({ ...files, 'package.json': JSON.stringify({ dependencies: { left: '1' } }) }, 'release/1.0.0', work);
    expect(await run(unlisted)).toEqual({ c: 'E_PIN_LOCKFILE', ran: false });
  });


  it('describes a branch head for the release manager to confirm', async () => {
    const repo = makeRepo(files, 'release/1.0.0', work);
    for (const source of [repo.dir, `file://${repo.dir}`]) {
      const info = await describeBranchHead(source, repo.branch, work);
      expect(info).toMatchObject({ commit: repo.commit, author: 'Release Tester <tester@example.org>', committerTime: 1_700_000_000, signature: 'N' });
    }
    expect(await code(describeBranchHead(repo.dir, 'release/nope', work))).toBe('E_PIN_BRANCH');
  });
});
