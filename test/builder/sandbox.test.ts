// What a run step sees: exactly the planned environment, umask 022, an empty HOME, and
// no network unless the release manager allowed it (and then the provenance says so).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRelease } from '../../lib/builder/index.js';
import { SAFE_PATH } from '../../lib/builder/sandbox.js';
import { isAirlockError } from '../../lib/core/errors.js';
import { bundleBuildChild } from '../support/build-child-bundle.js';
import { makeRepo, recipeJson } from '../support/build-repo.js';

const work = mkdtempSync(join(tmpdir(), 'airlock-sandbox-test-'));
let server: Server;
let port = 0;
let connections = 0;
beforeAll(async () => {
  server = createServer((s) => {
    connections++;
    s.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(work, { recursive: true, force: true });
});

function networkRepo() {
  const connect = `require('net').connect(${port}, '127.0.0.1').on('connect', () => { require('fs').writeFileSync(process.env.AIRLOCK_OUT + '/net.txt', 'connected'); process.exit(0); }).on('error', (e) => { console.error('connect failed: ' + e.code); process.exit(3); });`;
  return makeRepo(
    {
      'airlock.recipe.json': recipeJson({ project: 'net', version: '1.0.0', steps: [{ name: 'phone home', run: [process.execPath, '-e', connect] }], artifacts: ['net.txt'] }),
    },
    'release/1.0.0',
    work,
  );
}

describe('run steps', () => {
  it('cannot open a network connection when network is off', async () => {
    const repo = networkRepo();
    const before = connections;
    let output = '';
    let err: unknown;
    try {
      await buildRelease({ source: repo.dir, branch: repo.branch, commit: repo.commit, workRoot: work, onOutput: (c) => (output += c) });
    } catch (e) {
      err = e;
    }
    expect(isAirlockError(err, 'E_BUILD_FAILED')).toBe(true);
    expect((err as { details: { step: string } }).details.step).toBe('phone home');
    expect(output).toMatch(/connect failed: E(NETUNREACH|CONNREFUSED|ACCES)/);
    expect(connections).toBe(before);
  });

  it('can when the release manager allows it, and the provenance records that', async () => {
    const repo = networkRepo();
    const before = connections;
    const r = await buildRelease({ source: repo.dir, branch: repo.branch, commit: repo.commit, workRoot: work, allowNetwork: true });
    try {
      expect(connections).toBe(before + 1);
      const bd = r.statement.predicate.buildDefinition;
      expect(bd.externalParameters.allowNetwork).toBe(true);
      expect(bd.internalParameters.network).toBe('allowed');
    } finally {
      await r.cleanup();
    }
  });

  it('get exactly the planned environment, umask 022 and an empty HOME', async () => {
    const script = 'env > "$AIRLOCK_OUT/env.txt"; umask > "$AIRLOCK_OUT/umask.txt"; ls -A "$HOME" > "$AIRLOCK_OUT/home.txt"; pwd > "$AIRLOCK_OUT/pwd.txt"';
    const repo = makeRepo(
      { 'airlock.recipe.json': recipeJson({ project: 'env', version: '0.0.1', steps: [{ name: 'env', run: ['sh', '-c', script], cwd: 'sub' }], artifacts: ['env.txt', 'umask.txt', 'home.txt', 'pwd.txt'] }), 'sub/x': 'x' },
      'release/0.0.1',
      work,
    );
    process.env.AIRLOCK_LEAK_TEST = 'leaked';
    const r = await buildRelease({ source: repo.dir, branch: repo.branch, commit: repo.commit, workRoot: work }).finally(() => delete process.env.AIRLOCK_LEAK_TEST);
    try {
      const read = (n: string) => readFileSync(join(r.workDir, 'out', n), 'utf8');
      const env = Object.fromEntries(
        read('env.txt')
          .trim()
          .split('\n')
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      for (const shellOwn of ['PWD', 'OLDPWD', 'SHLVL', '_']) delete env[shellOwn];
      expect(env).toEqual({
        PATH: SAFE_PATH,
        HOME: join(r.workDir, 'home'),
        TZ: 'UTC',
        LC_ALL: 'C',
        SOURCE_DATE_EPOCH: String(r.sourceDateEpoch),
        AIRLOCK_OUT: join(r.workDir, 'out'),
        AIRLOCK_PROJECT: 'env',
        AIRLOCK_VERSION: '0.0.1',
      });
      expect(read('umask.txt').trim()).toBe('0022');
      expect(read('home.txt')).toBe('');
      expect(read('pwd.txt').trim()).toBe(join(r.workDir, 'src', 'sub'));
      // The provenance records the same variables, without this machine's paths.
      const recorded = r.statement.predicate.buildDefinition.internalParameters.env;
      expect(Object.keys(recorded).sort()).toEqual(Object.keys(env).sort());
      expect(recorded.HOME).not.toContain(work);
    } finally {
      await r.cleanup();
    }
  });

  // A machine where no form of `unshare` works: in a private mount namespace, the
  // unshare binary is replaced by /bin/false for the build process only.
  it.skipIf(process.getuid?.() !== 0)('refuses to build without isolation unless network is allowed', async () => {
    const bundle = await bundleBuildChild(work);
    const repo = makeRepo(
      { 'airlock.recipe.json': recipeJson({ project: 'iso', version: '1.0.0', steps: [{ name: 'x', run: ['sh', '-c', 'echo x > "$AIRLOCK_OUT/x"'] }], artifacts: ['x'] }) },
      'release/1.0.0',
      work,
    );
    const attempt = (allowNetwork: boolean) =>
      new Promise<{ ok: boolean; code?: string }>((resolve, reject) => {
        const req = JSON.stringify({ source: repo.dir, branch: repo.branch, commit: repo.commit, workRoot: work, allowNetwork });
        execFile('unshare', ['-m', '--', 'sh', '-c', 'mount --bind /bin/false "$(command -v unshare)" && exec "$@"', 'sh', process.execPath, bundle, req], (err, stdout, stderr) => {
          if (err) reject(new Error(`${err.message}: ${stderr}`));
          else resolve(JSON.parse(stdout));
        });
      });
    expect(await attempt(false)).toMatchObject({ ok: false, code: 'E_NETWORK_ISOLATION' });
    const allowed = (await attempt(true)) as { ok: boolean; statement: { predicate: { buildDefinition: { externalParameters: { allowNetwork: boolean } } } } };
    expect(allowed.ok).toBe(true);
    expect(allowed.statement.predicate.buildDefinition.externalParameters.allowNetwork).toBe(true);
  });
});
