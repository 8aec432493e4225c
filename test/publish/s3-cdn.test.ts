// A CDN in front of an S3 host: nginx with proxy_cache before a real Ceph RGW, caching
// what the objects' Cache-Control allows and keeping 403/404 answers for an hour. A new
// release is published one object at a time (cut after every object, then resumed);
// after every cut tuf-js, airlock-verify and apt-get read through the cache and must see
// the old release or the whole new one. The 403 the cache kept for the next root
// (every TUF client probes N+1.root.json) is still served after the publish and breaks
// nothing; a new release is visible within the timestamp's max-age.
import { LineSpill, SpillDir } from '../../lib/publish/line-spill.js';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPublishPlan, openTransport, planItems, planPublish, publish, type HostSpec } from '../../lib/publish/index.js';
import type { Transport } from '../../lib/publish/transport.js';
import { openpgpCertificate, updateAptRepository } from '../../lib/repo/compat/index.js';
import { aptClient, buildDeb, type AptClient } from '../support/compat-apt.js';
import { run } from '../support/compat-tools.js';
import { Updater as AirlockUpdater } from '../../lib/verify/index.js';
import { memorySigner } from '../support/memory-signer.js';
import { canRunCeph, publicBucket, startCeph, stopCeph, type CephGateway } from '../support/publish-ceph.js';
import { startCdn, stopCdn } from '../support/publish-cdn.js';
import type { NginxServer } from '../support/publish-nginx.js';
import { addRelease, createFixtureRepo, rotateRootKey, type FixtureRepo } from '../support/publish-tuf-fixture.js';
import { tufJsClient } from '../support/tufjs-client.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** The timestamp's max-age on the host the TUF clients read. */
const MAX_AGE = 2;
const BUCKET = 'cdn';
let gw: CephGateway | undefined;
let cdn: NginxServer | undefined;
let work: string;

/** airlock-verify's Updater (lib/verify, as the bundle runs it), new state each time: the targets it lists and their verified bytes' digests. */
async function verifyView(base: string, root: Uint8Array, targets: string[]): Promise<{ found: string[]; sha256: Map<string, string> }> {
  const stateDir = await mkdtemp(join(work, 'verify-'));
  try {
    const updater = new AirlockUpdater({ trustedRoot: root, sources: [base], stateDir });
    await updater.refresh();
    const found: string[] = [];
    const digests = new Map<string, string>();
    for (const t of targets) {
      const info = await updater.getTargetInfo(t);
      if (info === undefined) continue;
      found.push(t);
      const out = join(stateDir, 'download');
      await updater.downloadTarget(info, out);
      digests.set(t, sha256(await readFile(out)));
      await rm(out);
    }
    return { found: found.sort(), sha256: digests };
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
}

describe.skipIf(!canRunCeph())('an S3 host behind a caching CDN (nginx proxy_cache)', () => {
  let repo: FixtureRepo;
  let local: string;
  /** The apt host's tree: the apt repository and the key apt is given (kept apart: fewer objects per cut). */
  let aptLocal: string;
  const pgp = memorySigner('pgp');
  // TUF clients read a host whose mutable files may be cached MAX_AGE seconds; apt reads
  // one with no-cache (without by-hash, apt needs InRelease and Packages of one release).
  const hosts = (): HostSpec[] => [
    { name: 'tuf', url: `s3://${BUCKET}/tuf`, s3: { endpoint: gw!.endpoint, pathStyle: true, mutableMaxAge: MAX_AGE } },
    { name: 'apt', url: `s3://${BUCKET}/apt`, s3: { endpoint: gw!.endpoint, pathStyle: true } },
  ];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'airlock-s3-cdn-'));
    gw = await startCeph();
    await publicBucket(gw, BUCKET);
    cdn = await startCdn(gw.endpoint);
    local = join(work, 'local');
    repo = await createFixtureRepo(local, { delegatedRole: 'releases' });
    await addRelease(repo, 'demo', '1.0', { 'demo-1.0.tar.gz': Buffer.alloc(200_000, 1) });
    aptLocal = join(work, 'apt-tree');
    await mkdir(join(aptLocal, 'keys'), { recursive: true });
    await writeFile(join(aptLocal, 'keys', 'release-signing.asc'), await openpgpCertificate(pgp, 'Demo Releases'));
    const deb = await buildDeb(work, { package: 'demo-tool', version: '1.0.0', architecture: 'amd64' });
    await updateAptRepository({ aptDir: join(aptLocal, 'apt'), debs: [deb], pgp, date: new Date('2026-03-01T12:00:00Z'), origin: 'Demo', label: 'Demo', validUntil: new Date('2099-01-01T00:00:00Z') });
    const [tufHost, aptHost] = hosts();
    const reports = [...(await publish(local, [tufHost!], { s3: { credentials: gw.credentials } })), ...(await publish(aptLocal, [aptHost!], { s3: { credentials: gw.credentials } }))];
    expect(reports.every((r) => r.ok), JSON.stringify(reports)).toBe(true);
  }, 120_000);

  afterAll(async () => {
    await stopCdn(cdn);
    await stopCeph(gw);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('shows every client the old release or the whole new one at every cut, and the new one within max-age', async () => {
    const tufBase = `${cdn!.url}/${BUCKET}/tuf`;
    const old = ['demo/1.0/demo-1.0.tar.gz'];
    const next = [...old, 'demo/2.0/demo-2.0.tar.gz'];
    const stateful = tufJsClient(repo.rootV1, tufBase);
    const apt: AptClient = await aptClient(join(work, 'apt-client'));
    await writeFile(join(apt.root, 'etc/apt/sources.list.d/demo.list'), `deb [signed-by=${join(aptLocal, 'keys', 'release-signing.asc')}] ${cdn!.url}/${BUCKET}/apt/apt stable main\n`);
    const candidate = () => /Candidate: (\S+)/.exec(run('apt-cache', ['policy', 'demo-tool'], { env: apt.env }).stdout)?.[1];

    // Before the publish: clients read through the cache, which now holds the 403 for the next root.
    expect((await stateful.view(next)).found).toEqual(old);
    expect(apt.aptGet(['update']).status).toBe(0);
    const probe = `${tufBase}/metadata/2.root.json`;
    const cachedMiss = await fetch(probe);
    expect([cachedMiss.status, cachedMiss.headers.get('x-cache')]).toEqual([403, 'HIT']);

    // The next release rotates the root key, adds a version and a .deb.
    await rotateRootKey(repo);
    await addRelease(repo, 'demo', '2.0', { 'demo-2.0.tar.gz': Buffer.alloc(100_000, 2) });
    const deb2 = await buildDeb(work, { package: 'demo-tool', version: '1.1.0', architecture: 'amd64' });
    await updateAptRepository({ aptDir: join(aptLocal, 'apt'), debs: [deb2], pgp, date: new Date('2026-03-02T12:00:00Z'), origin: 'Demo', label: 'Demo', validUntil: new Date('2099-01-01T00:00:00Z') });

    const transports: Transport[] = await Promise.all(hosts().map((h) => openTransport(h, { s3: { credentials: gw!.credentials } })));
    let cuts = 0;
    let aptRefusals = 0;
    let timestampWrittenAt = 0;
    let aptWindow = 0;
    try {
      // One plan per host, applied one upload at a time: exactly the states a publish cut
      // after every object, then resumed, leaves the host in.
      const plans = await Promise.all(transports.map((t, h) => planPublish([local, aptLocal][h]!, t)));
      const uploads = await Promise.all(plans.map((p) => planItems(p)));
      expect(uploads[0]!.length).toBeGreaterThan(8);
      aptWindow = uploads[1]!.filter((i) => i.stage === 'apt-index').length;
      for (let k = 0; k < Math.max(...uploads.map((u) => u.length)); k++) {
        for (const [h, t] of transports.entries()) {
          const item = uploads[h]![k];
          if (item === undefined) continue;
          const one = new LineSpill(new SpillDir());
          await one.add(`${JSON.stringify(item.path)}\t${item.length} ${item.sha256}`);
          await applyPublishPlan({ ...plans[h]!, runs: [{ stage: item.stage, rank: [], files: 1, bytes: item.length, uploads: one }], leftovers: [] }, t);
          if (t.host === 'tuf' && item.path === 'metadata/timestamp.json') timestampWrittenAt = Date.now();
        }
        cuts++;

        const view = await stateful.view(next);
        expect([old, next], `tuf-js after cut ${cuts}`).toContainEqual(view.found);
        for (const f of view.found) expect(sha256(view.bytes.get(f)!)).toBe(sha256(repo.targets.get(f)!));
        const verify = await verifyView(tufBase, repo.rootV1, next);
        expect([old, next], `airlock-verify after cut ${cuts}`).toContainEqual(verify.found);
        for (const f of verify.found) expect(verify.sha256.get(f)).toBe(sha256(repo.targets.get(f)!));

        // apt either takes the whole new release or keeps the lists it had.
        if (apt.aptGet(['update']).status !== 0) aptRefusals++;
        expect(['1.0.0', '1.1.0'], `apt after cut ${cuts}`).toContain(candidate());
      }
    } finally {
      for (const t of transports) await t.close();
    }
    expect(timestampWrittenAt).toBeGreaterThan(0);

    // Once the timestamp's max-age has passed since it was written (a little more for the
    // request itself), every client sees the new release, through the same cache.
    const visibleBy = timestampWrittenAt + (MAX_AGE + 0.5) * 1000;
    if (Date.now() < visibleBy) await new Promise((r) => setTimeout(r, visibleBy - Date.now()));
    expect((await stateful.view(next)).found).toEqual(next);
    expect((await verifyView(tufBase, repo.rootV1, next)).found).toEqual(next);
    // The 403 cached before the publish is still what the CDN answers for the new root;
    // it broke nothing (a rotation is published so that the old root accepts every state).
    const stillCached = await fetch(probe);
    expect([stillCached.status, stillCached.headers.get('x-cache')]).toEqual([403, 'HIT']);

    expect(apt.aptGet(['update']).status).toBe(0);
    expect(candidate()).toBe('1.1.0');
    const dl = join(apt.root, 'dl');
    await mkdir(dl);
    expect(apt.aptGet(['download', 'demo-tool'], dl).status).toBe(0);
    expect(sha256(await readFile(join(dl, 'demo-tool_1.1.0_amd64.deb')))).toBe(sha256(await readFile(deb2)));
    // Without by-hash indices, an update that lands between the first new index and the new
    // InRelease is refused by apt (hash mismatch), which keeps its lists: only in that window.
    expect(aptRefusals).toBeLessThanOrEqual(aptWindow);
    await stateful.remove();
  }, 120_000);
});
