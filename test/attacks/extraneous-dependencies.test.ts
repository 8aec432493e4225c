// TUF attack: extraneous dependencies — the host cannot add targets (a "dependency" the
// release never named) to signed metadata, nor make a delegated role speak for paths
// that were not delegated to it.
import { describe, it } from 'vitest';
import { expectBothRefuse, inArena } from '../support/verify-attack.js';

describe('extraneous dependencies', () => {
  it('refuses a targets.json with a dependency added after signing', () =>
    inArena(undefined, async (a) => {
      a.sim.addTarget('demo/1.0.0/extra.tar.gz', 'a legitimate new file');
      // Snapshot without hashes: only the signature can catch an edited targets.json.
      a.sim.publish({ snapshotHashes: false });
      const file = a.sim.targetsFile('targets');
      const env = JSON.parse(Buffer.from(a.sim.read(file)).toString());
      env.signed.targets['demo/1.0.0/evil-dependency.tar.gz'] = env.signed.targets['demo/1.0.0/extra.tar.gz'];
      a.sim.write(file, JSON.stringify(env));
      await expectBothRefuse(a, {
        target: 'demo/1.0.0/evil-dependency.tar.gz',
        code: 'E_SIG_THRESHOLD',
        tuf: /Unsigned|signed by \d+\/\d+/,
        stateMayChange: ['timestamp.json', 'snapshot.json'],
      });
    }));

  it('does not install a target listed by a role not trusted for its path', () =>
    inArena(
      (sim) => {
        sim.delegate('targets', { name: 'plugins', paths: ['plugins/*/*'], terminating: true });
        sim.addTarget('plugins/1.0/ok.tar.gz', 'a plugin', 'plugins');
        sim.addTarget('libs/evil/evil.tar.gz', 'listed by the wrong role', 'plugins');
      },
      async (a) => {
        // A file the host adds beside a real target: no metadata names it at all.
        await expectBothRefuse(a, { target: 'libs/evil/evil.tar.gz', code: 'E_TARGET_UNKNOWN' });
      },
    ));
});
