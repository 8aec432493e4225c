// Key rotation by root after a suspected compromise: once clients have the new root,
// metadata signed with the old targets key is refused by both; the same forgery made
// with the new key is accepted (so the refusal is the rotation's doing, not the forgery's).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AirlockError } from '../../../lib/core/errors.js';
import type { Signer } from '../../../lib/keys/signer.js';
import { expiresAt } from '../../../lib/repo/expiry.js';
import { LocalRepository } from '../../../lib/repo/local-repository.js';
import { assertCanRotate, rotateKey } from '../../../lib/repo/rotation.js';
import { envelopeBytes, signMetadata } from '../../../lib/repo/sign-metadata.js';
import { metaFileFor, nextSnapshot, nextTargets, nextTimestamp } from '../../../lib/repo/top-level.js';
import { treeDigest } from '../../support/e2e-cli.js';
import { bothClients, refusalOf, type LifecycleClient } from '../../support/lifecycle-clients.js';
import { lifecycleRepo, plant, type LifecycleRepo } from '../../support/lifecycle-repo.js';
import { memorySigner } from '../../support/memory-signer.js';

const code = (c: string) => (e: unknown) => e instanceof AirlockError && e.code === c;
const EVIL = 'hello/9.9.9/hello-9.9.9.txt';

let repo: LifecycleRepo;
let url: string;
let clients: LifecycleClient[];
let rootV1: Uint8Array;

/**
 * On a copy of the host: a new targets version listing a malicious target, signed by
 * `targetsKey`, with snapshot and timestamp correctly signed over it — the strongest
 * attacker holding that targets key.
 */
async function forgeTargets(targetsKey: Signer): Promise<string> {
  const current = await new LocalRepository(repo.repoDir).current();
  const now = new Date();
  const targets = await signMetadata(nextTargets(current.targets.signed, { [EVIL]: { length: 4, hashes: { sha256: '0'.repeat(64) } } }, expiresAt('targets', now)), [targetsKey]);
  const snapshot = await signMetadata(nextSnapshot(current.snapshot.signed, { 'targets.json': metaFileFor(targets.signed.version, envelopeBytes(targets)) }, expiresAt('snapshot', now)), [repo.online.snapshot]);
  const timestamp = await signMetadata(nextTimestamp(current.timestamp.signed, metaFileFor(snapshot.signed.version, envelopeBytes(snapshot)), expiresAt('timestamp', now)), [repo.online.timestamp]);
  const host = await repo.hostCopy();
  await plant(host, `metadata/${targets.signed.version}.targets.json`, targets);
  await plant(host, `metadata/${snapshot.signed.version}.snapshot.json`, snapshot);
  await plant(host, 'metadata/timestamp.json', timestamp);
  return (await repo.serve(host)).url;
}

/** The forged target as a client pinned to 1.root.json sees it on `hostUrl`: listed, or refused with a kind. */
async function seeForgery(hostUrl: string, name: LifecycleClient['name']): Promise<string> {
  const client = (await bothClients(hostUrl, rootV1)).find((c) => c.name === name)!;
  try {
    return (await client.lists(EVIL)) ? 'accepted' : 'not listed';
  } catch (err) {
    return refusalOf(err);
  }
}

beforeAll(async () => {
  repo = await lifecycleRepo({ rootKeys: 2, threshold: 2 });
  await repo.release('1.0.0');
  url = (await repo.serve(repo.repoDir)).url;
  rootV1 = await readFile(join(repo.repoDir, 'metadata', '1.root.json'));
  clients = await bothClients(url, rootV1);
  for (const c of clients) await c.refresh();
});

afterAll(async () => {
  await repo?.cleanup();
});

describe('airlock key rotate targets', () => {
  const oldTargets = () => repo.online.targets;
  let compromised: Signer;

  it('is refused without the root threshold at hand, before anything is generated or written', async () => {
    await expect(assertCanRotate(repo.repoDir, [repo.rootKeys[0]!])).rejects.toSatisfy(code('E_ROOT_THRESHOLD'));
    const tree = await treeDigest(repo.repoDir);
    await expect(
      rotateKey(repo.repoDir, repo.staging, { role: 'targets', newKey: memorySigner('targets'), rootSigners: [repo.rootKeys[1]!], online: { snapshot: [repo.online.snapshot], timestamp: [repo.online.timestamp] }, now: new Date(), expiryDays: repo.expiryDays }),
    ).rejects.toSatisfy(code('E_ROOT_THRESHOLD'));
    expect(await treeDigest(repo.repoDir)).toEqual(tree);
  });

  it('before the rotation, a forgery with the targets key is accepted (what the rotation must stop)', async () => {
    const hostUrl = await forgeTargets(oldTargets());
    for (const c of clients) expect(await seeForgery(hostUrl, c.name), c.name).toBe('accepted');
  });

  it('makes root v2 list only the new key and re-signs targets, snapshot and timestamp', async () => {
    compromised = oldTargets();
    const fresh = memorySigner('targets');
    await assertCanRotate(repo.repoDir, repo.rootKeys);
    const result = await rotateKey(repo.repoDir, repo.staging, {
      role: 'targets',
      newKey: fresh,
      rootSigners: repo.rootKeys,
      online: { snapshot: [repo.online.snapshot], timestamp: [repo.online.timestamp] },
      now: new Date(),
      expiryDays: repo.expiryDays,
    });
    expect(result).toMatchObject({ version: 2, role: 'targets', oldKeyIds: [compromised.keyId], newKeyId: fresh.keyId });
    expect(Object.keys(result.resigned).sort()).toEqual(['snapshot', 'targets', 'timestamp']);
    const current = await new LocalRepository(repo.repoDir).current();
    expect(current.root.signed.roles.targets).toEqual({ keyids: [fresh.keyId], threshold: 1 });
    expect(current.targets.signatures.map((s) => s.keyid)).toEqual([fresh.keyId]);
    repo.online.targets = fresh;
    for (const c of clients) {
      expect((await c.download('hello/1.0.0/hello-1.0.0.txt')).toString(), c.name).toBe('hello 1.0.0');
      expect(await c.trustedRootVersion(), c.name).toBe(2);
    }
  });

  it('after the rotation, metadata signed with the old targets key is refused by both clients', async () => {
    const hostUrl = await forgeTargets(compromised);
    for (const c of clients) expect(await seeForgery(hostUrl, c.name), c.name).toBe('signature');
    // Control: the same forgery with the key root now trusts is accepted.
    const controlUrl = await forgeTargets(repo.online.targets);
    for (const c of clients) expect(await seeForgery(controlUrl, c.name), c.name).toBe('accepted');
  });

  it('the terminal refuses to release with the old key', async () => {
    const stale = { ...repo.online, targets: compromised as typeof repo.online.targets };
    const saved = repo.online;
    repo.online = stale;
    try {
      await expect(repo.release('1.1.0')).rejects.toSatisfy(code('E_KEY_ROLE'));
    } finally {
      repo.online = saved;
    }
  });
});

describe('airlock key rotate timestamp', () => {
  it('clients follow the rotation and keep updating', async () => {
    const fresh = memorySigner('timestamp');
    const result = await rotateKey(repo.repoDir, repo.staging, {
      role: 'timestamp',
      newKey: fresh,
      rootSigners: repo.rootKeys,
      online: { targets: [repo.online.targets], snapshot: [repo.online.snapshot] },
      now: new Date(),
      expiryDays: repo.expiryDays,
    });
    expect(Object.keys(result.resigned)).toEqual(['timestamp']);
    repo.online.timestamp = fresh;
    await repo.release('2.0.0');
    for (const c of clients) {
      expect((await c.download('hello/2.0.0/hello-2.0.0.txt')).toString(), c.name).toBe('hello 2.0.0');
      expect(await c.trustedRootVersion(), c.name).toBe(3);
    }
  });
});
