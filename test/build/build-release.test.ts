import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildRelease, checkPins, type BuildResult } from '../../lib/build/index.js';
import { isAirlockError } from '../../lib/core/errors.js';
import { commitFiles, makeRepo, recipeJson, writeFiles } from '../support/build-repo.js';

const work = mkdtempSync(join(tmpdir(), 'airlock-build-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const recipe = {
  project: 'hello',
  version: '1.0.0',
  steps: [
    { name: 'source tarball', archive: { output: 'hello-1.0.0.tar.gz', root: '.', prefix: 'hello-1.0.0/', exclude: ['.git', 'out'] } },
    { name: 'binary', run: ['sh', 'build.sh'] },
  ],
  artifacts: ['hello-1.0.0.tar.gz', 'hello.bin'],
};

const files = {
  'airlock.recipe.json': recipeJson(recipe),
  'build.sh': { content: 'echo building; printf "hello %s\\n" "$AIRLOCK_VERSION" > "$AIRLOCK_OUT/hello.bin"\n', mode: 0o755 },
  'src/hello.txt': 'hello\n',
};

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isAirlockError(err)) return err.code;
    throw err;
  }
  return 'ok';
}

describe('buildRelease', () => {
  it('builds a release branch at the confirmed commit', async () => {
    const repo = makeRepo(files, 'release/1.0.0', work);
    let out = '';
    const r: BuildResult = await buildRelease({ source: repo.dir, branch: repo.branch, commit: repo.commit, workRoot: work, onOutput: (c) => (out += c) });
    try {
      expect(r.project).toBe('hello');
      expect(r.artifacts.map((a) => a.name)).toEqual(['hello-1.0.0.tar.gz', 'hello.bin']);
      expect(readFileSync(r.artifacts[1]!.path, 'utf8')).toBe('hello 1.0.0\n');
      expect(out).toContain('building');
      expect(readFileSync(r.buildLog, 'utf8')).toContain('building');
      expect(r.statement.subject[0]!.digest.sha256).toBe(r.artifacts[0]!.digests.sha256);
    } finally {
      await r.cleanup();
    }
  });

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
});
