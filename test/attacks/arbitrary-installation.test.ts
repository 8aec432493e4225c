// TUF attack: arbitrary installation — the host cannot make a client accept files or
// metadata the repository's keys did not sign.
import { describe, it } from 'vitest';
import { newKey, signEnvelope } from '../support/tuf-repo-simulator.js';
import { expectBothRefuse, inArena, TARGET } from '../support/verify-attack.js';

describe('arbitrary installation', () => {
  it('refuses a target whose bytes were replaced', () =>
    inArena(undefined, async (a) => {
      const file = a.sim.targetFile(TARGET);
      const evil = Buffer.from(a.sim.read(file));
      evil.write('EVIL', 0);
      a.sim.write(file, evil);
      await expectBothRefuse(a, { target: TARGET, code: 'E_HASH', tuf: /LengthOrHashMismatch|hash|length/i });
    }));

  it('refuses a targets.json with one byte flipped', () =>
    inArena(undefined, async (a) => {
      a.sim.addTarget('demo/1.1.0/demo.tar.gz', 'the next release');
      a.sim.publish();
      const file = a.sim.targetsFile('targets');
      const bytes = Buffer.from(a.sim.read(file));
      bytes[bytes.length >> 1]! ^= 1;
      a.sim.write(file, bytes);
      await expectBothRefuse(a, { target: TARGET, code: 'E_HASH', tuf: /LengthOrHashMismatch|hash/i, stateMayChange: ['timestamp.json', 'snapshot.json'] });
    }));

  it('refuses metadata signed by keys the root does not trust', () =>
    inArena(undefined, async (a) => {
      const ts = structuredClone(a.sim.timestamp);
      ts.version += 1;
      a.sim.write('metadata/timestamp.json', signEnvelope(ts, [newKey()]));
      await expectBothRefuse(a, { code: 'E_SIG_THRESHOLD', tuf: /Unsigned|signed by \d+\/\d+/ });
    }));

  it('refuses a new root signed only by an attacker', () =>
    inArena(undefined, async (a) => {
      const attacker = newKey();
      const root = structuredClone(a.sim.root);
      root.version = 2;
      root.keys[attacker.keyid] = attacker.key;
      root.roles.root = { keyids: [attacker.keyid], threshold: 1 };
      a.sim.write('metadata/2.root.json', signEnvelope(root, [attacker]));
      await expectBothRefuse(a, { code: 'E_SIG_THRESHOLD', tuf: /Unsigned|signed by \d+\/\d+/ });
    }));
});
