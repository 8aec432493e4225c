// TUF attack: slow retrieval — a host that trickles or stalls is cut by the minimum
// rate and idle timeouts (limits kept short here so the suite stays fast).
import { describe, it } from 'vitest';
import { trickle } from '../support/hostile-http.js';
import { expectBothRefuse, inArena, TARGET } from '../support/verify-attack.js';

describe('slow retrieval', () => {
  it('cuts a timestamp.json trickling below the minimum rate', () =>
    inArena(undefined, async (a) => {
      a.host.override('/metadata/timestamp.json', trickle(50, 2000));
      await expectBothRefuse(a, {
        code: 'E_TIMEOUT',
        args: ['--min-rate', '1000', '--rate-window', '400', '--idle-timeout', '5000'],
        tufConfig: { fetchTimeout: 800 },
        tuf: /timeout|abort/i,
      });
    }));

  it('cuts a target download that stalls', () =>
    inArena(undefined, async (a) => {
      a.host.override(`/${a.sim.targetFile(TARGET)}`, (req, res) => {
        res.writeHead(200, { 'content-length': 40 });
        res.write('the real');
        // … and nothing more, until the client gives up.
      });
      await expectBothRefuse(a, {
        target: TARGET,
        code: 'E_TIMEOUT',
        args: ['--idle-timeout', '400'],
        tufConfig: { fetchTimeout: 800 },
        tuf: /timeout|abort/i,
      });
    }));
});
