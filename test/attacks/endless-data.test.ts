// TUF attack: endless data — a host streaming without end is cut at the named cap (or
// the signed length) while streaming, before anything is parsed.
import { describe, it } from 'vitest';
import { endless } from '../support/hostile-http.js';
import { expectBothRefuse, inArena, TARGET } from '../support/verify-attack.js';

describe('endless data', () => {
  it('cuts an endless timestamp.json at the 16 KiB timestamp cap', () =>
    inArena(undefined, async (a) => {
      a.host.override('/metadata/timestamp.json', endless());
      await expectBothRefuse(a, { code: 'E_TOO_LARGE', tuf: /Max length reached/ });
    }));

  it('cuts an endless N+1.root.json at the 512 KiB root cap', () =>
    inArena(undefined, async (a) => {
      a.host.override('/metadata/2.root.json', endless());
      await expectBothRefuse(a, { code: 'E_TOO_LARGE', tuf: /Max length reached/ });
    }));

  it('cuts an endless snapshot at the length the new timestamp signs', () =>
    inArena(undefined, async (a) => {
      a.sim.publish();
      a.host.override(`/${a.sim.snapshotFile()}`, endless());
      await expectBothRefuse(a, { code: 'E_LENGTH', tuf: /Max length reached/, stateMayChange: ['timestamp.json'] });
    }));

  it('cuts an endless target at its signed length', () =>
    inArena(undefined, async (a) => {
      a.host.override(`/${a.sim.targetFile(TARGET)}`, endless());
      await expectBothRefuse(a, { target: TARGET, code: 'E_LENGTH', tuf: /Max length reached/ });
    }));
});
