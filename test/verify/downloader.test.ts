// What a downloader meets at the command line (issue 16.8): `download` writes the
// target's base name like curl -O and never replaces an unrelated file without --force,
// `list` shows what the repository offers, an unknown target names the near ones, a
// progress line on a terminal only, and `init` again after rotations is harmless.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDownload } from '../../cli/verify-progress.js';
import { serveDirectory, type StaticServer } from '../support/static-http.js';
import { RepoSimulator } from '../support/tuf-repo-simulator.js';
import { ensureBundle, runVerifyCli } from '../support/verify-clients.js';

const execFileAsync = promisify(execFile);
const tmp = (): string => mkdtempSync(join(tmpdir(), 'airlock-downloader-'));
const TARGET = 'demo/1.0.0/demo-1.0.0.tar.gz';
const BIG = 'demo/1.0.0/demo-1.0.0-big.bin';
const BIG_BYTES = Buffer.alloc(6 * 1024 * 1024, 7);

describe('airlock-verify for downloaders', () => {
  let sim: RepoSimulator;
  let host: StaticServer;
  let rootFile: string;

  beforeAll(async () => {
    sim = new RepoSimulator();
    sim.addTarget(TARGET, 'release tarball');
    sim.addTarget('demo/1.0.0/SHA256SUMS', 'sums');
    sim.addTarget('other/1.0.0/demo-1.0.0.tar.gz', 'same base name');
    sim.addTarget(BIG, BIG_BYTES);
    sim.delegate('targets', { name: 'docs-team', paths: ['docs/*'] });
    sim.addTarget('docs/manual.pdf', 'manual', 'docs-team');
    // Listed by docs-team, but outside the paths it was given: not believed, not listed.
    sim.addTarget('demo/1.0.0/evil.tar.gz', 'not trusted for demo/', 'docs-team');
    sim.publish();
    host = await serveDirectory(sim.hostDir);
    rootFile = join(tmp(), 'root.json');
    writeFileSync(rootFile, sim.trustedRoot);
  });
  afterAll(async () => {
    await host.close();
    sim.cleanup();
  });

  const from = (): string[] => ['--from', host.url, '--root', rootFile];

  it('writes the target under its base name in the current directory, like curl -O', async () => {
    const cwd = tmp();
    const r = await runVerifyCli(['download', TARGET, ...from(), '--json'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(cwd)).toEqual(['demo-1.0.0.tar.gz']);
    expect(readFileSync(join(cwd, 'demo-1.0.0.tar.gz'), 'utf8')).toBe('release tarball');
    expect(JSON.parse(r.stdout).targets[0]).toMatchObject({ path: 'demo-1.0.0.tar.gz', transferred: true });
  });

  it('never replaces an unrelated file without --force, and skips one that already holds the target', async () => {
    const cwd = tmp();
    writeFileSync(join(cwd, 'demo-1.0.0.tar.gz'), 'my own notes');
    const refused = await runVerifyCli(['download', TARGET, ...from()], { cwd });
    expect(refused.code).toBe(2);
    expect(refused.errorCode).toBe('E_OUTPUT_EXISTS');
    expect(readFileSync(join(cwd, 'demo-1.0.0.tar.gz'), 'utf8')).toBe('my own notes');
    // -o names the file explicitly, and is protected the same way.
    expect((await runVerifyCli(['download', TARGET, ...from(), '-o', join(cwd, 'demo-1.0.0.tar.gz')])).errorCode).toBe('E_OUTPUT_EXISTS');
    const forced = await runVerifyCli(['download', TARGET, ...from(), '--force', '--json'], { cwd });
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(join(cwd, 'demo-1.0.0.tar.gz'), 'utf8')).toBe('release tarball');
    const again = await runVerifyCli(['download', TARGET, ...from(), '--json'], { cwd });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).targets[0].transferred).toBe(false);
    expect(readdirSync(cwd)).toEqual(['demo-1.0.0.tar.gz']);
  });

  it('checks every target and output before writing anything', async () => {
    const cwd = tmp();
    const clash = await runVerifyCli(['download', TARGET, 'other/1.0.0/demo-1.0.0.tar.gz', ...from()], { cwd });
    expect(clash.code).toBe(2);
    expect(clash.errorCode).toBe('E_USAGE');
    const unknown = await runVerifyCli(['download', 'demo/1.0.0/SHA256SUMS', 'demo/1.0.0/demo-1.0.tar.gz', ...from(), '--json'], { cwd });
    expect(unknown.code).toBe(1);
    expect(unknown.errorCode).toBe('E_TARGET_UNKNOWN');
    // The near names, from the metadata already trusted.
    expect(JSON.parse(unknown.stdout).error.details.near).toContain(TARGET);
    expect(unknown.stderr).toContain(`did you mean ${TARGET}`);
    expect(readdirSync(cwd), 'the first, known target was not written either').toEqual([]);
  });

  it('lists what the repository offers, walking delegations, under a prefix', async () => {
    const all = await runVerifyCli(['list', ...from(), '--json']);
    expect(all.code, all.stderr).toBe(0);
    const listed = JSON.parse(all.stdout);
    expect(listed.complete).toBe(true);
    expect(listed.targets.map((t: { target: string }) => t.target)).toEqual(
      [BIG, 'demo/1.0.0/SHA256SUMS', TARGET, 'docs/manual.pdf', 'other/1.0.0/demo-1.0.0.tar.gz'].sort(),
    );
    expect(listed.targets.find((t: { target: string }) => t.target === TARGET)).toMatchObject({ length: 15, hashes: { sha256: createHash('sha256').update('release tarball').digest('hex') } });
    const demo = await runVerifyCli(['list', 'demo/', ...from()]);
    expect(demo.code, demo.stderr).toBe(0);
    const lines = demo.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual([BIG, 'demo/1.0.0/SHA256SUMS', TARGET].sort());
    expect(demo.stdout).not.toContain('evil');
    const none = await runVerifyCli(['list', 'nothing/', ...from(), '--json']);
    expect(JSON.parse(none.stdout).targets).toEqual([]);
  });

  it('shows a progress line (bytes, rate, ETA) for a large download on a terminal, and only there', async () => {
    const cwd = tmp();
    const piped = await runVerifyCli(['download', BIG, ...from()], { cwd });
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stderr).not.toContain('ETA');
    // A transfer that waits for the disk many times leaks no listener (MaxListenersExceededWarning).
    expect(piped.stderr).not.toMatch(/MaxListeners|Warning/);
    expect(readFileSync(join(cwd, 'demo-1.0.0-big.bin')).equals(BIG_BYTES)).toBe(true);
    // script(1) gives the bundle a pseudo-terminal for stdin, stdout and stderr.
    const ttyDir = tmp();
    const cmd = [process.execPath, ensureBundle(), 'download', BIG, ...from()].map((a) => `'${a}'`).join(' ');
    // Asynchronously: the loopback host answers from this process.
    const { stdout: screen } = await execFileAsync('script', ['-qec', cmd, '/dev/null'], { cwd: ttyDir, encoding: 'utf8', timeout: 30_000, env: { ...process.env, AIRLOCK_VERIFY_STATE: join(ttyDir, 'unused') } });
    expect(screen).toMatch(/demo-1\.0\.0-big\.bin {2}[\d.]+ [KMG]?i?B \/ 6\.0 MiB \(\d+%\) {2}[\d.]+ [KMG]?i?B\/s {2}ETA \d+:\d\d/);
    expect(screen).toContain('verified demo/1.0.0/demo-1.0.0-big.bin');
    expect(readFileSync(join(ttyDir, 'demo-1.0.0-big.bin')).equals(BIG_BYTES)).toBe(true);
    expect(formatDownload('x', 3 * 1024 * 1024, 6 * 1024 * 1024, 3)).toBe('x  3.0 MiB / 6.0 MiB (50%)  1.0 MiB/s  ETA 0:03');
  });

  it('init again with the first root is harmless after the state followed rotations; another root is refused', async () => {
    const own = new RepoSimulator();
    try {
      own.addTarget(TARGET, 'release');
      own.publish();
      const first = join(tmp(), 'root.json');
      writeFileSync(first, own.trustedRoot);
      const fp = createHash('sha256').update(own.trustedRoot).digest('hex');
      const state = join(tmp(), 'state');
      expect((await runVerifyCli(['init', '--root', first, '--fingerprint', fp, '--state', state])).code).toBe(0);
      own.rotateRoot();
      own.rotateRoot();
      own.publish();
      expect((await runVerifyCli(['refresh', '--from', own.hostDir, '--state', state])).code).toBe(0);
      const rootBefore = readFileSync(join(state, 'root.json'));
      const again = await runVerifyCli(['init', '--root', first, '--fingerprint', fp, '--state', state, '--json']);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ ok: true, written: false, version: 1, trustedVersion: 3 });
      expect(readFileSync(join(state, 'root.json')).equals(rootBefore), 'the followed rotations are kept').toBe(true);
      const other = join(tmp(), 'other-root.json');
      writeFileSync(other, sim.trustedRoot);
      const refused = await runVerifyCli(['init', '--root', other, '--fingerprint', createHash('sha256').update(sim.trustedRoot).digest('hex'), '--state', state]);
      expect(refused.code).toBe(2);
      expect(refused.errorCode).toBe('E_ALREADY_INITIALISED');
      expect(existsSync(join(state, 'pinned-root.sha256'))).toBe(true);
    } finally {
      own.cleanup();
    }
  });
});
