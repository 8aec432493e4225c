import { describe, expect, it } from 'vitest';
import { parseRecipe } from '../../lib/builder/recipe.js';
import { isAirlockError } from '../../lib/core/errors.js';

const good = {
  project: 'hello',
  version: '1.2.0',
  steps: [
    { name: 'source tarball', archive: { output: 'hello-1.2.0.tar.gz', root: '.', prefix: 'hello-1.2.0/', exclude: ['.git', 'out'] } },
    { name: 'deb', run: ['sh', 'packaging/build-deb.sh'] },
  ],
  artifacts: ['hello-1.2.0.tar.gz', 'hello_1.2.0_all.deb'],
  lockfiles: ['package-lock.json'],
  allow: { unpinned: [] },
};

function problems(recipe: unknown): string[] {
  try {
    parseRecipe(JSON.stringify(recipe));
  } catch (e) {
    if (isAirlockError(e, 'E_RECIPE')) return (e.details?.problems as string[] | undefined) ?? ['(syntax)'];
    throw e;
  }
  return [];
}

describe('recipe', () => {
  it('parses the documented shape', () => {
    const r = parseRecipe(JSON.stringify(good));
    expect(r.steps[0]).toEqual({ kind: 'archive', name: 'source tarball', output: 'hello-1.2.0.tar.gz', root: '.', prefix: 'hello-1.2.0/', exclude: ['.git', 'out'] });
    expect(r.steps[1]).toEqual({ kind: 'run', name: 'deb', argv: ['sh', 'packaging/build-deb.sh'], cwd: '.', timeoutSeconds: 0 });
    expect(r.lockfiles).toEqual([{ path: 'package-lock.json', type: 'npm' }]);
  });

  it('refuses each kind of mistake, all at once', () => {
    const p = problems({
      project: 'a/b',
      version: '',
      steps: [
        { name: 'x', run: [] },
        { name: 'x', archive: { output: '../evil.tar.gz', prefix: '/abs/' } },
        { name: 'both', run: ['true'], archive: { output: 'a' } },
        { name: 'esc', run: ['true'], cwd: '../..' },
      ],
      artifacts: ['out/a', 'a', 'a'],
      lockfiles: ['../Cargo.lock', 'weird.lock'],
      artefacts: [],
    });
    const text = p.join('\n');
    for (const where of ['project', 'version', 'steps[0].run', 'steps[1].archive.output', 'steps[1].archive.prefix', 'steps[2]', 'steps[3].cwd', 'artifacts[0]', 'artifacts:', 'lockfiles[0]', 'lockfiles[1]', 'unknown field "artefacts"']) {
      expect(text).toContain(where);
    }
  });

  it('refuses no steps, no artifacts, invalid JSON', () => {
    expect(problems({ project: 'a', version: '1', steps: [], artifacts: [] }).length).toBe(2);
    expect(() => parseRecipe('{')).toThrow(expect.objectContaining({ code: 'E_RECIPE' }));
    expect(() => parseRecipe('[]')).toThrow(expect.objectContaining({ code: 'E_RECIPE' }));
  });

  it('takes lockfile types and registries when given', () => {
    const r = parseRecipe(JSON.stringify({ ...good, lockfiles: [{ path: 'py/locked.txt', type: 'pip' }, 'rust/Cargo.lock'], registries: { npm: ['https://npm.example.org/'] } }));
    expect(r.lockfiles).toEqual([{ path: 'py/locked.txt', type: 'pip' }, { path: 'rust/Cargo.lock', type: 'cargo' }]);
    expect(r.registries.npm).toEqual(['https://npm.example.org/']);
    expect(problems({ ...good, registries: { npm: ['http://insecure.example.org/'] } })).toHaveLength(1);
  });
});
