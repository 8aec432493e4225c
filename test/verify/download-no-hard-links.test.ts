// A download onto a file system without hard links (a USB stick formatted exFAT or FAT,
// where link(2) answers EPERM): airlock-verify still places the verified file under its
// name without ever replacing an existing one unless told (--force), and leaves no
// temporary file behind; a key file is refused there by name. A real exFAT volume
// (test/support/exfat-volume.ts).
import { linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../lib/core/atomic-file.js';
import { mountExfat, type ExfatVolume } from '../support/exfat-volume.js';
import { serveDirectory, type StaticServer } from '../support/static-http.js';
import { RepoSimulator } from '../support/tuf-repo-simulator.js';
import { expectCode } from '../support/error-codes.js';
import { ensureBundle, runVerifyCli } from '../support/verify-clients.js';

const TARGET = 'demo/1.0.0/demo-1.0.0.tar.gz';
let volume: ExfatVolume;
let sim: RepoSimulator;
let host: StaticServer;
let rootFile: string;
let dirs = 0;

const fresh = (): string => {
  const dir = join(volume.dir, `d${++dirs}`);
  mkdirSync(dir);
  return dir;
};

beforeAll(async () => {
  await ensureBundle();
  volume = mountExfat();
  sim = new RepoSimulator();
  sim.addTarget(TARGET, 'release tarball');
  sim.publish();
  host = await serveDirectory(sim.hostDir);
  rootFile = join(mkdtempSync(join(tmpdir(), 'airlock-nolinks-')), 'root.json');
  writeFileSync(rootFile, sim.trustedRoot);
}, 120_000);

afterAll(async () => {
  await host?.close();
  sim?.cleanup();
  volume?.remove();
});

describe('a download onto exFAT, which has no hard links', () => {
  it('is a volume where link(2) fails with EPERM (what the fallback is for)', () => {
    const dir = fresh();
    writeFileSync(join(dir, 'a'), 'x');
    expect(() => linkSync(join(dir, 'a'), join(dir, 'b'))).toThrow(expect.objectContaining({ code: 'EPERM' }));
  });

  it('places the verified target, refuses to replace another file without --force, and replaces it with --force', async () => {
    const cwd = fresh();
    const from = ['--from', host.url, '--root', rootFile];
    const first = await runVerifyCli(['download', TARGET, ...from], { cwd });
    expect(first.code, first.stderr).toBe(0);
    expect(readFileSync(join(cwd, 'demo-1.0.0.tar.gz'), 'utf8')).toBe('release tarball');

    const other = fresh();
    writeFileSync(join(other, 'demo-1.0.0.tar.gz'), 'my own notes');
    const refused = await runVerifyCli(['download', TARGET, ...from], { cwd: other });
    expect(refused.errorCode).toBe('E_OUTPUT_EXISTS');
    expect(readFileSync(join(other, 'demo-1.0.0.tar.gz'), 'utf8')).toBe('my own notes');
    const forced = await runVerifyCli(['download', TARGET, ...from, '--force'], { cwd: other });
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(join(other, 'demo-1.0.0.tar.gz'), 'utf8')).toBe('release tarball');
    expect(readdirSync(other)).toEqual(['demo-1.0.0.tar.gz']);
    expect(readdirSync(cwd)).toEqual(['demo-1.0.0.tar.gz']);
  }, 60_000);

  it('refuses a never-replacing file that is not a download (a key file) there by name, leaving nothing', async () => {
    const dir = fresh();
    await expectCode(writeFileAtomic(join(dir, 'k'), 'secret', { replace: false }), 'E_IO');
    expect(readdirSync(dir)).toEqual([]);
    // A download's check-then-rename still never replaces an existing name.
    await writeFileAtomic(join(dir, 'd'), 'first', { replace: false, checkThenRename: true });
    const err = await writeFileAtomic(join(dir, 'd'), 'second', { replace: false, checkThenRename: true }).catch((e: unknown) => e);
    expect((err as { cause?: { code?: string } }).cause?.code).toBe('EEXIST');
    expect(readFileSync(join(dir, 'd'), 'utf8')).toBe('first');
    expect(readdirSync(dir)).toEqual(['d']);
  });
});
