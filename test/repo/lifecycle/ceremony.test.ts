// The root signing ceremony: roots 1 → 2 → 3 → 4 with changing keys and thresholds are
// followed by both clients holding only 1.root.json; a root signed by only one of the
// two thresholds (TUF §5.3.4) is refused by `root publish` and, planted on the host by
// hand, by both clients.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AirlockError } from '../../../lib/core/errors.js';
import type { Envelope, RootSigned } from '../../../lib/core/tuf-metadata.js';
import { expiresAt } from '../../../lib/repo/expiry.js';
import { LocalRepository } from '../../../lib/repo/local-repository.js';
import {
  diffRoots,
  mergeRootProposals,
  proposeRoot,
  publishRoot,
  readRootProposal,
  rootSignatureStatus,
  signRootProposal,
  writeRootProposal,
} from '../../../lib/repo/root-ceremony.js';
import { treeDigest } from '../../support/e2e-cli.js';
import { bothClients, refused, type LifecycleClient } from '../../support/lifecycle-clients.js';
import { lifecycleRepo, plant, type LifecycleRepo } from '../../support/lifecycle-repo.js';
import { memorySigner, type MemorySigner } from '../../support/memory-signer.js';

const code = (c: string) => (e: unknown) => e instanceof AirlockError && e.code === c;

let repo: LifecycleRepo;
let url: string;
let rootV1: Uint8Array;
/** Clients pinned to v1 that refresh after every rotation. */
let following: LifecycleClient[];
const now = () => new Date();

async function currentRoot(): Promise<RootSigned> {
  return (await new LocalRepository(repo.repoDir).current()).root.signed;
}

async function signBy(proposal: RootSigned, signers: readonly MemorySigner[]): Promise<Envelope<RootSigned>> {
  const previous = (await new LocalRepository(repo.repoDir).readRoot(proposal.version - 1)).signed;
  let env: Envelope<RootSigned> = { signatures: [], signed: proposal };
  // One holder at a time, as in the ceremony.
  for (const s of signers) env = (await signRootProposal(previous, env, [s], now())).proposal;
  return env;
}

beforeAll(async () => {
  repo = await lifecycleRepo({ rootKeys: 3, threshold: 2 });
  await repo.release('1.0.0');
  url = (await repo.serve(repo.repoDir)).url;
  rootV1 = await readFile(join(repo.repoDir, 'metadata', '1.root.json'));
  following = await bothClients(url, rootV1);
  for (const c of following) expect((await c.download('hello/1.0.0/hello-1.0.0.txt')).toString()).toBe('hello 1.0.0');
});

afterAll(async () => {
  await repo?.cleanup();
});

describe('roots 1 → 2 → 3 → 4 with changing keys and thresholds', () => {
  const [r1, r2, r3] = [0, 1, 2];
  const r4 = memorySigner('root');
  const r5 = memorySigner('root');

  it('root 2 adds a root key and raises the threshold to 3: signed by 2 old and 3 new keys', async () => {
    const root = repo.rootKeys;
    const proposal = proposeRoot(await currentRoot(), { add: [{ role: 'root', key: r4.tufKey }], thresholds: { root: 3 }, expires: expiresAt('root', now()) });
    expect(proposal.version).toBe(2);
    const signed = await signBy(proposal, [root[r1]!, root[r2]!, r4]);
    const status = rootSignatureStatus((await currentRoot()), signed);
    expect(status.old).toMatchObject({ threshold: 2, met: true });
    expect(status.new).toMatchObject({ threshold: 3, met: true });
    const result = await publishRoot(repo.repoDir, repo.staging, signed, {}, { now: now(), expiryDays: repo.expiryDays });
    expect(result.version).toBe(2);
    expect(result.resigned).toEqual({});
    // The bootstrap copy users pin is the newest root.
    expect(await readFile(join(repo.repoDir, 'keys', 'root.json'))).toEqual(await readFile(join(repo.repoDir, 'metadata', '2.root.json')));
    for (const c of following) {
      await c.refresh();
      expect(await c.trustedRootVersion(), c.name).toBe(2);
    }
  });

  it('root 3 rotates the targets key and drops a root key (threshold 2 of 3); targets are re-signed with the new key', async () => {
    const root = repo.rootKeys;
    const t2 = memorySigner('targets');
    const before = await currentRoot();
    const proposal = proposeRoot(before, {
      replace: { targets: [t2.tufKey] },
      remove: [{ role: 'root', keyId: root[r1]!.keyId.slice(0, 10) }],
      thresholds: { root: 2 },
      expires: expiresAt('root', now()),
    });
    const diff = diffRoots(await new LocalRepository(repo.repoDir).readRoot(2), proposal);
    expect(diff.roles.find((r) => r.role === 'root')).toMatchObject({ removed: [root[r1]!.keyId], added: [], threshold: { from: 3, to: 2 } });
    expect(diff.roles.find((r) => r.role === 'targets')).toMatchObject({ removed: [repo.online.targets.keyId], added: [t2.keyId] });
    const signed = await signBy(proposal, [root[r2]!, root[r3]!, r4]);
    // Without the new targets key the re-signing cannot happen: refused before anything is written.
    const tree = await treeDigest(repo.repoDir);
    await expect(publishRoot(repo.repoDir, repo.staging, signed, { targets: [repo.online.targets], snapshot: [repo.online.snapshot], timestamp: [repo.online.timestamp] }, { now: now(), expiryDays: repo.expiryDays })).rejects.toSatisfy(code('E_KEY_NOT_FOUND'));
    expect(await treeDigest(repo.repoDir)).toEqual(tree);

    const result = await publishRoot(repo.repoDir, repo.staging, signed, { targets: [t2], snapshot: [repo.online.snapshot], timestamp: [repo.online.timestamp] }, { now: now(), expiryDays: repo.expiryDays });
    expect(Object.keys(result.resigned).sort()).toEqual(['snapshot', 'targets', 'timestamp']);
    repo.online.targets = t2;
    await repo.release('2.0.0');
    for (const c of following) {
      expect((await c.download('hello/2.0.0/hello-2.0.0.txt')).toString(), c.name).toBe('hello 2.0.0');
      expect(await c.trustedRootVersion(), c.name).toBe(3);
    }
  });

  it('root 4 replaces every root key by one new key (threshold 1) and rotates snapshot and timestamp', async () => {
    const root = repo.rootKeys;
    const s2 = memorySigner('snapshot');
    const ts2 = memorySigner('timestamp');
    const before = await currentRoot();
    const proposal = proposeRoot(before, { replace: { root: [r5.tufKey], snapshot: [s2.tufKey], timestamp: [ts2.tufKey] }, thresholds: { root: 1 }, expires: expiresAt('root', now()) });
    const signed = await signBy(proposal, [root[r3]!, r4, r5]);
    const result = await publishRoot(repo.repoDir, repo.staging, signed, { snapshot: [s2], timestamp: [ts2] }, { now: now(), expiryDays: repo.expiryDays });
    expect(Object.keys(result.resigned).sort()).toEqual(['snapshot', 'timestamp']);
    repo.online.snapshot = s2;
    repo.online.timestamp = ts2;
    await repo.release('3.0.0');
    for (const c of following) {
      expect((await c.download('hello/3.0.0/hello-3.0.0.txt')).toString(), c.name).toBe('hello 3.0.0');
      expect(await c.trustedRootVersion(), c.name).toBe(4);
    }
  });

  it('a client that still holds only 1.root.json follows 1 → 4 in one update and downloads', async () => {
    for (const c of await bothClients(url, rootV1)) {
      expect((await c.download('hello/1.0.0/hello-1.0.0.txt')).toString(), c.name).toBe('hello 1.0.0');
      expect((await c.download('hello/3.0.0/hello-3.0.0.txt')).toString(), c.name).toBe('hello 3.0.0');
      expect(await c.trustedRootVersion(), c.name).toBe(4);
    }
  });

  describe('root 5 signed by only one of the two thresholds', () => {
    const r6 = memorySigner('root');
    const r7 = memorySigner('root');
    let oldOnly: Envelope<RootSigned>;
    let newOnly: Envelope<RootSigned>;
    let complete: Envelope<RootSigned>;

    beforeAll(async () => {
      const v4 = await currentRoot();
      // Old root: r5 alone, threshold 1. New root: r6 and r7, threshold 2.
      const proposal = proposeRoot(v4, { replace: { root: [r6.tufKey, r7.tufKey] }, thresholds: { root: 2 }, expires: expiresAt('root', now()) });
      oldOnly = await signBy(proposal, [r5]);
      newOnly = await signBy(proposal, [r6, r7]);
      complete = mergeRootProposals([oldOnly, newOnly]);
    });

    it('is refused by root publish (E_ROOT_THRESHOLD), and the repository is untouched', async () => {
      const tree = await treeDigest(repo.repoDir);
      for (const partial of [oldOnly, newOnly]) {
        await expect(publishRoot(repo.repoDir, repo.staging, partial, {}, { now: now(), expiryDays: repo.expiryDays })).rejects.toSatisfy(code('E_ROOT_THRESHOLD'));
      }
      expect(await treeDigest(repo.repoDir)).toEqual(tree);
      expect(rootSignatureStatus(await currentRoot(), oldOnly)).toMatchObject({ old: { met: true }, new: { met: false, signedBy: [] }, complete: false });
      expect(rootSignatureStatus(await currentRoot(), newOnly)).toMatchObject({ old: { met: false }, new: { met: true }, complete: false });
    });

    for (const which of ['old', 'new'] as const) {
      it(`planted on the host by hand with the ${which} threshold only, it is refused by both clients`, async () => {
        const host = await repo.hostCopy();
        await plant(host, 'metadata/5.root.json', which === 'old' ? oldOnly : newOnly);
        const hostUrl = (await repo.serve(host)).url;
        for (const c of await bothClients(hostUrl, rootV1)) {
          expect(await refused(c.refresh()), c.name).toBe('signature');
          expect(await c.trustedRootVersion(), c.name).toBe(4);
        }
      });
    }

    it('with both thresholds it is accepted (merged from two signed copies) and clients follow', async () => {
      const file = join(repo.work, 'root-5.proposal.json');
      await writeRootProposal(file, complete);
      const back = await readRootProposal(file);
      const result = await publishRoot(repo.repoDir, repo.staging, back, {}, { now: now(), expiryDays: repo.expiryDays });
      expect(result.version).toBe(5);
      expect(await readFile(join(repo.repoDir, 'metadata', '5.root.json'))).toEqual(await readFile(file));
      for (const c of following) {
        await c.refresh();
        expect(await c.trustedRootVersion(), c.name).toBe(5);
      }
    });
  });
});

describe('proposals that cannot become a root', () => {
  it('names keys that are not there, adds one twice, or sets an unreachable threshold: E_ROOT_PROPOSAL', async () => {
    const root = await currentRoot();
    const expires = expiresAt('root', now());
    const rootKey = root.roles.root.keyids[0]!;
    expect(() => proposeRoot(root, { remove: [{ role: 'targets', keyId: rootKey }], expires })).toThrow(expect.objectContaining({ code: 'E_ROOT_PROPOSAL' }));
    expect(() => proposeRoot(root, { add: [{ role: 'root', key: root.keys[rootKey]! }], expires })).toThrow(expect.objectContaining({ code: 'E_ROOT_PROPOSAL' }));
    expect(() => proposeRoot(root, { thresholds: { root: 3 }, expires })).toThrow(expect.objectContaining({ code: 'E_ROOT_PROPOSAL' }));
    expect(() => proposeRoot(root, { add: [{ role: 'targets', key: root.keys[rootKey]! }], expires })).toThrow(expect.objectContaining({ code: 'E_ROOT_PROPOSAL' }));
    expect(() => proposeRoot(root, { remove: [{ role: 'root', keyId: 'zz' }], expires })).toThrow(expect.objectContaining({ code: 'E_ROOT_PROPOSAL' }));
  });

  it('a holder whose key neither root lists cannot sign; an expired or stale proposal is refused', async () => {
    const root = await currentRoot();
    const proposal = proposeRoot(root, { expires: expiresAt('root', now()) });
    await expect(signRootProposal(root, { signatures: [], signed: proposal }, [memorySigner('root')], now())).rejects.toSatisfy(code('E_KEY_NOT_FOUND'));
    const expired = proposeRoot(root, { expires: '2020-01-01T00:00:00Z' });
    await expect(signRootProposal(root, { signatures: [], signed: expired }, [memorySigner('root')], now())).rejects.toSatisfy(code('E_ROOT_PROPOSAL'));
    const previous = await new LocalRepository(repo.repoDir).readRoot(root.version - 1);
    const stale = proposeRoot(previous.signed, { expires: expiresAt('root', now()) });
    await expect(publishRoot(repo.repoDir, repo.staging, { signatures: [], signed: stale }, {}, { now: now(), expiryDays: repo.expiryDays })).rejects.toSatisfy(code('E_ROOT_PROPOSAL'));
  });

  it('copies of two different proposals do not merge', async () => {
    const root = await currentRoot();
    const a = proposeRoot(root, { expires: expiresAt('root', now()) });
    const b = proposeRoot(root, { expires: '2099-01-01T00:00:00Z' });
    expect(() => mergeRootProposals([{ signatures: [], signed: a }, { signatures: [], signed: b }])).toThrow(expect.objectContaining({ code: 'E_ROOT_PROPOSAL' }));
  });
});
