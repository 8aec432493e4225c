// TUF attack: key compromise below threshold — an attacker holding fewer keys than a
// role's threshold cannot sign anything clients accept.
import { describe, it } from 'vitest';
import { newKey, signEnvelope } from '../support/tuf-repo-simulator.js';
import { expectBothRefuse, inArena } from '../support/verify-attack.js';

describe('key compromise below threshold', () => {
  it('refuses a new root signed with one of the two root keys needed', () =>
    inArena(
      undefined,
      async (a) => {
        const attacker = newKey();
        const root = structuredClone(a.sim.root);
        root.version = 2;
        root.keys[attacker.keyid] = attacker.key;
        root.roles.root = { keyids: [attacker.keyid], threshold: 1 };
        root.roles.targets = { keyids: [attacker.keyid], threshold: 1 };
        a.sim.write('metadata/2.root.json', signEnvelope(root, [a.sim.keys.root[0]!, attacker]));
        await expectBothRefuse(a, { code: 'E_SIG_THRESHOLD', tuf: /Unsigned|signed by 1\/2/ });
      },
      { rootKeys: 3, rootThreshold: 2 },
    ));

  it('refuses a timestamp signed with one of its two required keys', () =>
    inArena(
      (sim) => {
        sim.rotateKeys('timestamp', 2, 2);
      },
      async (a) => {
        const ts = structuredClone(a.sim.timestamp);
        ts.version += 1;
        a.sim.write('metadata/timestamp.json', signEnvelope(ts, [a.sim.keys.timestamp[0]!]));
        await expectBothRefuse(a, { code: 'E_SIG_THRESHOLD', tuf: /Unsigned|signed by 1\/2/ });
      },
    ));

  it('counts one key once, however many signatures it made', () =>
    inArena(
      (sim) => {
        sim.rotateKeys('timestamp', 2, 2);
      },
      async (a) => {
        const ts = structuredClone(a.sim.timestamp);
        ts.version += 1;
        const one = a.sim.keys.timestamp[0]!;
        const env = JSON.parse(Buffer.from(signEnvelope(ts, [one])).toString());
        // The same signature under the other key's id: it cannot verify as that key.
        env.signatures.push({ keyid: a.sim.keys.timestamp[1]!.keyid, sig: env.signatures[0].sig });
        a.sim.write('metadata/timestamp.json', JSON.stringify(env));
        await expectBothRefuse(a, { code: 'E_SIG_THRESHOLD', tuf: /Unsigned|signed by 1\/2/ });
      },
    ));
});
