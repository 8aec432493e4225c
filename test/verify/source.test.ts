// The sources the verifier reads from (lib/verify/source.ts): what a redirect may do,
// and what a directory mirror holding special files does.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Updater } from '../../lib/verify/index.js';
import { redirectTarget } from '../../lib/verify/source.js';
import { codeOf, codeOfSync } from '../support/error-codes.js';
import { RepoSimulator } from '../support/tuf-repo-simulator.js';

describe('redirects', () => {
  const https = new URL('https://mirror.example/metadata/timestamp.json');
  const http = new URL('http://mirror.example/metadata/timestamp.json');

  it('follows relative and absolute http(s) locations', () => {
    expect(redirectTarget(https, '/other/timestamp.json').href).toBe('https://mirror.example/other/timestamp.json');
    expect(redirectTarget(https, 'https://cdn.example/t.json').href).toBe('https://cdn.example/t.json');
    expect(redirectTarget(http, 'https://cdn.example/t.json').href).toBe('https://cdn.example/t.json');
    expect(redirectTarget(http, 'http://cdn.example/t.json').href).toBe('http://cdn.example/t.json');
  });

  it('refuses a location that is not a URL, another scheme, or a step down from https to http', () => {
    expect(codeOfSync(() => redirectTarget(https, 'http://[x'))).toBe('E_NETWORK');
    expect(codeOfSync(() => redirectTarget(https, 'file:///etc/passwd'))).toBe('E_NETWORK');
    expect(codeOfSync(() => redirectTarget(https, 'http://mirror.example/metadata/timestamp.json'))).toBe('E_NETWORK');
    expect(codeOfSync(() => redirectTarget(https, '//evil.example/t.json'))).toBe('ok');
  });
});

describe('a directory mirror', () => {
  it('a FIFO or a device planted as a metadata file is a missing file, not a hang', async () => {
    const sim = new RepoSimulator();
    sim.addTarget('a/1/a', 'a');
    sim.publish();
    const mirror = join(mkdtempSync(join(tmpdir(), 'airlock-fifo-mirror-')), 'host');
    try {
      cpSync(sim.hostDir, mirror, { recursive: true });
      rmSync(join(mirror, 'metadata', 'timestamp.json'));
      execFileSync('mkfifo', [join(mirror, 'metadata', 'timestamp.json')]);
      symlinkSync('/dev/zero', join(mirror, 'metadata', '2.root.json'));
      const started = performance.now();
      expect(await codeOf(new Updater({ trustedRoot: sim.trustedRoot, sources: [mirror], limits: { idleTimeoutMs: 20_000 } }).refresh())).toBe('E_NOT_FOUND');
      const warnings: string[] = [];
      const u = new Updater({ trustedRoot: sim.trustedRoot, sources: [mirror, sim.hostDir], onWarning: (w) => warnings.push(w) });
      expect(await codeOf(u.refresh())).toBe('ok');
      expect(warnings.join()).toMatch(/E_NOT_FOUND/);
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      rmSync(mirror, { recursive: true, force: true });
      sim.cleanup();
    }
  });

  it('a symlink out of the tree is read like any file: what it points to must still verify', async () => {
    const sim = new RepoSimulator();
    sim.addTarget('a/1/a', 'a');
    sim.publish();
    const mirror = join(mkdtempSync(join(tmpdir(), 'airlock-link-mirror-')), 'host');
    const outside = join(mkdtempSync(join(tmpdir(), 'airlock-outside-')), 'secret.json');
    try {
      cpSync(sim.hostDir, mirror, { recursive: true });
      writeFileSync(outside, '{"not": "metadata"}');
      rmSync(join(mirror, 'metadata', 'timestamp.json'));
      symlinkSync(outside, join(mirror, 'metadata', 'timestamp.json'));
      expect(await codeOf(new Updater({ trustedRoot: sim.trustedRoot, sources: [mirror] }).refresh())).toBe('E_METADATA_INVALID');
    } finally {
      rmSync(mirror, { recursive: true, force: true });
      sim.cleanup();
    }
  });
});

describe('timeouts', () => {
  it('a very long --idle-timeout is not turned into a 1 ms timer (TimeoutOverflowWarning, busy loop)', async () => {
    const sim = new RepoSimulator();
    sim.addTarget('a/1/a', 'a');
    sim.publish();
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const u = new Updater({ trustedRoot: sim.trustedRoot, sources: [sim.hostDir], limits: { idleTimeoutMs: 2 ** 40, rateWindowMs: 0 } });
      expect(await codeOf(u.refresh())).toBe('ok');
      await new Promise((r) => setImmediate(r));
      expect(warnings).not.toContain('TimeoutOverflowWarning');
    } finally {
      process.off('warning', onWarning);
      sim.cleanup();
    }
  });
});
