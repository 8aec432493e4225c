// A recipe step runs as the terminal's user, so it can rename the build's directories
// and leave symlinks in their place. airlock resolves paths in its own view of the file
// system, where those links lead to the terminal's files: it must notice the swap
// instead of archiving, collecting (and then signing and publishing) or writing there.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { takeArtifact } from '../../lib/builder/build-dirs.js';
import { buildRelease, type BuildResult } from '../../lib/builder/index.js';
import { isAirlockError } from '../../lib/core/errors.js';
import { makeRepo, recipeJson } from '../support/build-repo.js';

const work = mkdtempSync(join(tmpdir(), 'airlock-hostile-out-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Stands for the terminal's keystore: a directory of this user's that a step names by path.
const secrets = join(work, 'terminal-files');
mkdirSync(secrets);
writeFileSync(join(secrets, 'targets.key'), 'SECRET-KEY-FILE');

let n = 0;
async function buildWith(steps: unknown[], artifacts: string[]): Promise<{ result?: BuildResult; err?: unknown }> {
  n += 1;
  const version = `1.0.${n}`;
  const repo = makeRepo({ 'airlock.recipe.json': recipeJson({ project: 'hostile', version, steps, artifacts }), 'file.txt': 'hello\n' }, `release/${version}`, work);
  try {
    return { result: await buildRelease({ source: repo.dir, branch: repo.branch, commit: repo.commit, workRoot: work }) };
  } catch (err) {
    return { err };
  }
}

function expectRefused(r: { result?: BuildResult; err?: unknown }): void {
  if (r.result) void r.result.cleanup();
  expect(isAirlockError(r.err, 'E_BUILD_FAILED'), String(r.err)).toBe(true);
}

describe('a step that swaps a build directory for a link', () => {
  it('cannot make airlock collect a file from elsewhere as an artifact ($AIRLOCK_OUT -> terminal files)', async () => {
    const r = await buildWith([{ name: 'swap out', run: ['sh', '-c', `mv "$AIRLOCK_OUT" "$AIRLOCK_OUT.orig" && ln -s ${secrets} "$AIRLOCK_OUT"`] }], ['targets.key']);
    expectRefused(r);
  });

  it('cannot make an archive step archive elsewhere (checkout -> terminal files)', async () => {
    const r = await buildWith(
      [
        { name: 'swap checkout', run: ['sh', '-c', `cd .. && mv src src.orig && ln -s ${secrets} src`] },
        { name: 'source tarball', archive: { output: 'src.tar.gz', root: '.', prefix: 'src/' } },
      ],
      ['src.tar.gz'],
    );
    expectRefused(r);
  });

  it('cannot make an archive step write elsewhere ($AIRLOCK_OUT -> another directory)', async () => {
    const elsewhere = join(work, 'elsewhere');
    mkdirSync(elsewhere);
    const r = await buildWith(
      [
        { name: 'swap out', run: ['sh', '-c', `mv "$AIRLOCK_OUT" "$AIRLOCK_OUT.orig" && ln -s ${elsewhere} "$AIRLOCK_OUT"`] },
        { name: 'source tarball', archive: { output: 'planted.tar.gz', root: '.', prefix: 'src/' } },
      ],
      ['planted.tar.gz'],
    );
    expectRefused(r);
    expect(existsSync(join(elsewhere, 'planted.tar.gz'))).toBe(false);
  });
});

describe('artifacts', () => {
  it('refuse a symlink and a FIFO, without waiting on the FIFO', async () => {
    const out = join(work, 'unit-out');
    mkdirSync(out);
    symlinkSync(join(secrets, 'targets.key'), join(out, 'link'));
    execFileSync('mkfifo', [join(out, 'fifo')]);
    expect(await takeArtifact(out, 'link', join(work, 'unit-taken'))).toEqual({ problem: 'is a symlink' });
    expect(await takeArtifact(out, 'fifo', join(work, 'unit-taken'))).toEqual({ problem: 'is not a regular file' });
    expect(await takeArtifact(out, 'absent', join(work, 'unit-taken'))).toBeUndefined();
  });

  it('are copies taken after the steps ended, into a directory no step saw: what is signed is what was hashed', async () => {
    const r = await buildWith([{ name: 'make', run: ['sh', '-c', 'echo built > "$AIRLOCK_OUT/a"'] }], ['a']);
    expect(r.err).toBeUndefined();
    try {
      const a = r.result!.artifacts[0]!;
      expect(a.path.startsWith(join(r.result!.workDir, 'out'))).toBe(false);
      expect(readFileSync(a.path, 'utf8')).toBe('built\n');
    } finally {
      await r.result!.cleanup();
    }
  });
});
