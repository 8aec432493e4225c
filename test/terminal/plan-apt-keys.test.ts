// Across a pgp key change the plan names the earlier key as an apt co-signer from public
// information alone: the keystore's listing (fingerprints from public keys) and the
// Signed-By of the copy's Releases. A co-signer in a token that is not in a slot refuses
// the plan before anything runs (E_TOKEN_ABSENT); an earlier key the keystore lost is a
// WARNING line (its apt users break), not a silent drop; a retired key is gone.
import { describe, expect, it } from 'vitest';
import { toHex } from '../../lib/core/hex.js';
import type { KeyInfo } from '../../lib/keys/keystore.js';
import { describeAptKeyTransition } from '../../lib/repo/compat/apt-key-transition.js';
import { openpgpFingerprint } from '../../lib/repo/compat/openpgp-sign.js';
import { refuseAbsentTokens, type KeystoreListing } from '../../lib/terminal/plan.js';
import { aptSignersOf, planAptKeys } from '../../lib/terminal/plan-apt-keys.js';
import { codeOf } from '../support/error-codes.js';
import { memorySigner } from '../support/memory-signer.js';

const oldKey = memorySigner('pgp', new Date('2026-01-01T00:00:00Z'));
const newKey = memorySigner('pgp', new Date('2026-03-01T00:00:00Z'));
const OLD = openpgpFingerprint(oldKey);
const NEW = openpgpFingerprint(newKey);

function info(s: typeof oldKey, kind: KeyInfo['kind']): KeyInfo {
  return { keyId: s.keyId, role: 'pgp', keyType: s.keyType, publicKey: toHex(s.publicKey), createdAt: s.createdAt.toISOString(), kind, file: `/ks/${s.keyId}.json` };
}

describe('planAptKeys', () => {
  const listing: KeystoreListing = { dir: '/ks', keys: [info(oldKey, 'software'), info(newKey, 'software')] };

  it('names the earlier key the Release lists as a co-signer, and the session hands the keys back current first', () => {
    const { transition, keys } = planAptKeys(listing, newKey.keyId, [OLD], []);
    expect(keys.map((k) => k.keyId)).toEqual([oldKey.keyId]);
    expect(transition).toMatchObject({ current: NEW, cosigners: [OLD], cosignerKeyIds: [oldKey.keyId], missing: [], retiring: [] });
    expect(describeAptKeyTransition(transition!)[0]).toMatch(new RegExp(`^apt: the earlier pgp key ${OLD} co-signs`));
    expect(aptSignersOf([oldKey, newKey], transition).map((s) => s.keyId)).toEqual([newKey.keyId, oldKey.keyId]);
    expect(aptSignersOf([newKey], undefined).map((s) => s.keyId)).toEqual([newKey.keyId]);
  });

  it('no change, or a retired key: nothing to co-sign', () => {
    expect(planAptKeys(listing, newKey.keyId, [NEW], [])).toEqual({ keys: [] });
    const retired = planAptKeys(listing, newKey.keyId, [NEW, OLD], [OLD]);
    expect(retired.keys).toEqual([]);
    expect(retired.transition).toMatchObject({ cosigners: [], retiring: [OLD] });
  });

  it('an earlier key the keystore does not hold is a WARNING: its apt users break', () => {
    const { transition, keys } = planAptKeys({ dir: '/ks', keys: [info(newKey, 'software')] }, newKey.keyId, [OLD], []);
    expect(keys).toEqual([]);
    expect(transition).toMatchObject({ cosigners: [], missing: [OLD] });
    expect(describeAptKeyTransition(transition!)).toEqual([expect.stringMatching(new RegExp(`^WARNING apt: apt users pinning the earlier pgp key ${OLD} will fail`))]);
  });

  it('a co-signer in a token that is not in a slot refuses the plan (E_TOKEN_ABSENT)', async () => {
    const tokens: KeystoreListing = { dir: '/ks', keys: [info(oldKey, 'pkcs11'), info(newKey, 'software')], tokens: [{ keyId: oldKey.keyId, present: false, code: 'E_TOKEN_ABSENT', message: 'no token labelled old' }] };
    const { keys } = planAptKeys(tokens, newKey.keyId, [OLD], []);
    expect(keys).toEqual([expect.objectContaining({ keyId: oldKey.keyId, kind: 'pkcs11' })]);
    expect(await codeOf(() => refuseAbsentTokens(keys, [tokens]))).toBe('E_TOKEN_ABSENT');
  });
});
