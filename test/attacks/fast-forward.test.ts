// TUF attack: fast-forward — version numbers cannot be pushed beyond what the
// repository signed; and after a compromised timestamp key fast-forwarded clients,
// rotating that key in the root lets them recover (TUF §5.3.11).
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Updater } from '../../lib/verify/index.js';
import { codeOf } from '../support/error-codes.js';
import { newKey, RepoSimulator, signEnvelope } from '../support/tuf-repo-simulator.js';
import { expectBothRefuse, inArena, TARGET, tempDir } from '../support/verify-attack.js';

describe('fast-forward', () => {
  it('refuses a timestamp whose version was raised without the timestamp key', () =>
    inArena(undefined, async (a) => {
      const env = JSON.parse(Buffer.from(a.sim.read('metadata/timestamp.json')).toString());
      env.signed.version = 1_000_000;
      a.sim.write('metadata/timestamp.json', JSON.stringify(env));
      await expectBothRefuse(a, { code: 'E_SIG_THRESHOLD', tuf: /Unsigned|signed by \d+\/\d+/ });
    }));

  it('refuses targets metadata of a higher version than the snapshot lists', () =>
    inArena(undefined, async (a) => {
      a.sim.addTarget('demo/1.0.1/demo.tar.gz', 'next');
      a.sim.publish({ snapshotHashes: false });
      const t = structuredClone(a.sim.targets.get('targets')!);
      t.version = 1000;
      a.sim.write(a.sim.targetsFile('targets'), signEnvelope(t, a.sim.keys.targets));
      await expectBothRefuse(a, { target: TARGET, code: 'E_VERSION_MISMATCH', tuf: /BadVersion|[Vv]ersion \d+/, stateMayChange: ['timestamp.json', 'snapshot.json'] });
    }));

  it('recovers from a fast-forward made with a compromised timestamp key once root rotates it', () =>
    inArena(undefined, async (a) => {
      // The attacker holds the timestamp key and pushes clients to version 1000.
      const ff = structuredClone(a.sim.timestamp);
      ff.version = 1000;
      a.sim.write('metadata/timestamp.json', signEnvelope(ff, a.sim.keys.timestamp));
      expect((await a.airlock(['refresh'])).code).toBe(0);
      await a.tuf.fetch();
      // While the key is not rotated, the repository's own next timestamp looks like a rollback.
      a.sim.publish();
      expect((await a.airlock(['refresh'])).errorCode).toBe('E_ROLLBACK');
      // The repository rotates the timestamp key and goes on at its own version.
      a.sim.rotateKeys('timestamp');
      a.sim.publish();
      expect(a.sim.timestamp.version).toBeLessThan(1000);
      const r = await a.airlock(['download', TARGET, '--out-dir', tempDir()]);
      expect(r.code, r.stderr).toBe(0);
      expect((await a.tuf.fetch(TARGET))?.toString()).toContain('1.0.0');
    }));

  it('recovers even when the run that followed the rotation was stopped by a refused later root', async () => {
    const sim = new RepoSimulator();
    try {
      sim.addTarget(TARGET, 'release');
      sim.publish();
      const state = tempDir();
      const client = () => new Updater({ stateDir: state, sources: [sim.hostDir] });
      await new Updater({ trustedRoot: sim.trustedRoot, stateDir: state, sources: [sim.hostDir] }).refresh();
      // The attacker holds the timestamp key and fast-forwards the client.
      const ff = structuredClone(sim.timestamp);
      ff.version = 1000;
      sim.write('metadata/timestamp.json', signEnvelope(ff, sim.keys.timestamp));
      await client().refresh();
      // Root 2 changes the timestamp keys (the old key stays listed, so a stored file
      // signed by it still verifies: only §5.3.11's deletion undoes the fast-forward) …
      const fresh = newKey();
      sim.rotateRoot((root) => {
        root.keys[fresh.keyid] = fresh.key;
        root.roles.timestamp = { keyids: [...root.roles.timestamp.keyids, fresh.keyid], threshold: 1 };
      });
      sim.keys.timestamp = [fresh];
      sim.publish();
      // … and the host makes the run that follows it stop right after root 2 is
      // persisted, with a root 3 that does not verify.
      sim.write('metadata/3.root.json', '{"signed": {}, "signatures": []}');
      expect(await codeOf(client().refresh())).toBe('E_METADATA_INVALID');
      rmSync(sim.path('metadata/3.root.json'));
      // The next run starts from root 2: it must not be stuck on the fast-forwarded timestamp.
      expect(await codeOf(client().refresh())).toBe('ok');
    } finally {
      sim.cleanup();
    }
  });
});
