// The names E_TARGET_UNKNOWN suggests come from metadata already fetched: a hint must not
// make the client download roles the search for the asked-for name did not need (a
// host could otherwise make every typo fetch its whole delegation tree).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Updater } from '../../lib/verify/index.js';
import { expectCode } from '../support/error-codes.js';
import { serveDirectory, type StaticServer } from '../support/static-http.js';
import { RepoSimulator } from '../support/tuf-repo-simulator.js';

describe('suggestions for an unknown target', () => {
  let sim: RepoSimulator;
  let host: StaticServer;

  beforeAll(async () => {
    sim = new RepoSimulator();
    // `early` comes first for r/*; `late` has x/* and r/* too, and lists r/foo.txt.
    sim.delegate('targets', { name: 'early', paths: ['r/*'] });
    sim.delegate('targets', { name: 'late', paths: ['x/*', 'r/*'] });
    sim.addTarget('r/foo.txt', 'foo', 'late');
    sim.addTarget('x/fox.txt', 'fox', 'late');
    sim.publish();
    host = await serveDirectory(sim.hostDir);
  });
  afterAll(async () => {
    await host.close();
    sim.cleanup();
  });

  it('never fetches metadata for a suggestion: a near name whose search needs another role is left out', async () => {
    const u = new Updater({ trustedRoot: sim.trustedRoot, stateDir: mkdtempSync(join(tmpdir(), 'airlock-near-')), sources: [host.url] });
    await u.refresh();
    const before = host.requested.length;
    // The search for x/foo.txt reads `late` only; r/foo.txt is near, but confirming it
    // would walk `early` first, which nothing has fetched.
    const err = await expectCode(u.requireTargetInfo('x/foo.txt'), 'E_TARGET_UNKNOWN');
    expect(err.details?.near).toEqual(['x/fox.txt']);
    const fetched = host.requested.slice(before);
    expect(fetched.some((url) => url.includes('late.json'))).toBe(true);
    expect(fetched.filter((url) => url.includes('early.json'))).toEqual([]);
  });
});
