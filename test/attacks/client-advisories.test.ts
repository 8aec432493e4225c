// The TUF client advisories of 2025–2026, each replayed against airlock-verify (the
// built bundle, with its --state) and tuf-js: every attack refused, airlock-verify's
// trusted state unchanged, no file (partial or not) under the output name. Where
// tuf-js 5.0.1 is itself vulnerable, the test says so and asserts airlock-verify only.
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tufKeyId } from '../../lib/core/tuf-key.js';
import type { TargetsSigned } from '../../lib/core/tuf-metadata.js';
import { stateFileName } from '../../lib/verify/role-file-name.js';
import { newKey, sha256, signEnvelope, type RepoSimulator, type SimKey } from '../support/tuf-repo-simulator.js';
import { snapshotDir } from '../support/verify-clients.js';
import { expectBothRefuse, inArena, tempDir, type Arena } from '../support/verify-attack.js';

const APP = 'team/app-2.0.tar.gz';
const MALWARE = 'malware with the real name';

/** A delegation "team" (paths team/*) with `keys`, holding APP. */
function teamDelegation(keys: SimKey[], threshold: number) {
  return (sim: RepoSimulator): void => {
    sim.delegate('targets', { name: 'team', paths: ['team/*'], threshold }, keys);
    sim.addTarget(APP, 'the real app', 'team');
  };
}

/** airlock-verify refuses and keeps its state; tuf-js is known to accept (said in `why`). */
async function expectAirlockRefuses(a: Arena, target: string | undefined, code: string, stateMayChange: string[] = []): Promise<void> {
  const before = snapshotDir(a.state);
  const out = tempDir('airlock-attack-out-');
  const r = await a.airlock(target === undefined ? ['refresh'] : ['download', target, '--out-dir', out]);
  expect(r.code, r.stderr).toBe(1);
  expect(r.errorCode, r.stderr).toBe(code);
  const after = snapshotDir(a.state);
  for (const f of stateMayChange) {
    delete before[f];
    delete after[f];
  }
  expect(after).toEqual(before);
  expect(readdirSync(out)).toEqual([]);
}

/** Both clients fetch `target` once while the host is honest, so the delegated roles are trusted. */
async function trustDelegations(a: Arena, target: string): Promise<void> {
  const r = await a.airlock(['download', target, '--out-dir', tempDir()]);
  expect(r.code, r.stderr).toBe(0);
  await a.tuf.fetch(target);
}

/** A new version of a delegated role, as the holder of `signers` makes it, listing `path` → `bytes`. */
function republishRole(sim: RepoSimulator, role: string, signers: SimKey[], change: (t: TargetsSigned) => void): void {
  sim.signers[role] = signers;
  change(sim.targets.get(role)!);
  sim.dirty.add(role);
  sim.publish();
}

describe('CVE-2026-6966 (go-tuf PR 733): a threshold met by one key counted twice', () => {
  it('refuses a delegated role whose threshold of 2 is met by one signature given twice', () => {
    const [k1, k2] = [newKey(), newKey()];
    return inArena(teamDelegation([k1!, k2!], 2), async (a) => {
      await trustDelegations(a, APP);
      republishRole(a.sim, 'team', [k1!, k1!], (t) => {
        t.targets[APP] = { length: MALWARE.length, hashes: { sha256: sha256(MALWARE) } };
      });
      a.sim.write(`targets/team/${sha256(MALWARE)}.app-2.0.tar.gz`, MALWARE);
      // A key id signing twice is refused as malformed metadata (as python-tuf does) before
      // any threshold is counted; counting distinct keys would refuse it all the same.
      await expectBothRefuse(a, { target: APP, code: ['E_METADATA_INVALID', 'E_SIG_THRESHOLD'], stateMayChange: ['timestamp.json', 'snapshot.json'] });
    });
  });

  it('refuses a delegated role whose threshold of 2 is met by one key listed under two key ids', () => {
    const k1 = newKey();
    // The same public key under a second key id (ids are never recomputed: the metadata's word stands).
    const alias: SimKey = { ...k1, keyid: sha256(`alias of ${k1.keyid}`) };
    return inArena(teamDelegation([k1, alias], 2), async (a) => {
      expect(tufKeyId(alias.key)).toBe(k1.keyid);
      const r = await a.airlock(['download', APP, '--out-dir', tempDir()]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.errorCode).toBe('E_SIG_THRESHOLD');
      // tuf-js 5.0.1 counts key ids, not keys, and accepts this file (the advisory's bug):
      // airlock-verify alone is asserted.
      expect(await a.tuf.lists(APP)).toBe(true);
    });
  });
});

describe('CVE-2026-23992: a threshold of 0 or below turns signature checks off', () => {
  for (const threshold of [0, -1]) {
    it(`refuses a root that gives the targets role threshold ${threshold}`, () =>
      inArena(undefined, async (a) => {
        a.sim.rotateRoot((root) => {
          root.roles.targets.threshold = threshold;
        });
        // Targets signed by nobody: only a threshold of 0 would let it through.
        a.sim.signers.targets = [];
        a.sim.addTarget('demo/evil.tar.gz', MALWARE);
        a.sim.publish();
        await expectBothRefuse(a, { target: 'demo/evil.tar.gz', code: 'E_METADATA_INVALID' });
      }));

    it(`refuses a delegation with threshold ${threshold}`, () =>
      inArena(undefined, async (a) => {
        a.sim.delegate('targets', { name: 'team', paths: ['team/*'], threshold }, [newKey()]);
        a.sim.signers.team = [];
        a.sim.addTarget(APP, MALWARE, 'team');
        a.sim.publish();
        await expectBothRefuse(a, { target: APP, code: 'E_METADATA_INVALID', stateMayChange: ['timestamp.json', 'snapshot.json'] });
      }));
  }
});

describe('GHSA-j8x2-777p-23fc: a delegation cycle A → B → A', () => {
  it('ends the search (E_TARGET_UNKNOWN) instead of looping', () =>
    inArena(
      (sim) => {
        sim.delegate('targets', { name: 'A', paths: ['team/*'] });
        sim.delegate('A', { name: 'B', paths: ['team/*'] });
        const aKeys = sim.delegatedKeys.get('A')!;
        const b = sim.targets.get('B')!;
        b.delegations = { keys: { [aKeys[0]!.keyid]: aKeys[0]!.key }, roles: [{ name: 'A', keyids: [aKeys[0]!.keyid], threshold: 1, terminating: false, paths: ['team/*'] }] };
      },
      async (a) => {
        const started = performance.now();
        await expectBothRefuse(a, { target: APP, code: 'E_TARGET_UNKNOWN', stateMayChange: ['A.json', 'B.json'] });
        expect(performance.now() - started).toBeLessThan(15_000);
      },
    ));
});

describe('CVE-2025-2886: a terminating delegation ends the search even when it lacks the target', () => {
  it('does not go on to a later delegation that lists the target', () =>
    inArena(
      (sim) => {
        // "release" is trusted for team/* and terminating: it alone speaks for team/*.
        sim.delegate('targets', { name: 'release', paths: ['team/*'], terminating: true });
        sim.addTarget('team/other.tar.gz', 'another release', 'release');
        // "mirror-bot" comes after it, with a key the attacker holds.
        sim.delegate('targets', { name: 'mirror-bot', paths: ['team/*'] });
        sim.addTarget(APP, MALWARE, 'mirror-bot');
      },
      async (a) => {
        await expectBothRefuse(a, { target: APP, code: 'E_TARGET_UNKNOWN', stateMayChange: [stateFileName('release')] });
      },
    ));
});

describe('CVE-2025-2885: root N+2 served right after N', () => {
  it('refuses version 3 served as the next root of a client at version 1', () =>
    inArena(undefined, async (a) => {
      a.sim.rotateRoot();
      const three = a.sim.rotateRoot();
      a.sim.publish();
      a.sim.write('metadata/2.root.json', three);
      await expectBothRefuse(a, { code: 'E_VERSION_MISMATCH', tuf: /version/i });
    }));
});

describe('CVE-2025-2887: a delegated role rolled back by a newer snapshot', () => {
  it('refuses a snapshot that lists an older version of a trusted delegated role', () =>
    inArena(teamDelegation([newKey()], 1), async (a) => {
      const v1 = a.sim.read(a.sim.targetsFile('team'));
      a.sim.addTarget('team/app-2.1.tar.gz', 'the fixed app', 'team');
      a.sim.publish();
      await trustDelegations(a, 'team/app-2.1.tar.gz');
      // A newer snapshot (the attacker holds the snapshot key) lists team.json v1 again.
      a.sim.targets.get('team')!.version = 1;
      a.sim.write(a.sim.targetsFile('team'), v1);
      a.sim.publish();
      await expectBothRefuse(a, { target: APP, code: 'E_ROLLBACK', tuf: /version/i, stateMayChange: ['timestamp.json'] });
    }));
});

describe('CVE-2025-2888: a refused timestamp never reaches the trusted state', () => {
  it('keeps the trusted timestamp when the new one has expired', () =>
    inArena(undefined, async (a) => {
      const ts = structuredClone(a.sim.timestamp);
      ts.version += 1;
      ts.expires = '2020-01-01T00:00:00Z';
      a.sim.write('metadata/timestamp.json', signEnvelope(ts, a.sim.keys.timestamp));
      await expectBothRefuse(a, { code: 'E_EXPIRED', tuf: /expired/i });
    }));

  it('keeps the trusted timestamp when the new one is signed by the wrong key', () =>
    inArena(undefined, async (a) => {
      const ts = structuredClone(a.sim.timestamp);
      ts.version += 1;
      a.sim.write('metadata/timestamp.json', signEnvelope(ts, [newKey()]));
      await expectBothRefuse(a, { code: 'E_SIG_THRESHOLD' });
    }));
});

describe('CVE-2026-6967: delegated roles checked like top-level ones', () => {
  it('refuses an expired delegated role', () =>
    inArena(teamDelegation([newKey()], 1), async (a) => {
      a.sim.targets.get('team')!.expires = '2020-01-01T00:00:00Z';
      a.sim.dirty.add('team');
      a.sim.publish();
      await expectBothRefuse(a, { target: APP, code: 'E_EXPIRED', tuf: /expired/i, stateMayChange: ['timestamp.json', 'snapshot.json'] });
    }));

  it('refuses a delegated role whose length disagrees with the snapshot', () =>
    inArena(teamDelegation([newKey()], 1), async (a) => {
      const file = a.sim.targetsFile('team');
      a.sim.write(file, Buffer.concat([a.sim.read(file), Buffer.from('\n   ')]));
      await expectBothRefuse(a, { target: APP, code: 'E_LENGTH' });
    }));

  it('refuses a delegated role whose hash disagrees with the snapshot', () =>
    inArena(teamDelegation([newKey()], 1), async (a) => {
      const file = a.sim.targetsFile('team');
      const bytes = Buffer.from(a.sim.read(file));
      // Same length, one byte of whitespace changed: still signed JSON, another hash.
      const at = bytes.indexOf('\n');
      bytes[at] = 0x20;
      a.sim.write(file, bytes);
      await expectBothRefuse(a, { target: APP, code: 'E_HASH' });
    }));
});

describe('CVE-2021-41131, CVE-2026-24686: role names built to escape the state directory', () => {
  const NAMES = ['../../../escaped', '/tmp/escaped', '..\\..\\escaped', 'a/b/../../escaped-too'];

  it('keeps every such role inside --state under its quoted name', () =>
    inArena(
      (sim) => {
        NAMES.forEach((name, i) => {
          sim.delegate('targets', { name, paths: [`r${i}/*`] });
          sim.addTarget(`r${i}/app`, `app ${i}`, name);
        });
      },
      async (a) => {
        const parent = dirname(a.state);
        const beside = readdirSync(parent);
        const out = tempDir();
        for (const [i] of NAMES.entries()) {
          const r = await a.airlock(['download', `r${i}/app`, '--out-dir', out]);
          expect(r.code, r.stderr).toBe(0);
        }
        expect(readdirSync(parent), 'nothing written beside the state directory').toEqual(beside);
        for (const name of NAMES) expect(readdirSync(a.state)).toContain(stateFileName(name));
        expect(readdirSync(a.state).every((f) => !f.includes('/'))).toBe(true);
      },
    ));

  it('refuses such a role signed by a key its delegator did not name, writing nothing', () =>
    inArena(
      (sim) => {
        sim.delegate('targets', { name: '../../../escaped', paths: ['team/*'] });
        sim.addTarget(APP, 'the real app', '../../../escaped');
      },
      async (a) => {
        republishRole(a.sim, '../../../escaped', [newKey()], (t) => {
          t.targets[APP] = { length: MALWARE.length, hashes: { sha256: sha256(MALWARE) } };
        });
        const parent = dirname(a.state);
        const beside = readdirSync(parent);
        await expectBothRefuse(a, { target: APP, code: 'E_SIG_THRESHOLD', stateMayChange: ['timestamp.json', 'snapshot.json'] });
        expect(readdirSync(parent)).toEqual(beside);
      },
    ));
});

describe('GHSA-qp9x-wp8f-qgjj: path patterns are case-sensitive', () => {
  it('does not let a role trusted for DEMO/* speak for demo/*', () =>
    inArena(
      (sim) => {
        sim.delegate('targets', { name: 'upper', paths: ['TEAM/*'] });
        sim.addTarget(APP, MALWARE, 'upper');
      },
      async (a) => {
        await expectBothRefuse(a, { target: APP, code: 'E_TARGET_UNKNOWN' });
      },
    ));
});
