// A recipe step is the project's code running as the terminal's user. These tests play
// a hostile step: it tries to read the keystore and the passphrase file, to unmount what
// covers them, to read a passphrase descriptor the caller left open, and to leave a
// process behind. Each attempt must fail.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildRelease } from '../../lib/builder/index.js';
import { hiddenPathsFor, networkIsolation, runStepProcess } from '../../lib/builder/sandbox.js';
import { isAirlockError } from '../../lib/core/errors.js';
import { bundleBuildChild } from '../support/build-child-bundle.js';
import { makeRepo, recipeJson } from '../support/build-repo.js';

const work = mkdtempSync(join(tmpdir(), 'airlock-confine-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const confined = (await networkIsolation(false).catch(() => undefined))?.confined === true;
mkdirSync(join(work, 'terminal-home-2'), { recursive: true });
symlinkSync(join(work, 'terminal-home-2', 'keystore'), join(work, 'link-into-home'));

function stepRepo(script: string, artifacts: string[], version = '1.0.0') {
  return makeRepo(
    { 'airlock.recipe.json': recipeJson({ project: 'hostile', version, steps: [{ name: 'hostile', run: ['sh', '-c', script] }], artifacts }) },
    `release/${version}`,
    work,
  );
}

/** Runs `fn` with these variables set in this process's environment, as a terminal would have them. */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe.skipIf(!confined)('a confined build step', () => {
  it('cannot read the terminal home or the passphrase file, even after trying to unmount their cover', async () => {
    const home = join(work, 'terminal-home');
    mkdirSync(join(home, 'keystore'), { recursive: true });
    writeFileSync(join(home, 'keystore', 'secret.key'), 'SEALED-KEY-BYTES');
    const passFile = join(work, 'terminal.pass');
    writeFileSync(passFile, 'PASSPHRASE-IN-FILE\n', { mode: 0o600 });
    const script = [
      `cat ${home}/keystore/secret.key`,
      `cat ${passFile}`,
      `umount ${home} && echo UNMOUNTED`,
      `umount -l ${home}`,
      `cat ${home}/keystore/secret.key`,
      `ls -A ${home}`,
      'ls /dev/pts',
    ]
      .map((c) => `{ ${c}; } >> "$AIRLOCK_OUT/report.txt" 2>&1`)
      .join('; ');
    const repo = stepRepo(`${script}; true`, ['report.txt']);
    const r = await withEnv({ AIRLOCK_HOME: home, AIRLOCK_PASSPHRASE_FILE: passFile }, () =>
      buildRelease({ source: repo.dir, branch: repo.branch, commit: repo.commit, workRoot: work }),
    );
    try {
      const report = readFileSync(join(r.workDir, 'out', 'report.txt'), 'utf8');
      expect(report).not.toContain('SEALED-KEY-BYTES');
      expect(report).not.toContain('PASSPHRASE-IN-FILE');
      expect(report).not.toContain('UNMOUNTED');
    } finally {
      await r.cleanup();
    }
  });

  it('cannot start inside a covered directory through a committed symlink as its cwd', async () => {
    const home = join(work, 'terminal-home-2');
    mkdirSync(join(home, 'keystore'), { recursive: true });
    writeFileSync(join(home, 'keystore', 'secret.key'), 'SEALED-KEY-BYTES');
    const repo = makeRepo(
      {
        'airlock.recipe.json': recipeJson({ project: 'hostile', version: '2.0.0', steps: [{ name: 'from inside', cwd: 'k', run: ['sh', '-c', 'cat secret.key > "$AIRLOCK_OUT/r"; true'] }], artifacts: ['r'] }),
        k: { symlink: join(home, 'keystore') },
      },
      'release/2.0.0',
      work,
    );
    let code: string | undefined;
    await withEnv({ AIRLOCK_HOME: home }, () => buildRelease({ source: repo.dir, branch: repo.branch, commit: repo.commit, workRoot: work })).then(
      (r) => r.cleanup(),
      (err: unknown) => {
        code = isAirlockError(err) ? err.code : String(err);
      },
    );
    expect(code).toBe('E_RECIPE');
    // And the process itself enters its directory only inside the namespaces: a path that
    // leads into a covered directory finds the cover, not what it hides.
    let output = '';
    const exit = await runStepProcess({
      argv: ['sh', '-c', 'cat secret.key; ls -A'],
      cwd: join(work, 'link-into-home'),
      env: { PATH: '/usr/bin:/bin' },
      timeoutSeconds: 30,
      isolation: await networkIsolation(false),
      hide: [home],
      onOutput: (b) => (output += b.toString()),
    }).catch(() => undefined);
    expect(output).not.toContain('SEALED-KEY-BYTES');
    void exit;
  });

  it('leaves no process behind when it exits', async () => {
    // A sleep whose argument no other process has, so this test can look for it.
    const token = `30.${process.pid}${Date.now() % 100000}`;
    const repo = stepRepo(`(sleep ${token} >/dev/null 2>&1 &) ; echo started > "$AIRLOCK_OUT/x"`, ['x'], '1.0.1');
    const r = await buildRelease({ source: repo.dir, branch: repo.branch, commit: repo.commit, workRoot: work });
    await r.cleanup();
    const lingering = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`sleep\0${token}`);
        } catch {
          return false;
        }
      });
    expect(lingering).toEqual([]);
  });
});

describe('every build step', () => {
  it('does not inherit a descriptor the caller left open (a --passphrase-fd)', async () => {
    const bundle = await bundleBuildChild(work);
    const passFile = join(work, 'fd.pass');
    writeFileSync(passFile, 'PASSPHRASE-ON-FD\n', { mode: 0o600 });
    const repo = stepRepo('cat /proc/self/fd/40 > "$AIRLOCK_OUT/fd.txt" 2>&1; ls /proc/self/fd >> "$AIRLOCK_OUT/fd.txt"; true', ['fd.txt'], '1.0.2');
    const fd = openSync(passFile, 'r');
    try {
      const req = JSON.stringify({ source: repo.dir, branch: repo.branch, commit: repo.commit, workRoot: work });
      // The child (a whole airlock build) gets the descriptor as its fd 40, as a shell's `40<file` would.
      const stdio: ('ignore' | 'pipe' | number)[] = ['ignore', 'pipe', 'pipe', ...Array<'ignore'>(37).fill('ignore'), fd];
      const out = await new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, [bundle, req], { stdio });
        let text = '';
        child.stdout!.on('data', (b: Buffer) => (text += b.toString()));
        child.on('error', reject);
        child.on('close', () => resolve(text));
      });
      const built = JSON.parse(out) as { ok: boolean; workDir: string; code?: string };
      expect(built.ok, JSON.stringify(built)).toBe(true);
      const seen = readFileSync(join(built.workDir, 'out', 'fd.txt'), 'utf8');
      rmSync(built.workDir, { recursive: true, force: true });
      expect(seen).not.toContain('PASSPHRASE-ON-FD');
    } finally {
      closeSync(fd);
    }
  });
});

describe('the paths a build hides', () => {
  it('refuses a build directory inside the terminal home', () => {
    let err: unknown;
    try {
      hiddenPathsFor('/home/rm/.airlock/tmp/airlock-build-x', ['/home/rm/.airlock']);
    } catch (e) {
      err = e;
    }
    expect(isAirlockError(err, 'E_CONFIG')).toBe(true);
    expect(hiddenPathsFor('/tmp/airlock-build-x', ['/home/rm/.airlock', '/', '/home/rm/.airlock', '/tmp/airlock-build-x/home'])).toEqual(['/home/rm/.airlock']);
  });
});
