// TUF attack: indefinite freeze — a host that keeps serving the same metadata is caught
// when that metadata expires, for a client that trusted it before and for a new one.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'vitest';
import { formatExpires } from '../../lib/core/tuf-metadata.js';
import { expectBothRefuse, inArena, TARGET } from '../support/verify-attack.js';

describe('indefinite freeze', () => {
  it('refuses, once it expired, the timestamp it trusted before (across runs)', () =>
    inArena(
      (sim) => {
        // The timestamp both clients trust expires in a few seconds; the host never renews it.
        sim.timestamp.expires = formatExpires(new Date(Date.now() + 5000));
      },
      async (a) => {
        await sleep(Math.max(0, Date.parse(a.sim.timestamp.expires) - Date.now() + 100));
        await expectBothRefuse(a, { target: TARGET, code: 'E_EXPIRED', tuf: /expired/i });
      },
    ));

  it('refuses an expired snapshot listed by a current timestamp', () =>
    inArena(undefined, async (a) => {
      a.sim.snapshot.expires = '2020-01-01T00:00:00Z';
      a.sim.publish();
      await expectBothRefuse(a, { code: 'E_EXPIRED', tuf: /expired/i, stateMayChange: ['timestamp.json'] });
    }));

  it('refuses an expired root', () =>
    inArena(undefined, async (a) => {
      a.sim.rotateRoot((root) => {
        root.expires = '2020-01-01T00:00:00Z';
      });
      a.sim.publish();
      // TUF §5.3.8 persists each newer root before §5.3.10 finds the final one expired.
      await expectBothRefuse(a, { code: 'E_EXPIRED', tuf: /expired/i, stateMayChange: ['root.json'] });
    }));
});
