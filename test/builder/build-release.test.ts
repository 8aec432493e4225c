import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildRelease, rebuildFromProvenance, type BuildResult } from '../../lib/builder/index.js';
import { isAirlockError } from '../../lib/core/errors.js';
import { commitFiles, helloFiles as files, helloRecipe as recipe, makeRepo, recipeJson } from '../support/build-repo.js';
import { codeOf as code } from '../support/error-codes.js';

const work = mkdtempSync(join(tmpdir(), 'airlock-build-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('buildRelease', () => {
  it('builds a release branch at the confirmed commit', async () => {
    const repo = makeRepo(files, 'release/1.0.0', work);
    let out = '';
    // A relative source path means relative to the caller's directory, not the checkout's.
    const r: BuildResult = await buildRelease({ source: relative(process.cwd(), repo.dir), branch: repo.branch, commit: repo.commit, workRoot: work, onOutput: (c) => (out += c) });
    try {
      expect(r.project).toBe('hello');
      expect(r.artifacts.map((a) => a.name)).toEqual(['hello-1.0.0.tar.gz', 'hello.bin']);
      expect(readFileSync(r.artifacts[1]!.path, 'utf8')).toBe('hello 1.0.0\n');
      expect(out).toContain('building');
      expect(readFileSync(r.buildLog, 'utf8')).toContain('building');
      expect(r.statement.subject[0]!.digest.sha256).toBe(r.artifacts[0]!.digests.sha256);
      expect(r.statement.predicate.buildDefinition.externalParameters.repository).toBe(repo.dir);
    } finally {
      await r.cleanup();
    }
  });

  it('names the failing step, keeps its log, and refuses a missing artifact', async () => {
    const failing = makeRepo(
      { ...files, 'airlock.recipe.json': recipeJson({ ...recipe, steps: [{ name: 'explode', run: ['sh', '-c', 'echo about to fail; exit 7'] }] }) },
      'release/1.0.0',
      work,
    );
    let err: unknown;
    await buildRelease({ source: failing.dir, branch: failing.branch, commit: failing.commit, workRoot: work }).catch((e) => (err = e));
    expect(isAirlockError(err, 'E_BUILD_FAILED')).toBe(true);
    const d = (err as { details: { step: string; exitCode: number; log: string } }).details;
    expect([d.step, d.exitCode]).toEqual(['explode', 7]);
    expect(readFileSync(d.log, 'utf8')).toContain('about to fail');

    const missing = makeRepo({ ...files, 'airlock.recipe.json': recipeJson({ ...recipe, artifacts: ['hello-1.0.0.tar.gz', 'hello.bin', 'nope.deb'] }) }, 'release/1.0.0', work);
    expect(await code(buildRelease({ source: missing.dir, branch: missing.branch, commit: missing.commit, workRoot: work }))).toBe('E_BUILD_FAILED');
  });
});

describe('rebuildFromProvenance', () => {
  it('runs the recorded build again, after the branch moved on, to the same bytes', async () => {
    const repo = makeRepo(files, 'release/1.0.0', work);
    const first = await buildRelease({ source: repo.dir, branch: repo.branch, commit: repo.commit, workRoot: work });
    commitFiles(repo.dir, repo.branch, { 'src/hello.txt': 'a later fix\n' });
    const again = await rebuildFromProvenance(JSON.parse(JSON.stringify(first.statement)), repo.dir, { workRoot: join(work, 'elsewhere') });
    try {
      expect(again.commit).toBe(first.commit);
      expect(again.statement.predicate.runDetails.builder.id).toBe('urn:airlock:builder:reproduce:v1');
      expect(again.artifacts.map((a) => [a.name, a.digests.sha256])).toEqual(first.artifacts.map((a) => [a.name, a.digests.sha256]));
      for (const [i, a] of first.artifacts.entries()) expect(readFileSync(a.path).equals(readFileSync(again.artifacts[i]!.path))).toBe(true);
    } finally {
      await first.cleanup();
      await again.cleanup();
    }
    expect(existsSync(first.workDir)).toBe(false);
  });

  it('refuses a statement whose recipe, commit time or commit does not match the source, before any step', async () => {
    const repo = makeRepo(files, 'release/1.0.0', work);
    const r = await buildRelease({ source: repo.dir, branch: repo.branch, commit: repo.commit, workRoot: work });
    await r.cleanup();
    const alter = (f: (s: any) => void) => {
      const s = JSON.parse(JSON.stringify(r.statement));
      f(s);
      return s;
    };
    const noSteps = { onOutput: (c: string) => expect(c).not.toContain('==> step'), workRoot: work };
    expect(await code(rebuildFromProvenance(alter((s) => (s.predicate.buildDefinition.externalParameters.recipe.digest.sha256 = '0'.repeat(64))), repo.dir, noSteps))).toBe('E_PROVENANCE');
    expect(await code(rebuildFromProvenance(alter((s) => (s.predicate.buildDefinition.internalParameters.env.SOURCE_DATE_EPOCH = '1')), repo.dir, noSteps))).toBe('E_PROVENANCE');
    expect(await code(rebuildFromProvenance(alter((s) => (s.predicate.buildDefinition.buildType = 'https://example.org/other')), repo.dir, noSteps))).toBe('E_PROVENANCE');
    expect(await code(rebuildFromProvenance(alter((s) => (s.predicate.buildDefinition.externalParameters.commit = 'b'.repeat(40))), repo.dir, noSteps))).toBe('E_PIN_COMMIT');
  });
});
