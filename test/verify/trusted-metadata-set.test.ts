// The trusted set on bytes, step by step (python-tuf tests/test_trusted_metadata_set.py).
import { describe, expect, it } from 'vitest';
import { TrustedMetadataSet } from '../../lib/verify/trusted-metadata-set.js';
import { newKey, RepoSimulator, signEnvelope } from '../support/tuf-repo-simulator.js';
import { expectCodeSync } from '../support/error-codes.js';

const DAY = 24 * 3600 * 1000;

/** A repository at two published versions, with the bytes of each file. */
function twoVersions() {
  const sim = new RepoSimulator();
  sim.addTarget('a/1/a', 'a');
  sim.publish();
  const v1 = { ts: sim.read('metadata/timestamp.json'), snap: sim.read(sim.snapshotFile()), targets: sim.read(sim.targetsFile('targets')) };
  sim.addTarget('a/2/a', 'a2');
  sim.publish();
  const v2 = { ts: sim.read('metadata/timestamp.json'), snap: sim.read(sim.snapshotFile()), targets: sim.read(sim.targetsFile('targets')) };
  return { sim, v1, v2 };
}

function loaded(sim: RepoSimulator, v: { ts: Uint8Array; snap: Uint8Array; targets: Uint8Array }, now = new Date()): TrustedMetadataSet {
  const set = new TrustedMetadataSet(sim.trustedRoot, now);
  set.updateTimestamp(v.ts);
  set.updateSnapshot(v.snap);
  set.updateTargets(v.targets);
  return set;
}

describe('TrustedMetadataSet', () => {
  it('TUF §5.2: the trusted root must be signed by its own threshold', () => {
    const sim = new RepoSimulator();
    sim.signers.root = [newKey()];
    expectCodeSync(() => new TrustedMetadataSet(sim.writeRoot()), 'E_SIG_THRESHOLD');
    expectCodeSync(() => new TrustedMetadataSet(new TextEncoder().encode('{}')), 'E_METADATA_INVALID');
  });

  it('runs the whole workflow on bytes and exposes the result through getters', () => {
    const { sim, v2 } = twoVersions();
    const set = loaded(sim, v2);
    expect([set.root.version, set.timestamp!.version, set.snapshot!.version, set.targets!.version]).toEqual([1, 2, 2, 2]);
    expect(Object.keys(set.targets!.targets)).toEqual(['a/1/a', 'a/2/a']);
  });

  describe('§5.3 root', () => {
    it('accepts N+1 signed by the old and the new root keys', () => {
      const sim = new RepoSimulator();
      const set = new TrustedMetadataSet(sim.trustedRoot);
      sim.rotateKeys('root', 3, 2);
      expect(set.updateRoot(sim.rootHistory[1]!).version).toBe(2);
    });

    it('§5.3.4 refuses N+1 signed only by the new keys, or only by the old ones', () => {
      const sim = new RepoSimulator();
      const set = new TrustedMetadataSet(sim.trustedRoot);
      const onlyNew = (() => {
        const s = new RepoSimulator();
        s.rotateRoot((root) => {
          const fresh = newKey();
          root.keys[fresh.keyid] = fresh.key;
          root.roles.root = { keyids: [fresh.keyid], threshold: 1 };
          s.keys.root = [fresh];
        });
        return s;
      })();
      const set2 = new TrustedMetadataSet(onlyNew.trustedRoot);
      const newRootOnlyNewKeys = signEnvelope(onlyNew.root, onlyNew.keys.root);
      expectCodeSync(() => set2.updateRoot(newRootOnlyNewKeys), 'E_SIG_THRESHOLD');
      const oldKeysOnly = structuredClone(sim.root);
      oldKeysOnly.version = 2;
      const fresh = newKey();
      oldKeysOnly.keys[fresh.keyid] = fresh.key;
      oldKeysOnly.roles.root = { keyids: [fresh.keyid], threshold: 1 };
      expectCodeSync(() => set.updateRoot(signEnvelope(oldKeysOnly, sim.keys.root)), 'E_SIG_THRESHOLD');
      expect(set.root.version).toBe(1);
    });

    it('§5.3.5 refuses a root that is not exactly N+1', () => {
      const sim = new RepoSimulator();
      const set = new TrustedMetadataSet(sim.trustedRoot);
      expectCodeSync(() => set.updateRoot(sim.trustedRoot), 'E_ROLLBACK');
      const skip = structuredClone(sim.root);
      skip.version = 3;
      expectCodeSync(() => set.updateRoot(signEnvelope(skip, sim.keys.root)), 'E_VERSION_MISMATCH');
    });

    it('§5.3.10 refuses to go on with an expired final root', () => {
      const sim = new RepoSimulator();
      sim.publish();
      const set = new TrustedMetadataSet(sim.trustedRoot, new Date(Date.now() + 31 * DAY));
      expectCodeSync(() => set.updateTimestamp(sim.read('metadata/timestamp.json')), 'E_EXPIRED');
    });

    it('the root cannot change once the timestamp is loaded (a programming error)', () => {
      const { sim, v1 } = twoVersions();
      const set = new TrustedMetadataSet(sim.trustedRoot);
      set.updateTimestamp(v1.ts);
      expect(() => set.updateRoot(sim.trustedRoot)).toThrow(Error);
      expect(() => set.updateRoot(sim.trustedRoot)).not.toThrow(expect.objectContaining({ code: expect.any(String) }));
    });
  });

  describe('§5.4 timestamp', () => {
    it('§5.4.2 refuses a timestamp not signed by the timestamp key', () => {
      const { sim } = twoVersions();
      const set = new TrustedMetadataSet(sim.trustedRoot);
      expectCodeSync(() => set.updateTimestamp(signEnvelope(sim.timestamp, [newKey()])), 'E_SIG_THRESHOLD');
      expectCodeSync(() => set.updateTimestamp(signEnvelope(sim.timestamp, sim.keys.snapshot)), 'E_SIG_THRESHOLD');
      expect(set.timestamp).toBeUndefined();
    });

    it('§5.4.3 refuses an older timestamp, keeps the trusted one on an equal version', () => {
      const { sim, v1, v2 } = twoVersions();
      const set = new TrustedMetadataSet(sim.trustedRoot);
      expect(set.updateTimestamp(v2.ts, 'state')).toBe(true);
      expectCodeSync(() => set.updateTimestamp(v1.ts), 'E_ROLLBACK');
      expect(set.updateTimestamp(v2.ts)).toBe(false);
      expect(set.timestamp!.version).toBe(2);
    });

    it('§5.4.3.2 refuses a newer timestamp that lists an older snapshot', () => {
      const { sim, v2 } = twoVersions();
      const set = new TrustedMetadataSet(sim.trustedRoot);
      set.updateTimestamp(v2.ts);
      const bad = structuredClone(sim.timestamp);
      bad.version = 3;
      bad.meta['snapshot.json'].version = 1;
      expectCodeSync(() => set.updateTimestamp(signEnvelope(bad, sim.keys.timestamp)), 'E_ROLLBACK');
      expect(set.timestamp!.version).toBe(2);
    });

    it('§5.4.4 refuses an expired timestamp; an expired one from state is only a floor', () => {
      const { sim, v1 } = twoVersions();
      // (sim.timestamp is version 2 here)
      const expired = structuredClone(sim.timestamp);
      expired.expires = '2020-01-01T00:00:00Z';
      const bytes = signEnvelope(expired, sim.keys.timestamp);
      const set = new TrustedMetadataSet(sim.trustedRoot);
      expectCodeSync(() => set.updateTimestamp(bytes), 'E_EXPIRED');
      expect(set.timestamp).toBeUndefined();
      expect(set.updateTimestamp(bytes, 'state')).toBe(true);
      expectCodeSync(() => set.updateTimestamp(v1.ts), 'E_ROLLBACK');
      expectCodeSync(() => set.updateSnapshot(sim.read(sim.snapshotFile())), 'E_EXPIRED');
    });
  });

  describe('§5.5 snapshot', () => {
    it('must come after the timestamp and before targets', () => {
      const { sim, v2 } = twoVersions();
      const set = new TrustedMetadataSet(sim.trustedRoot);
      expect(() => set.updateSnapshot(v2.snap)).toThrow(/timestamp first/);
      const full = loaded(sim, v2);
      expect(() => full.updateSnapshot(v2.snap)).toThrow(/after targets/);
    });

    it('§5.5.2 refuses bytes other than the timestamp lists (E_HASH, E_LENGTH)', () => {
      const { sim, v2 } = twoVersions();
      const set = new TrustedMetadataSet(sim.trustedRoot);
      set.updateTimestamp(v2.ts);
      const flipped = Buffer.from(v2.snap);
      flipped[flipped.length - 3]! ^= 1;
      expectCodeSync(() => set.updateSnapshot(flipped), 'E_HASH');
      expectCodeSync(() => set.updateSnapshot(Buffer.concat([v2.snap, Buffer.from(' ')])), 'E_LENGTH');
      expect(set.snapshot).toBeUndefined();
    });

    it('§5.5.4 refuses a snapshot of another version than the timestamp lists', () => {
      const { sim, v1, v2 } = twoVersions();
      const noHashes = new RepoSimulator();
      noHashes.publish({ timestampHashes: false });
      const set = new TrustedMetadataSet(sim.trustedRoot);
      set.updateTimestamp(v2.ts);
      expectCodeSync(() => set.updateSnapshot(v1.snap), 'E_HASH');
      // Without hashes in the timestamp the version check is what catches it.
      const ts = structuredClone(sim.timestamp);
      ts.version = 9;
      ts.meta['snapshot.json'] = { version: 2 };
      const set2 = new TrustedMetadataSet(sim.trustedRoot);
      set2.updateTimestamp(signEnvelope(ts, sim.keys.timestamp));
      expectCodeSync(() => set2.updateSnapshot(v1.snap), 'E_VERSION_MISMATCH');
      noHashes.cleanup();
    });

    it('§5.5.5 refuses a snapshot that drops or rolls back a targets file', () => {
      const { sim, v1, v2 } = twoVersions();
      for (const change of [(m: Record<string, { version: number }>) => delete m['targets.json'], (m: Record<string, { version: number }>) => (m['targets.json']!.version = 1)]) {
        const set = new TrustedMetadataSet(sim.trustedRoot);
        set.updateTimestamp(v2.ts, 'state');
        const snap = structuredClone(sim.snapshot);
        snap.version = 3;
        change(snap.meta);
        const ts = structuredClone(sim.timestamp);
        ts.version = 3;
        ts.meta['snapshot.json'] = { version: 3 };
        set.updateTimestamp(signEnvelope(ts, sim.keys.timestamp));
        set.updateSnapshot(v2.snap, 'state');
        expectCodeSync(() => set.updateSnapshot(signEnvelope(snap, sim.keys.snapshot)), 'E_ROLLBACK');
        expect(set.snapshot!.version).toBe(2);
      }
    });

    it('§5.5.6 refuses an expired snapshot', () => {
      const { sim } = twoVersions();
      const snap = structuredClone(sim.snapshot);
      snap.version = 3;
      snap.expires = '2020-01-01T00:00:00Z';
      const ts = structuredClone(sim.timestamp);
      ts.version = 3;
      ts.meta['snapshot.json'] = { version: 3 };
      const set = new TrustedMetadataSet(sim.trustedRoot);
      set.updateTimestamp(signEnvelope(ts, sim.keys.timestamp));
      expectCodeSync(() => set.updateSnapshot(signEnvelope(snap, sim.keys.snapshot)), 'E_EXPIRED');
      expect(set.snapshot).toBeUndefined();
    });
  });

  describe('§5.6 targets', () => {
    it('§5.6.2/5.6.3/5.6.4/5.6.5 hashes, signatures, version, expiry', () => {
      const { sim, v1, v2 } = twoVersions();
      const fresh = (): TrustedMetadataSet => {
        const set = new TrustedMetadataSet(sim.trustedRoot);
        set.updateTimestamp(v2.ts);
        set.updateSnapshot(v2.snap);
        return set;
      };
      // Other bytes than the snapshot lists: the length differs first here.
      expectCodeSync(() => fresh().updateTargets(v1.targets), 'E_LENGTH');
      expectCodeSync(() => fresh().updateTargets(v1.targets, 'state'), 'E_VERSION_MISMATCH');
      const t = structuredClone(sim.targets.get('targets')!);
      expectCodeSync(() => fresh().updateTargets(signEnvelope(t, [newKey()]), 'state'), 'E_SIG_THRESHOLD');
      t.expires = '2020-01-01T00:00:00Z';
      expectCodeSync(() => fresh().updateTargets(signEnvelope(t, sim.keys.targets), 'state'), 'E_EXPIRED');
      const set = fresh();
      const flipped = Buffer.from(v2.targets);
      flipped[flipped.length - 3]! ^= 1;
      expectCodeSync(() => set.updateTargets(flipped), 'E_HASH');
      expect(set.targets).toBeUndefined();
      expect(set.updateTargets(v2.targets).version).toBe(2);
    });

    it('delegated roles are checked with the delegator\'s keys for them', () => {
      const sim = new RepoSimulator();
      const keys = sim.delegate('targets', { name: 'proj', paths: ['p/*'] });
      sim.addTarget('p/x', 'x', 'proj');
      sim.publish();
      const set = new TrustedMetadataSet(sim.trustedRoot);
      set.updateTimestamp(sim.read('metadata/timestamp.json'));
      set.updateSnapshot(sim.read(sim.snapshotFile()));
      const proj = sim.read(sim.targetsFile('proj'));
      expect(() => set.updateDelegatedTargets(proj, 'proj', 'targets')).toThrow(/not trusted yet/);
      set.updateTargets(sim.read(sim.targetsFile('targets')));
      const forged = signEnvelope(sim.targets.get('proj'), sim.keys.targets);
      expectCodeSync(() => set.updateDelegatedTargets(forged, 'proj', 'targets', 'state'), 'E_SIG_THRESHOLD');
      expectCodeSync(() => set.updateDelegatedTargets(proj, 'other', 'targets'), 'E_DELEGATION');
      expect(set.updateDelegatedTargets(proj, 'proj', 'targets').targets['p/x']).toBeDefined();
      expect(keys).toHaveLength(1);
    });
  });
});
