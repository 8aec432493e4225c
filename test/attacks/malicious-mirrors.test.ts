// TUF attack: malicious mirrors preventing updates — a mirror that fails or serves bad
// bytes is skipped with a warning and the next is tried; what a good mirror serves is
// accepted, judged exactly as if it had been the only one.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Updater } from '../../lib/verify/index.js';
import { codeOf } from '../support/error-codes.js';
import { newKey, RepoSimulator, signEnvelope } from '../support/tuf-repo-simulator.js';
import { tufJsClient } from '../support/tufjs-client.js';
import { runVerifyCli } from '../support/verify-clients.js';
import { endless } from '../support/hostile-http.js';
import { serveDirectory } from '../support/static-http.js';
import { expectBothRefuse, inArena, TARGET, tempDir, type Arena } from '../support/verify-attack.js';

/** A copy of the host tree, made hostile, served on its own loopback port. */
async function badMirror(a: Arena, spoil: (dir: string) => void) {
  const dir = join(tempDir('airlock-bad-mirror-'), 'host');
  cpSync(a.sim.hostDir, dir, { recursive: true });
  spoil(dir);
  const host = await serveDirectory(dir);
  return { dir, host };
}

describe('malicious mirrors', () => {
  it('a mirror serving forged metadata cannot keep a client from the good mirror', () =>
    inArena(undefined, async (a) => {
      a.sim.addTarget('demo/1.1.0/demo.tar.gz', 'the new release');
      a.sim.publish();
      // The bad mirror still has the old tree, plus a timestamp signed by the attacker.
      const bad = await badMirror(a, (dir) => {
        const ts = structuredClone(a.sim.timestamp);
        ts.version += 5;
        writeFileSync(join(dir, 'metadata', 'timestamp.json'), signEnvelope(ts, [newKey()]));
      });
      try {
        const alone = await runVerifyCli(['refresh', '--from', bad.host.url, '--state', a.state]);
        expect(alone.code).toBe(1);
        expect(alone.errorCode).toBe('E_SIG_THRESHOLD');
        await expect(tufJsClient(a.sim.trustedRoot, bad.host.url).fetch('demo/1.1.0/demo.tar.gz')).rejects.toThrow(/signed by|Unsigned/);
        const out = tempDir();
        const both = await a.airlock(['download', 'demo/1.1.0/demo.tar.gz', '--out-dir', out], { from: [bad.host.url] });
        expect(both.code, both.stderr).toBe(0);
        expect(both.stderr, both.stderr).toMatch(/warning: mirror .*E_SIG_THRESHOLD/);
        expect(readFileSync(join(out, encodeURIComponent('demo/1.1.0/demo.tar.gz')), 'utf8')).toBe('the new release');
      } finally {
        await bad.host.close();
      }
    }));

  it('a mirror streaming endless data or tampered targets is skipped', () =>
    inArena(undefined, async (a) => {
      const bad = await badMirror(a, (dir) => {
        writeFileSync(join(dir, a.sim.targetFile(TARGET)), 'malware of some other length');
      });
      bad.host.override('/metadata/2.root.json', endless());
      try {
        const out = tempDir();
        const r = await a.airlock(['download', TARGET, '--out-dir', out], { from: [bad.host.url] });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toMatch(/E_TOO_LARGE/);
        expect(r.stderr).toMatch(/E_LENGTH/);
        expect(readFileSync(join(out, encodeURIComponent(TARGET)), 'utf8')).toContain('real release');
      } finally {
        await bad.host.close();
      }
    }));

  it('refuses when every mirror is bad, naming each failure (E_MIRRORS_FAILED)', () =>
    inArena(undefined, async (a) => {
      const evil = Buffer.from(a.sim.read(a.sim.targetFile(TARGET)));
      evil.write('EVIL', 0);
      const bad = await badMirror(a, (dir) => writeFileSync(join(dir, a.sim.targetFile(TARGET)), 'wrong length'));
      a.sim.write(a.sim.targetFile(TARGET), evil);
      try {
        const r = await expectBothRefuse(a, { target: TARGET, code: 'E_HASH', tuf: /hash/i });
        expect(r.errorCode).toBe('E_HASH');
        const out = tempDir();
        const both = await a.airlock(['download', TARGET, '--out-dir', out, '--json'], { from: [bad.host.url] });
        expect(both.code).toBe(1);
        expect(both.errorCode).toBe('E_MIRRORS_FAILED');
        const mirrors = JSON.parse(both.stdout).error.details.mirrors.map((m: { code: string }) => m.code);
        expect(mirrors).toEqual(['E_LENGTH', 'E_HASH']);
      } finally {
        await bad.host.close();
      }
    }));

  it('a stale mirror listed first cannot freeze a client past its timestamp\'s expiry while a good mirror has a newer one', async () => {
    const DAY = 24 * 3600 * 1000;
    const sim = new RepoSimulator();
    try {
      sim.addTarget(TARGET, 'release 1');
      sim.timestamp.expires = sim.expiresIn(1);
      sim.publish();
      const state = tempDir();
      await new Updater({ trustedRoot: sim.trustedRoot, stateDir: state, sources: [sim.hostDir], now: sim.now }).refresh();
      // The stale mirror keeps serving that (genuine) timestamp; the host moves on.
      const stale = join(tempDir('airlock-stale-mirror-'), 'host');
      cpSync(sim.hostDir, stale, { recursive: true });
      sim.timestamp.expires = sim.expiresIn(20);
      sim.publish();
      // Two days on, the trusted timestamp has expired: the stale mirror has nothing
      // current, so the good mirror after it must be asked.
      const later = new Date(sim.now.getTime() + 2 * DAY);
      // Alone, the stale mirror is a freeze, refused as such.
      expect(await codeOf(new Updater({ stateDir: state, sources: [stale], now: later }).refresh())).toBe('E_EXPIRED');
      const warnings: string[] = [];
      const u = new Updater({ stateDir: state, sources: [stale, sim.hostDir], now: later, onWarning: (w) => warnings.push(w) });
      expect(await codeOf(u.refresh())).toBe('ok');
      expect(u.trusted!.timestamp!.version).toBe(2);
      expect(warnings.join()).toMatch(/E_EXPIRED/);
    } finally {
      sim.cleanup();
    }
  });
});
