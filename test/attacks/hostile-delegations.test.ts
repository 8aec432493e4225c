// TUF attacks through delegations: a delegated role's key holder (trusted only for some
// paths) together with the host tries to speak for paths it was never given, or to stall
// the client's search. Run in-process on the host directory: the bundle runs the same
// library, and the slow cases must not be slower than they need to be.
import { describe, expect, it } from 'vitest';
import { Updater } from '../../lib/verify/index.js';
import { newKey, RepoSimulator, sha256, signEnvelope } from '../support/tuf-repo-simulator.js';
import { codeOf } from '../support/error-codes.js';

describe('hostile delegations', () => {
  it('refuses a role reached through a second delegator whose keys did not sign it (same role name, two delegators)', async () => {
    const sim = new RepoSimulator();
    try {
      sim.delegate('targets', { name: 'a-team', paths: ['a/*'] });
      sim.delegate('targets', { name: 'b-team', paths: ['b/*'] });
      sim.delegate('b-team', { name: 'shared', paths: ['b/*'] });
      sim.addTarget('b/app', 'the real app', 'shared');
      // Hashes in the snapshot would pin each targets file; without them (allowed by
      // the specification, and common) only the signatures stand between the host and
      // the client.
      sim.publish({ snapshotHashes: false });

      // The attacker holds a-team's key (trusted for a/* only) and the host. a-team now
      // delegates a role of the same name, "shared", to the attacker's own key, and the
      // host serves a shared.json of the listed version signed by that key, listing a
      // b/ path that only b-team's delegation may speak for.
      const evil = newKey();
      const aTeam = structuredClone(sim.targets.get('a-team')!);
      aTeam.delegations = {
        keys: { [evil.keyid]: evil.key },
        roles: [{ name: 'shared', keyids: [evil.keyid], threshold: 1, terminating: false, paths: ['a/*'] }],
      };
      sim.write(sim.targetsFile('a-team'), signEnvelope(aTeam, sim.delegatedKeys.get('a-team')!));
      const malware = 'malware, same name';
      const shared = structuredClone(sim.targets.get('shared')!);
      shared.targets = {
        'a/lure': { length: 4, hashes: { sha256: sha256('lure') } },
        'b/app': { length: malware.length, hashes: { sha256: sha256(malware) } },
      };
      sim.write(sim.targetsFile('shared'), signEnvelope(shared, [evil]));
      sim.write(`targets/b/${sha256(malware)}.app`, malware);

      // Asked alone, b/app is searched through b-team, whose keys the forged file lacks.
      const alone = new Updater({ trustedRoot: sim.trustedRoot, sources: [sim.hostDir] });
      expect(await codeOf(alone.getTargetInfo('b/app'))).toBe('E_SIG_THRESHOLD');
      // Asked after a/lure (as `download a/lure b/app` does, in one session), shared.json
      // is already trusted through a-team: it must not be believed for b-team's paths.
      // (tuf-js 5 and python-tuf reuse a loaded role by name and accept the malware here.)
      const session = new Updater({ trustedRoot: sim.trustedRoot, sources: [sim.hostDir] });
      expect((await session.getTargetInfo('a/lure'))?.length).toBe(4);
      expect(await codeOf(session.getTargetInfo('b/app'))).toBe('E_SIG_THRESHOLD');
    } finally {
      sim.cleanup();
    }
  });

  it('a role delegated twice with the same keys is still found through either delegator', async () => {
    const sim = new RepoSimulator();
    try {
      sim.delegate('targets', { name: 'a-team', paths: ['a/*'] });
      sim.delegate('targets', { name: 'b-team', paths: ['b/*'] });
      const sharedKeys = sim.delegate('a-team', { name: 'shared', paths: ['a/*'] });
      const b = sim.targets.get('b-team')!;
      b.delegations = { keys: { [sharedKeys[0]!.keyid]: sharedKeys[0]!.key }, roles: [{ name: 'shared', keyids: [sharedKeys[0]!.keyid], threshold: 1, terminating: false, paths: ['b/*'] }] };
      sim.addTarget('a/one', 'one', 'shared');
      sim.addTarget('b/two', 'two', 'shared');
      sim.publish();
      const u = new Updater({ trustedRoot: sim.trustedRoot, sources: [sim.hostDir] });
      expect((await u.getTargetInfo('a/one'))?.length).toBe(3);
      expect((await u.getTargetInfo('b/two'))?.length).toBe(3);
    } finally {
      sim.cleanup();
    }
  });

  it('a delegator cannot stall the target search with a backtracking path pattern', async () => {
    const sim = new RepoSimulator();
    try {
      // Checked against every path searched below targets: with a regular expression,
      // *a*a…*b against a 30-character file name took seconds (and grows exponentially).
      sim.delegate('targets', { name: 'stall', paths: [`demo/${'*a'.repeat(12)}*b`] });
      sim.addTarget(`demo/${'a'.repeat(30)}`, 'release');
      sim.publish();
      const u = new Updater({ trustedRoot: sim.trustedRoot, sources: [sim.hostDir] });
      await u.refresh();
      const started = performance.now();
      expect(await u.getTargetInfo(`demo/${'a'.repeat(29)}c`)).toBeUndefined();
      expect(performance.now() - started).toBeLessThan(1000);
    } finally {
      sim.cleanup();
    }
  });
});
