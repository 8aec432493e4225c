// A source URL picks how git reaches the repository. `ext::` runs a command, and any
// `<name>::` prefix or unknown `<scheme>://` makes git run a remote helper program
// (git-remote-<name>) found on PATH. A release (and a rebuild, whose source comes from a
// CI job's --source) must use only the plain transports.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freshCheckout } from '../../lib/builder/checkout.js';
import { buildRelease } from '../../lib/builder/index.js';
import { isAirlockError } from '../../lib/core/errors.js';

const work = mkdtempSync(join(tmpdir(), 'airlock-transport-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// A remote helper that leaves a mark when git runs it.
const bin = join(work, 'bin');
const mark = join(work, 'helper-ran');
mkdirSync(bin);
writeFileSync(join(bin, 'git-remote-evil'), `#!/bin/sh\ntouch ${mark}\nexit 1\n`);
chmodSync(join(bin, 'git-remote-evil'), 0o755);

async function withHelperOnPath(fn: () => Promise<unknown>): Promise<string | undefined> {
  rmSync(mark, { force: true });
  const saved = process.env.PATH;
  process.env.PATH = `${bin}:${saved}`;
  try {
    await fn();
  } catch (err) {
    return isAirlockError(err) ? err.code : String(err);
  } finally {
    process.env.PATH = saved;
  }
  return undefined;
}

const commit = 'a'.repeat(40);

describe('a git source', () => {
  it.each(['evil::whatever', 'ext::sh -c touch% /tmp/airlock-ext-ran', 'evil://host/repo'])('%s runs no remote helper and is refused', async (source) => {
    const code = await withHelperOnPath(() => buildRelease({ source, branch: 'release/1.0.0', commit, workRoot: work }));
    expect(code).toMatch(/^E_(USAGE|IO)$/);
    expect(existsSync(mark)).toBe(false);
  });

  it('runs no remote helper in a rebuild either (the fetch of a fresh checkout)', async () => {
    const code = await withHelperOnPath(() => freshCheckout('evil://host/repo', ['+refs/heads/*:refs/remotes/source/*'], commit, join(work, 'co')));
    expect(code).toBe('E_IO');
    expect(existsSync(mark)).toBe(false);
  });
});

// A local user can own a repository and point the release manager at it. Its .git/config
// is that user's: a filter driver there runs when `git status` looks at the work tree.
describe.skipIf(process.getuid?.() !== 0)('a source directory owned by another user', () => {
  it('is refused before git reads its configuration (no filter command runs as us)', async () => {
    const { execFileSync } = await import('node:child_process');
    const { makeRepo, gitIn, recipeJson } = await import('../support/build-repo.js');
    const repo = makeRepo({ 'airlock.recipe.json': recipeJson({ project: 'p', version: '1.0.0', steps: [{ name: 's', run: ['true'] }], artifacts: ['x'] }), '.gitattributes': '* filter=x\n', a: 'a\n' }, 'release/1.0.0', work);
    const ran = join(work, 'filter-ran');
    gitIn(repo.dir, ['config', 'filter.x.clean', `sh -c "touch ${ran}; cat"`]);
    // Stat-dirty, so `git status` re-reads the file through the filter.
    execFileSync('touch', ['-d', '2030-01-01', join(repo.dir, 'a')]);
    execFileSync('chown', ['-R', '65534:65534', repo.dir]);
    let code: string | undefined;
    try {
      await buildRelease({ source: repo.dir, branch: repo.branch, commit: repo.commit, workRoot: work });
    } catch (err) {
      code = isAirlockError(err) ? err.code : String(err);
    }
    expect(code).toBe('E_USAGE');
    expect(existsSync(ran)).toBe(false);
  });
});
