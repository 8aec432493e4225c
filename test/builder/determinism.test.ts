// The same commit built twice, each in its own process with a different parent
// directory, umask, TZ, locale and stray environment, gives byte-identical artifacts.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleBuildChild } from '../support/build-child-bundle.js';
import { makeRepo, recipeJson } from '../support/build-repo.js';

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'airlock-determinism-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const probe = `set -e
{
  echo "umask $(umask)"
  date -d "@$SOURCE_DATE_EPOCH"
  env | sort | grep -Ev '^(HOME|AIRLOCK_OUT|PWD|OLDPWD|_|SHLVL)='
  ls -lnR --time-style=+%s src
} > "$AIRLOCK_OUT/probe.txt"
tar --sort=name --numeric-owner -cf "$AIRLOCK_OUT/src.tar" src
gzip -n -9 -c "$AIRLOCK_OUT/src.tar" > "$AIRLOCK_OUT/src.tar.gz"
`;

interface ChildResult {
  ok: boolean;
  code?: string;
  message?: string;
  artifacts: { name: string; path: string; digests: { sha256: string } }[];
}

async function buildInChild(bundle: string, req: object, caller: { umask: string; env: Record<string, string> }): Promise<ChildResult> {
  const { stdout } = await run('/bin/sh', ['-c', `umask ${caller.umask} && exec "$@"`, 'sh', process.execPath, bundle, JSON.stringify(req)], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...caller.env },
    maxBuffer: 16 << 20,
  });
  return JSON.parse(stdout) as ChildResult;
}

describe('reproducible builds', () => {
  it('gives byte-identical artifacts across parent directory, umask, TZ and locale', async () => {
    const bundle = await bundleBuildChild(work);
    const repo = makeRepo(
      {
        'airlock.recipe.json': recipeJson({
          project: 'det',
          version: '3.1.4',
          steps: [
            { name: 'tarball', archive: { output: 'det-3.1.4.tar.gz', prefix: 'det-3.1.4/' } },
            { name: 'probe', run: ['sh', 'probe.sh'] },
          ],
          artifacts: ['det-3.1.4.tar.gz', 'probe.txt', 'src.tar', 'src.tar.gz'],
        }),
        'probe.sh': probe,
        'src/main.c': 'int main(void) { return 0; }\n',
        'src/tool.sh': { content: '#!/bin/sh\necho tool\n', mode: 0o755 },
        'src/link': { symlink: 'main.c' },
      },
      'release/3.1.4',
      work,
    );
    const req = { source: repo.dir, branch: repo.branch, commit: repo.commit };
    const rootA = join(work, 'a');
    const rootB = join(work, 'b', 'somewhere', 'much', 'deeper');
    mkdirSync(rootA, { recursive: true });
    mkdirSync(rootB, { recursive: true });
    const [a, b] = await Promise.all([
      buildInChild(bundle, { ...req, workRoot: rootA }, { umask: '077', env: { TZ: 'America/New_York', LC_ALL: 'C.UTF-8', HOME: rootA, SOURCE_DATE_EPOCH: '1', GZIP: '-1' } }),
      buildInChild(bundle, { ...req, workRoot: rootB }, { umask: '002', env: { TZ: 'Asia/Kathmandu', LANG: 'de_DE.UTF-8', HOME: rootB, TAR_OPTIONS: '--owner=7', LD_PRELOAD: '' } }),
    ]);
    expect(a.ok, a.message).toBe(true);
    expect(b.ok, b.message).toBe(true);
    expect(a.artifacts.map((x) => x.name)).toEqual(['det-3.1.4.tar.gz', 'probe.txt', 'src.tar', 'src.tar.gz']);
    for (const [x, y] of a.artifacts.map((x, i) => [x, b.artifacts[i]!] as const)) {
      expect(x.path.startsWith(rootA)).toBe(true);
      expect(y.path.startsWith(rootB)).toBe(true);
      expect(readFileSync(x.path).equals(readFileSync(y.path)), x.name).toBe(true);
      expect(x.digests.sha256).toBe(y.digests.sha256);
    }
    // What the step saw is what the plan says, not what either caller had.
    const seen = readFileSync(a.artifacts[1]!.path, 'utf8');
    expect(seen).toContain('umask 0022');
    expect(seen).toContain('UTC 2023');
    expect(seen).toContain('TZ=UTC\n');
    expect(seen).toContain('LC_ALL=C\n');
    expect(seen).toContain(`SOURCE_DATE_EPOCH=1700000000\n`);
    expect(seen).not.toContain('GZIP');
    expect(seen).not.toContain('TAR_OPTIONS');
    expect(seen).toMatch(/-rwxr-xr-x 1 \d+ \d+ +\d+ 1700000000 tool\.sh/);
    expect(seen).toMatch(/-rw-r--r-- 1 \d+ \d+ +\d+ 1700000000 main\.c/);
  });
});
