// TUF attack: mix-and-match — metadata that never existed together on the repository
// cannot be combined: each file must be the version (and bytes) its listing signs.
import { describe, it } from 'vitest';
import { expectBothRefuse, inArena, TARGET } from '../support/verify-attack.js';

describe('mix-and-match', () => {
  it('refuses an old snapshot served as the version the timestamp lists (version check)', () =>
    inArena(undefined, async (a) => {
      const oldSnapshot = a.sim.read(a.sim.snapshotFile());
      a.sim.addTarget('demo/1.1.0/demo.tar.gz', 'new');
      // Without hashes in the timestamp, the signed version is what ties them together.
      a.sim.publish({ timestampHashes: false });
      a.sim.write(a.sim.snapshotFile(), oldSnapshot);
      await expectBothRefuse(a, { code: 'E_VERSION_MISMATCH', tuf: /version/i, stateMayChange: ['timestamp.json'] });
    }));

  it('refuses old targets metadata served under the name the new snapshot lists (hash check)', () =>
    inArena(undefined, async (a) => {
      const oldTargets = a.sim.read(a.sim.targetsFile('targets'));
      a.sim.addTarget('demo/1.1.0/demo.tar.gz', 'new');
      a.sim.publish();
      a.sim.write(a.sim.targetsFile('targets'), oldTargets);
      // The old file is shorter, so the length the snapshot signs catches it first.
      await expectBothRefuse(a, { target: TARGET, code: 'E_LENGTH', tuf: /length|hash/i, stateMayChange: ['timestamp.json', 'snapshot.json'] });
    }));
});
