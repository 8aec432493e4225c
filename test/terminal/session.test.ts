// SigningSession.open (lib/terminal/session.ts): a keystore's software keys are unlocked
// two at a time (scrypt on the thread pool), yet the session hands signers out in the
// plan's order, and a key that cannot be opened leaves none of the others open.
import { afterEach, describe, expect, it } from 'vitest';
import type { KeyRole } from '../../lib/keys/signer.js';
import type { KeyNeed } from '../../lib/terminal/plan.js';
import { SigningSession } from '../../lib/terminal/session.js';
import { expectCode } from '../support/error-codes.js';
import { tempKeystore, testPassphrase, type TempKeystore } from '../support/keys-fixtures.js';

let temp: TempKeystore | undefined;
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
});

/** A keystore of `roles`, each unlock counted: how many run at once, and which signers were closed. */
async function countedKeystore(roles: readonly KeyRole[]) {
  temp = await tempKeystore();
  const { keystore } = temp;
  const needs: KeyNeed[] = [];
  for (const role of roles) {
    const key = await keystore.generate(role, testPassphrase());
    needs.push({ role, keyId: key.keyId, keystore: 'ks', kind: 'software', purpose: `signs ${role}` });
  }
  const seen = { inFlight: 0, most: 0, opened: [] as string[], closed: [] as string[] };
  const unlock = keystore.unlock.bind(keystore);
  keystore.unlock = async (keyId, passphrase, options) => {
    seen.inFlight++;
    seen.most = Math.max(seen.most, seen.inFlight);
    try {
      // A turn of the event loop, as a real scrypt on the thread pool takes, so lanes overlap.
      await new Promise((r) => setTimeout(r, 5));
      const signer = await unlock(keyId, passphrase, options);
      seen.opened.push(keyId);
      const close = signer.close.bind(signer);
      signer.close = async () => {
        seen.closed.push(keyId);
        await close();
      };
      return signer;
    } finally {
      seen.inFlight--;
    }
  };
  return { keystores: new Map([['ks', keystore]]), needs, seen };
}

describe('a signing session unlocks a keystore\'s keys', () => {
  it('two software keys at a time, never more, and hands signers out in the plan\'s order', async () => {
    const roles: KeyRole[] = ['targets', 'targets', 'targets', 'snapshot', 'timestamp', 'pgp'];
    const { keystores, needs, seen } = await countedKeystore(roles);
    const session = await SigningSession.open(needs, async () => testPassphrase(), keystores);
    expect(seen.most).toBe(2);
    expect(session.signers('targets').map((s) => s.keyId)).toEqual(needs.slice(0, 3).map((n) => n.keyId));
    expect(session.signers('pgp').map((s) => s.keyId)).toEqual([needs[5]!.keyId]);
    await session.close();
    expect(seen.closed.sort()).toEqual(needs.map((n) => n.keyId).sort());
  });

  it('one at a time when asked (parallelUnlocks: 1, an import: one scrypt\'s memory at a time)', async () => {
    const { keystores, needs, seen } = await countedKeystore(['targets', 'snapshot', 'timestamp']);
    const session = await SigningSession.open(needs, async () => testPassphrase(), keystores, { parallelUnlocks: 1 });
    expect(seen.most).toBe(1);
    expect(seen.opened).toEqual(needs.map((n) => n.keyId));
    await session.close();
  });

  it('closes every key it opened when one cannot be opened, and throws that key\'s refusal', async () => {
    const { keystores, needs, seen } = await countedKeystore(['targets', 'snapshot', 'timestamp', 'pgp']);
    const missing: KeyNeed = { role: 'minisign', keyId: 'f'.repeat(64), keystore: 'ks', kind: 'software', purpose: 'signs minisign' };
    const all = [...needs.slice(0, 2), missing, ...needs.slice(2)];
    await expectCode(SigningSession.open(all, async () => testPassphrase(), keystores), 'E_KEY_NOT_FOUND');
    expect(seen.inFlight).toBe(0);
    // The two keys before the refusal were opened (and the one beside it in the other lane, maybe): every one is closed.
    expect(seen.opened.length).toBeGreaterThanOrEqual(2);
    expect(seen.closed.sort()).toEqual(seen.opened.sort());
  });
});
