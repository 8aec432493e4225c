// A rotation of each online key, published with a cut after every file, while tuf-js and
// airlock-verify poll the host in between: clients holding the old root and clients
// holding the new one are never refused, and all end on the new key (docs/publishing.md
// "Rotating an online key"). The transition's online metadata is co-signed by the
// outgoing and the incoming key, and the new root goes up after timestamp.json.
//
// A client can hold the new root only once a host serves it; with root after timestamp,
// every state from the transition's timestamp on is polled by new-root clients (before
// it, the host serves what the old key alone signed, which nobody holding only the new
// root can have been told to trust).
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../lib/core/digest.js';
import { isAirlockError } from '../../../lib/core/errors.js';
import { applyPublishPlan, planItems, planPublish } from '../../../lib/publish/index.js';
import { DirectoryTransport } from '../../../lib/publish/directory-transport.js';
import { rotateKey } from '../../../lib/repo/rotation.js';
import type { OnlineRole } from '../../../lib/repo/transaction.js';
import { bothClients, refusalOf, type LifecycleClient } from '../../support/lifecycle-clients.js';
import { lifecycleRepo, type LifecycleRepo } from '../../support/lifecycle-repo.js';
import { memorySigner } from '../../support/memory-signer.js';

const repos: LifecycleRepo[] = [];
afterAll(async () => {
  for (const r of repos) await r.cleanup();
});

async function timestampKeyIds(stateDir: string): Promise<string[]> {
  return (JSON.parse(await readFile(join(stateDir, 'timestamp.json'), 'utf8')) as { signatures: { keyid: string }[] }).signatures.map((s) => s.keyid);
}

/** Release 1.0.0, copy it to a host served over HTTP, and two clients on root v1 that have polled it. */
async function releasedAndServed(): Promise<{ repo: LifecycleRepo; host: string; url: string; oldRoot: LifecycleClient[] }> {
  const repo = await lifecycleRepo({ rootKeys: 1, threshold: 1 });
  repos.push(repo);
  await repo.release('1.0.0');
  const host = join(repo.work, 'host');
  await cp(repo.repoDir, host, { recursive: true });
  const { url } = await repo.serve(host);
  const oldRoot = await bothClients(url, await readFile(join(repo.repoDir, 'metadata', '1.root.json')));
  for (const c of oldRoot) await c.refresh();
  return { repo, host, url, oldRoot };
}

/** Publishes the copy to `host` with a cut after every file: each pass uploads one more, then `poll(path)`. Returns the passes. */
async function publishCutAfterEveryFile(repo: LifecycleRepo, host: string, poll: (path: string) => Promise<void>): Promise<number> {
  const transport = await DirectoryTransport.open('cut', host);
  let steps = 0;
  try {
    for (;;) {
      const plan = (await planPublish(repo.repoDir, transport));
      const [next] = await planItems(plan, 1);
      if (!next) break;
      await applyPublishPlan(plan, transport, { failAfter: 1 }).catch((err: unknown) => {
        if (!isAirlockError(err, 'E_PUBLISH_INTERRUPTED')) throw err;
      });
      await poll(next.path);
      steps++;
    }
  } finally {
    await transport.close();
  }
  return steps;
}

describe.each(['timestamp', 'snapshot', 'targets'] as const)('rotating the %s key', (role: OnlineRole) => {
  it('no state of the host is refused by a client holding the old root or the new one; all end on the new key', async () => {
    const { repo, host, url, oldRoot } = await releasedAndServed();

    const fresh = memorySigner(role);
    const result = await rotateKey(repo.repoDir, repo.staging, { role, newKey: fresh, rootSigners: repo.rootKeys, online: { targets: [repo.online.targets], snapshot: [repo.online.snapshot], timestamp: [repo.online.timestamp] }, now: new Date(), expiryDays: repo.expiryDays });
    expect(result.transition).toContain(role);
    const rootV2 = await readFile(join(repo.repoDir, 'metadata', '2.root.json'));
    const newRoot: LifecycleClient[] = await bothClients(url, rootV2);
    const transitionTimestamp = sha256Hex(await readFile(join(repo.repoDir, 'metadata', 'timestamp.json')));

    const poll = async (step: string): Promise<void> => {
      const hostTimestamp = sha256Hex(await readFile(join(host, 'metadata', 'timestamp.json')));
      const clients = hostTimestamp === transitionTimestamp ? [...oldRoot, ...newRoot] : oldRoot;
      for (const c of clients) {
        try {
          await c.refresh();
        } catch (err) {
          throw new Error(`${step}: ${c.name} (${oldRoot.includes(c) ? 'old' : 'new'} root) refused: ${refusalOf(err)} ${(err as Error).message}`);
        }
      }
    };
    const steps = await publishCutAfterEveryFile(repo, host, (path) => poll(`after ${path}`));
    expect(steps).toBeGreaterThanOrEqual(3);
    for (const c of [...oldRoot, ...newRoot]) {
      expect(await c.trustedRootVersion(), c.name).toBe(2);
      expect((await c.download('hello/1.0.0/hello-1.0.0.txt')).toString(), c.name).toBe('hello 1.0.0');
    }
    // The next change is signed by the new key alone, and every client takes it.
    repo.online[role] = fresh as never;
    await repo.release('1.1.0');
    await cp(repo.repoDir, host, { recursive: true });
    for (const c of [...oldRoot, ...newRoot]) {
      expect((await c.download('hello/1.1.0/hello-1.1.0.txt')).toString(), c.name).toBe('hello 1.1.0');
      if (role === 'timestamp' && c.name === 'airlock-verify') expect(await timestampKeyIds(c.stateDir)).toEqual([fresh.keyId]);
    }
  });
});

// When the outgoing key is lost nothing can co-sign, and no order of two files (root,
// timestamp.json) makes the switch atomic: root first, clients take it and refuse the old
// timestamp; timestamp first, clients on the old root refuse the new one. The plan warns
// (lib/terminal/plan-rotation.ts `uncosigned`); this pins the window to exactly one
// state — the new timestamp.json up, the new root not yet — refused only by clients on
// the old root, with a signature refusal (never a wrong release), and every client ends
// on the new key once the publish completes.
describe.each(['timestamp', 'targets'] as const)('rotating the %s key when the outgoing key is lost', (role: OnlineRole) => {
  it('is refused in one state only (new timestamp, root not yet), by old-root clients, and all end on the new key', async () => {
    const { repo, host, url, oldRoot } = await releasedAndServed();

    const fresh = memorySigner(role);
    const online = { targets: [repo.online.targets], snapshot: [repo.online.snapshot], timestamp: [repo.online.timestamp], [role]: [] };
    const result = await rotateKey(repo.repoDir, repo.staging, { role, newKey: fresh, rootSigners: repo.rootKeys, online, now: new Date(), expiryDays: repo.expiryDays });
    expect(result.transition).toEqual([]);
    const newRoot = await bothClients(url, await readFile(join(repo.repoDir, 'metadata', '2.root.json')));

    const refusals: string[] = [];
    await publishCutAfterEveryFile(repo, host, async (path) => {
      const rootUp = await readFile(join(host, 'metadata', '2.root.json')).then(
        () => true,
        () => false,
      );
      // New-root clients can hold root v2 only once a host serves it.
      for (const c of rootUp ? [...oldRoot, ...newRoot] : oldRoot) {
        await c.refresh().catch((err: unknown) => refusals.push(`${path} ${c.name} ${oldRoot.includes(c) ? 'old' : 'new'} ${refusalOf(err)}`));
      }
    });
    expect(refusals).toEqual(['metadata/timestamp.json airlock-verify old signature', 'metadata/timestamp.json tuf-js old signature']);
    for (const c of [...oldRoot, ...newRoot]) {
      expect(await c.trustedRootVersion(), c.name).toBe(2);
      expect((await c.download('hello/1.0.0/hello-1.0.0.txt')).toString(), c.name).toBe('hello 1.0.0');
    }
  });
});
