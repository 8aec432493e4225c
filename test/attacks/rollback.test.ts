// TUF attack: rollback — a client never goes back to metadata older than what it
// trusted before, across runs (the trusted state is kept in --state).
import { describe, expect, it } from 'vitest';
import { signEnvelope } from '../support/tuf-repo-simulator.js';
import { expectBothRefuse, inArena, type Arena } from '../support/verify-attack.js';

/** Publishes a second version and lets both clients trust it. */
async function advance(a: Arena): Promise<Map<string, Buffer>> {
  const old = a.sim.files();
  a.sim.addTarget('demo/1.1.0/demo.tar.gz', 'newer release');
  a.sim.publish();
  expect((await a.airlock(['refresh'])).code).toBe(0);
  await a.tuf.fetch();
  return old;
}

describe('rollback', () => {
  it('refuses a rolled-back timestamp', () =>
    inArena(undefined, async (a) => {
      const old = await advance(a);
      a.sim.restore(old);
      await expectBothRefuse(a, { code: 'E_ROLLBACK', tuf: /version/i });
    }));

  it('refuses a timestamp that lists a rolled-back snapshot', () =>
    inArena(undefined, async (a) => {
      await advance(a);
      const ts = structuredClone(a.sim.timestamp);
      ts.version += 1;
      ts.meta['snapshot.json'] = { version: 1 };
      a.sim.write('metadata/timestamp.json', signEnvelope(ts, a.sim.keys.timestamp));
      await expectBothRefuse(a, { code: 'E_ROLLBACK', tuf: /version/i });
    }));

  it('refuses a snapshot that rolls back the targets version', () =>
    inArena(undefined, async (a) => {
      await advance(a);
      const snap = structuredClone(a.sim.snapshot);
      snap.version += 1;
      snap.meta['targets.json'] = { version: 1 };
      a.sim.write(`metadata/${snap.version}.snapshot.json`, signEnvelope(snap, a.sim.keys.snapshot));
      const ts = structuredClone(a.sim.timestamp);
      ts.version += 1;
      ts.meta['snapshot.json'] = { version: snap.version };
      a.sim.write('metadata/timestamp.json', signEnvelope(ts, a.sim.keys.timestamp));
      await expectBothRefuse(a, { code: 'E_ROLLBACK', tuf: /version/i, stateMayChange: ['timestamp.json'] });
    }));

  it('refuses an old root served as the next version', () =>
    inArena(undefined, async (a) => {
      a.sim.rotateRoot();
      a.sim.publish();
      expect((await a.airlock(['refresh'])).code).toBe(0);
      await a.tuf.fetch();
      a.sim.write('metadata/3.root.json', a.sim.rootHistory[0]!);
      await expectBothRefuse(a, { code: 'E_ROLLBACK', tuf: /version/i });
    }));
});
