// The built bundle, run as users run it: exit codes, printed error codes, --json.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync, statSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RepoSimulator, sha256 } from '../support/tuf-repo-simulator.js';
import { ensureBundle, runVerifyCli, snapshotDir } from '../support/verify-clients.js';
import { serveDirectory, type StaticServer } from '../support/static-http.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'airlock-verify-cli-'));
const TARGET = 'demo/1.0.0/demo-1.0.0.tar.gz';

describe('airlock-verify (bundle)', () => {
  let sim: RepoSimulator;
  let host: StaticServer;
  let rootFile: string;

  beforeAll(async () => {
    ensureBundle();
    sim = new RepoSimulator();
    sim.addTarget(TARGET, 'release tarball');
    sim.addTarget('demo/1.0.0/SHA256SUMS', 'sums');
    sim.publish();
    rootFile = join(tmp(), 'root.json');
    writeFileSync(rootFile, sim.trustedRoot);
    host = await serveDirectory(sim.hostDir);
  });
  afterAll(async () => {
    await host.close();
    sim.cleanup();
  });

  it('is one file that runs from an empty directory, imports only node: built-ins, and holds no signing code', async () => {
    const bundle = ensureBundle();
    const dir = tmp();
    copyFileSync(bundle, join(dir, 'airlock-verify.mjs'));
    const r = await runVerifyCli(['--help'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('airlock-verify init');
    const text = readFileSync(bundle, 'utf8');
    const imports = [...text.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
    expect(imports.length).toBeGreaterThan(0);
    expect(imports.filter((i) => !i!.startsWith('node:'))).toEqual([]);
    expect(text).not.toMatch(/\brequire\(/);
    // esbuild names each bundled module in a comment: none may come from the signing side.
    expect(text).not.toMatch(/^\/\/ (lib\/(keys|build|repo|publish|reproduce)\/|node_modules\/)/m);
    const size = statSync(bundle).size;
    console.log(`dist/airlock-verify.mjs is ${(size / 1024).toFixed(1)} KiB`);
    expect(size).toBeLessThan(150 * 1024);
  });

  it('init refuses a root whose fingerprint does not match (exit 1, E_FINGERPRINT) and pins a matching one', async () => {
    const state = join(tmp(), 'state');
    const bad = await runVerifyCli(['init', '--root', rootFile, '--fingerprint', '0'.repeat(64), '--state', state]);
    expect(bad.code).toBe(1);
    expect(bad.errorCode).toBe('E_FINGERPRINT');
    expect(existsSync(join(state, 'root.json'))).toBe(false);
    const fp = sha256(sim.trustedRoot);
    const good = await runVerifyCli(['init', '--root', rootFile, '--fingerprint', fp.toUpperCase(), '--state', state, '--json']);
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ ok: true, fingerprint: fp, version: 1 });
    const text = await runVerifyCli(['init', '--root', rootFile, '--fingerprint', fp, '--state', state]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(fp);
  });

  it('refresh, download and check from a directory and over http with one state', async () => {
    const state = join(tmp(), 'state');
    const fp = sha256(sim.trustedRoot);
    expect((await runVerifyCli(['init', '--root', rootFile, '--fingerprint', fp, '--state', state])).code).toBe(0);
    const refresh = await runVerifyCli(['refresh', '--from', sim.hostDir, '--state', state, '--json']);
    expect(refresh.code).toBe(0);
    expect(JSON.parse(refresh.stdout).roles.timestamp.version).toBe(1);
    const outDir = tmp();
    const dl = await runVerifyCli(['download', TARGET, 'demo/1.0.0/SHA256SUMS', '--from', host.url, '--state', state, '--out-dir', outDir, '--json']);
    expect(dl.code, dl.stderr).toBe(0);
    expect(readFileSync(join(outDir, encodeURIComponent(TARGET)), 'utf8')).toBe('release tarball');
    expect(JSON.parse(dl.stdout).targets.map((t: { transferred: boolean }) => t.transferred)).toEqual([true, true]);
    const again = await runVerifyCli(['download', TARGET, '--from', host.url, '--state', state, '--out-dir', outDir, '--json']);
    expect(JSON.parse(again.stdout).targets[0].transferred).toBe(false);
    const one = join(tmp(), 'x.tgz');
    expect((await runVerifyCli(['download', TARGET, '--from', sim.hostDir, '--root', rootFile, '-o', one])).code).toBe(0);
    expect(readFileSync(one, 'utf8')).toBe('release tarball');
    const check = await runVerifyCli(['check', one, '--target', TARGET, '--from', sim.hostDir, '--state', state]);
    expect(check.code).toBe(0);
    writeFileSync(one, 'release tarbalL');
    const bad = await runVerifyCli(['check', one, '--target', TARGET, '--from', sim.hostDir, '--state', state, '--json']);
    expect(bad.code).toBe(1);
    expect(bad.errorCode).toBe('E_HASH');
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, error: { code: 'E_HASH' } });
  });

  it('refuses an unknown target among several (exit 1, E_TARGET_UNKNOWN) before writing any', async () => {
    const outDir = tmp();
    const r = await runVerifyCli(['download', TARGET, 'demo/9/none', 'demo/1.0.0/SHA256SUMS', '--from', sim.hostDir, '--root', rootFile, '--out-dir', outDir]);
    expect(r.code).toBe(1);
    expect(r.errorCode).toBe('E_TARGET_UNKNOWN');
    expect(existsSync(join(outDir, encodeURIComponent(TARGET)))).toBe(false);
    expect(existsSync(join(outDir, encodeURIComponent('demo/1.0.0/SHA256SUMS')))).toBe(false);
  });

  it('usage errors exit 2; an unreachable host exits 3; an uninitialised state exits 2', async () => {
    for (const args of [['frobnicate'], ['refresh', '--from', sim.hostDir, '--root', rootFile, '--bogus'], ['refresh', '--root', rootFile], ['download', '--from', sim.hostDir, '--root', rootFile], ['check', 'f', '--from', sim.hostDir, '--root', rootFile]]) {
      const r = await runVerifyCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.errorCode).toBe('E_USAGE');
    }
    const closed = await new Promise<number>((res) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => res(port));
      });
    });
    const net = await runVerifyCli(['refresh', '--from', `http://127.0.0.1:${closed}`, '--root', rootFile]);
    expect(net.code).toBe(3);
    expect(net.errorCode).toBe('E_NETWORK');
    const none = await runVerifyCli(['refresh', '--from', sim.hostDir, '--state', join(tmp(), 'empty')]);
    expect(none.code).toBe(2);
    expect(none.errorCode).toBe('E_NOT_INITIALISED');
  });

  it('refuses a tampered target over http and leaves nothing under the output name', async () => {
    const state = join(tmp(), 'state');
    const fp = sha256(sim.trustedRoot);
    await runVerifyCli(['init', '--root', rootFile, '--fingerprint', fp, '--state', state]);
    const before = snapshotDir(state);
    const saved = sim.files();
    const file = sim.targetFile(TARGET);
    const bytes = Buffer.from(sim.read(file));
    bytes[0]! ^= 1;
    sim.write(file, bytes);
    const out = join(tmp(), 'got.tgz');
    const r = await runVerifyCli(['download', TARGET, '--from', host.url, '--state', state, '-o', out]);
    sim.restore(saved);
    expect(r.code).toBe(1);
    expect(r.errorCode).toBe('E_HASH');
    expect(existsSync(out)).toBe(false);
    expect(Object.keys(snapshotDir(state))).toEqual([...Object.keys(before), 'snapshot.json', 'targets.json', 'timestamp.json'].sort());
  });
});
