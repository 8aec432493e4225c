// TUF attack: wrong software installation — the host cannot hand a client another file
// (even one the repository signed) than the target it asked for, nor let a role that
// the delegation order rules out speak for a path.
import { describe, it } from 'vitest';
import { expectBothRefuse, inArena } from '../support/verify-attack.js';

describe('wrong software installation', () => {
  it('refuses another signed target served under the requested name', () =>
    inArena(
      (sim) => {
        sim.addTarget('demo/1.0.0/app.bin', 'application version 1');
        sim.addTarget('demo/2.0.0/app.bin', 'application version 2');
      },
      async (a) => {
        // Same length, other bytes: only the hash tells them apart.
        a.sim.write(a.sim.targetFile('demo/2.0.0/app.bin'), a.sim.read(a.sim.targetFile('demo/1.0.0/app.bin')));
        await expectBothRefuse(a, { target: 'demo/2.0.0/app.bin', code: 'E_HASH', tuf: /hash/i });
      },
    ));

  it('does not take a target from a role behind a terminating delegation', () =>
    inArena(
      (sim) => {
        sim.delegate('targets', { name: 'app-team', paths: ['app/*/*'], terminating: true });
        sim.delegate('targets', { name: 'everyone', paths: ['*/*/*'] });
        sim.addTarget('app/1.0/app.bin', 'official', 'app-team');
        sim.addTarget('app/2.0/app.bin', 'not from the app team', 'everyone');
      },
      async (a) => {
        // The search legitimately fetches app-team's metadata, which does not list the path.
        await expectBothRefuse(a, { target: 'app/2.0/app.bin', code: 'E_TARGET_UNKNOWN', stateMayChange: ['app-team.json'] });
      },
    ));
});
