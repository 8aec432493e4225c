// A rotation's new key is written to the keystore only when the rotation goes through:
// the key is made (its public half goes into the new root) but stored by its first
// signature, which the transaction makes after every check. A refused rotation leaves
// the keystore byte-identical — no orphan key, no audit entry — and the copy as it was.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAirlockError } from '../../../lib/core/errors.js';
import { Keystore } from '../../../lib/keys/keystore.js';
import { LocalRepository } from '../../../lib/repo/local-repository.js';
import { rotateKey } from '../../../lib/repo/rotation.js';
import { treeDigest } from '../../support/e2e-cli.js';
import { TEST_ONLY_KDF, testPassphrase } from '../../support/keys-fixtures.js';
import { lifecycleRepo, type LifecycleRepo } from '../../support/lifecycle-repo.js';

const repos: LifecycleRepo[] = [];
afterAll(async () => {
  for (const r of repos) await r.cleanup();
});

describe('a rotation refused after its new key was made', () => {
  it('leaves the keystore byte-identical (no orphan key) and the copy as it was; the same rotation with every key stores the key', async () => {
    const repo = await lifecycleRepo({ rootKeys: 1, threshold: 1 });
    repos.push(repo);
    await repo.release('1.0.0');
    const keystore = await Keystore.create(join(repo.work, 'keystore'), TEST_ONLY_KDF);
    const before = { keystore: await treeDigest(keystore.dir), repo: await treeDigest(repo.repoDir) };

    // Rotating targets re-signs snapshot and timestamp too; without the snapshot key the
    // transaction refuses — after the new key exists in memory, before it signs anything.
    const pass = testPassphrase();
    const fresh = await keystore.prepare('targets', pass);
    const refused = await rotateKey(repo.repoDir, repo.staging, {
      role: 'targets',
      newKey: fresh,
      rootSigners: repo.rootKeys,
      online: { targets: [repo.online.targets], timestamp: [repo.online.timestamp] },
      now: new Date(),
      expiryDays: repo.expiryDays,
    }).catch((err: unknown) => err);
    expect(isAirlockError(refused, 'E_KEY_NOT_FOUND'), String(refused)).toBe(true);
    expect(fresh.stored).toBe(false);
    expect(await treeDigest(keystore.dir)).toEqual(before.keystore);
    expect(await keystore.list()).toEqual([]);
    expect(await treeDigest(repo.repoDir)).toEqual(before.repo);
    await fresh.close();

    const key = await keystore.prepare('targets', pass);
    const result = await rotateKey(repo.repoDir, repo.staging, {
      role: 'targets',
      newKey: key,
      rootSigners: repo.rootKeys,
      online: { targets: [repo.online.targets], snapshot: [repo.online.snapshot], timestamp: [repo.online.timestamp] },
      now: new Date(),
      expiryDays: repo.expiryDays,
    });
    pass.wipe();
    await key.close();
    expect(result.newKeyId).toBe(key.keyId);
    expect((await keystore.list()).map((k) => k.keyId)).toEqual([key.keyId]);
    expect((await new LocalRepository(repo.repoDir).current()).root.signed.roles.targets.keyids).toEqual([key.keyId]);
    // The key's own entry comes before its first signature's; the log verifies.
    const events = (await keystore.audit.entries()).map((e) => e.event);
    expect(events[0]).toBe('key-generate');
    expect(events.slice(1).every((e) => e === 'sign')).toBe(true);
    expect((await keystore.verifyAudit()).ok).toBe(true);
  });
});
