// planRotation and planRootPublish say which online roles' transition is co-signed: only
// when the outgoing keys at hand meet the OLD root's threshold (fewer would not count for
// a client still on it), never a key whose token is not here. Otherwise the role is
// `uncosigned` and the plan carries the loud warning the CLI prints (docs/publishing.md).
import { afterAll, describe, expect, it } from 'vitest';
import type { KeyInfo } from '../../lib/keys/keystore.js';
import { LocalRepository, type SignedState } from '../../lib/repo/local-repository.js';
import { planRootPublish, planRotation } from '../../lib/terminal/plan-rotation.js';
import type { KeystoreListing } from '../../lib/terminal/plan.js';
import { lifecycleRepo, type LifecycleRepo } from '../support/lifecycle-repo.js';
import { memorySigner } from '../support/memory-signer.js';
import { proposeRoot, signRootProposal } from '../../lib/repo/root-ceremony.js';

const repos: LifecycleRepo[] = [];
afterAll(async () => {
  for (const r of repos) await r.cleanup();
});

const info = (s: { keyId: string; role: KeyInfo['role'] }, kind: KeyInfo['kind'] = 'software'): KeyInfo => ({ keyId: s.keyId, role: s.role, keyType: 'ed25519', publicKey: '', createdAt: '2026-01-01T00:00:00Z', kind, file: `/ks/${s.keyId}.key` });

describe('the transition a rotation plan names', () => {
  it('is co-signed only when the outgoing keys at hand meet the old threshold and their tokens are here', async () => {
    const repo = await lifecycleRepo({ rootKeys: 1, threshold: 1 });
    repos.push(repo);
    const state = await new LocalRepository(repo.repoDir).signedState();
    const { root, targets, snapshot, timestamp } = { root: repo.rootKeys[0]!, ...repo.online };
    const listing = (keys: KeyInfo[], tokens?: KeystoreListing['tokens']): KeystoreListing => ({ dir: '/ks', keys, ...(tokens ? { tokens } : {}) });
    const base = [info(root), info(targets), info(snapshot)];

    const held = planRotation({ state, role: 'timestamp', keystore: listing([...base, info(timestamp)]), rootKeystores: [], hosts: [] });
    expect(held).toMatchObject({ transition: ['timestamp'], uncosigned: [], warnings: [] });
    expect(held.keys.map((k) => k.keyId)).toContain(timestamp.keyId);

    const lost = planRotation({ state, role: 'timestamp', keystore: listing(base), rootKeystores: [], hosts: [] });
    expect(lost).toMatchObject({ transition: [], uncosigned: ['timestamp'] });
    expect(lost.warnings).toHaveLength(1);

    const onAbsentToken = planRotation({ state, role: 'timestamp', keystore: listing([...base, info(timestamp, 'pkcs11')], [{ keyId: timestamp.keyId, present: false, code: 'E_TOKEN_ABSENT', message: 'not here' }]), rootKeystores: [], hosts: [] });
    expect(onAbsentToken).toMatchObject({ transition: [], uncosigned: ['timestamp'] });
    expect(onAbsentToken.keys.map((k) => k.keyId)).not.toContain(timestamp.keyId);

    // Root v1 wants 2 timestamp signatures; one outgoing key at hand does not count for it.
    const second = memorySigner('timestamp');
    const twoOfTwo: SignedState = { ...state, root: { ...state.root, signed: { ...state.root.signed, keys: { ...state.root.signed.keys, [second.keyId]: second.tufKey }, roles: { ...state.root.signed.roles, timestamp: { keyids: [timestamp.keyId, second.keyId], threshold: 2 } } } } };
    const short = planRotation({ state: twoOfTwo, role: 'timestamp', keystore: listing([...base, info(timestamp)]), rootKeystores: [], hosts: [] });
    expect(short).toMatchObject({ transition: [], uncosigned: ['timestamp'] });
    expect(short.keys.map((k) => k.keyId)).not.toContain(timestamp.keyId);
  });

  it('root publish: a proposal replacing the snapshot key is uncosigned without the outgoing key, co-signed with it', async () => {
    const repo = await lifecycleRepo({ rootKeys: 1, threshold: 1 });
    repos.push(repo);
    const state = await new LocalRepository(repo.repoDir).signedState();
    const incoming = memorySigner('snapshot');
    const now = new Date();
    const next = proposeRoot(state.root.signed, { replace: { snapshot: [incoming.tufKey] }, expires: new Date(now.getTime() + 86_400_000 * 300).toISOString().replace(/\.\d{3}Z$/, 'Z') });
    const { proposal } = await signRootProposal(state.root.signed, { signatures: [], signed: next }, repo.rootKeys, now);
    const keys = [info(repo.online.timestamp), info(incoming)];
    const without = planRootPublish({ state, proposal, keystore: { dir: '/ks', keys }, hosts: [], now });
    expect(without).toMatchObject({ transition: [], uncosigned: ['snapshot'] });
    expect(without.warnings).toHaveLength(1);
    const withOld = planRootPublish({ state, proposal, keystore: { dir: '/ks', keys: [...keys, info(repo.online.snapshot)] }, hosts: [], now });
    expect(withOld).toMatchObject({ transition: ['snapshot'], uncosigned: [], warnings: [] });
  });
});
