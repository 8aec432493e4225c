// Publishing to a real Ceph RADOS Gateway (S3 API) on 127.0.0.1, started once for this
// file; what it holds is read anonymously (the public-read bucket policy the docs give)
// by tuf-js, airlock-verify and apt-get.
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListMultipartUploadsCommand, ListPartsCommand, PutBucketVersioningCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPublishPlan, openTransport, planPublish, publish, type HostSpec } from '../../lib/publish/index.js';
import { IMMUTABLE_CACHE_CONTROL } from '../../lib/publish/http-caching.js';
import type { S3Transport } from '../../lib/publish/s3-transport.js';
import type { Transport } from '../../lib/publish/transport.js';
import { openpgpCertificate, updateAptRepository } from '../../lib/repo/compat/index.js';
import { aptClient, buildDeb } from '../support/compat-apt.js';
import { ensureBuilt, listTree, runAirlock, runCli } from '../support/e2e-cli.js';
import { expectCode } from '../support/error-codes.js';
import { memorySigner } from '../support/memory-signer.js';
import { canRunCeph, publicBucket, startCeph, stopCeph, type CephGateway } from '../support/publish-ceph.js';
import { addRelease, createFixtureRepo, type FixtureRepo } from '../support/publish-tuf-fixture.js';
import { tufJsClient } from '../support/tufjs-client.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
let gw: CephGateway | undefined;
let work: string;
let repo: FixtureRepo;
let local: string;
let names: string[];
let bucketCount = 0;

/** A fresh public-read bucket and the host spec for `prefix` in it. */
async function newHost(prefix = 'dl'): Promise<{ spec: HostSpec; bucket: string; base: string }> {
  const bucket = `airlock-${++bucketCount}`;
  await publicBucket(gw!, bucket);
  const spec: HostSpec = { name: `s3-${bucket}`, url: `s3://${bucket}/${prefix}`, s3: { endpoint: gw!.endpoint, pathStyle: true } };
  return { spec, bucket, base: `${gw!.endpoint}/${bucket}/${prefix}` };
}

const s3opts = () => ({ credentials: gw!.credentials });

async function objectBytes(bucket: string, key: string): Promise<Buffer> {
  const r = await gw!.admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

describe.skipIf(!canRunCeph())('publishing to an S3 bucket on Ceph RGW', () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'airlock-s3-'));
    gw = await startCeph();
    local = join(work, 'local');
    repo = await createFixtureRepo(local, { delegatedRole: 'releases' });
    names = (await addRelease(repo, 'demo', '1.0', { 'demo-1.0.tar.gz': Buffer.alloc(300_000, 1), 'notes.txt': 'first' })).sort();
    // An apt repository beside the TUF tree, as a release with .deb files makes.
    const pgp = memorySigner('pgp');
    await mkdir(join(local, 'keys'), { recursive: true });
    await writeFile(join(local, 'keys', 'release-signing.asc'), await openpgpCertificate(pgp, 'Demo Releases'));
    const deb = await buildDeb(work, { package: 'demo-tool', version: '1.0.0', architecture: 'amd64' });
    await updateAptRepository({ aptDir: join(local, 'apt'), debs: [deb], pgp, date: new Date('2026-03-01T12:00:00Z'), origin: 'Demo', label: 'Demo', validUntil: new Date('2099-01-01T00:00:00Z') });
  }, 120_000);

  afterAll(async () => {
    await stopCeph(gw);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('publishes a tree that tuf-js, airlock-verify and apt-get read anonymously; a re-publish uploads nothing', async () => {
    const { spec, bucket, base } = await newHost();
    const [r] = await publish(local, [spec], { s3: s3opts() });
    expect(r!.ok, JSON.stringify(r!.error)).toBe(true);
    expect(r!.uploaded).toBe((await listTree(local)).length);

    const client = tufJsClient(repo.rootV1, base);
    try {
      const view = await client.view(names);
      expect(view.found).toEqual(names);
      for (const t of names) expect(sha256(view.bytes.get(t)!)).toBe(sha256(repo.targets.get(t)!));
    } finally {
      await client.remove();
    }

    await ensureBuilt();
    const rootFile = join(work, 'pinned-root.json');
    await writeFile(rootFile, repo.rootV1);
    const outDir = await mkdtemp(join(work, 'verify-dl-'));
    const v = await runCli('verify', ['download', ...names, '--from', base, '--root', rootFile, '--out-dir', outDir]);
    expect(v.status, v.stderr).toBe(0);
    for (const t of names) expect(sha256(await readFile(join(outDir, encodeURIComponent(t))))).toBe(sha256(repo.targets.get(t)!));

    const apt = await aptClient(join(work, `apt-${bucket}`));
    await writeFile(join(apt.root, 'etc/apt/sources.list.d/demo.list'), `deb [signed-by=${join(local, 'keys', 'release-signing.asc')}] ${base}/apt stable main\n`);
    const u = apt.aptGet(['update']);
    expect(u.status, u.stdout + u.stderr).toBe(0);
    expect(u.stderr).not.toMatch(/^(W|E):/m);
    const dl = join(apt.root, 'dl');
    await mkdir(dl);
    expect(apt.aptGet(['download', 'demo-tool'], dl).status).toBe(0);

    // Caching headers and types, as a CDN in front sees them.
    const ts = await fetch(`${base}/metadata/timestamp.json`);
    expect(ts.headers.get('cache-control')).toBe('no-cache');
    expect(ts.headers.get('content-type')).toBe('application/json');
    const target = await fetch(`${base}/releases/demo/1.0/demo-1.0.tar.gz`);
    expect(target.headers.get('cache-control')).toBe(IMMUTABLE_CACHE_CONTROL);
    expect(target.headers.get('content-type')).toBe('application/gzip');
    expect((await fetch(`${base}/apt/dists/stable/InRelease`)).headers.get('cache-control')).toBe('no-cache');
    expect((await fetch(`${base}/keys/release-signing.asc`)).headers.get('content-type')).toBe('application/pgp-keys');
    // The policy grants reading objects, not listing the bucket; a missing key is 403.
    expect((await fetch(`${gw!.endpoint}/${bucket}?list-type=2`)).status).toBe(403);
    expect((await fetch(`${base}/metadata/2.root.json`)).status).toBe(403);

    const [again] = await publish(local, [spec], { s3: s3opts() });
    expect(again!.ok).toBe(true);
    expect(again!.uploaded).toBe(0);
  }, 60_000);

  it('is added with `airlock host add s3://…` and published with credentials from the environment, never printed', async () => {
    await ensureBuilt();
    const { bucket, base } = await newHost('cli');
    const home = await mkdtemp(join(work, 'home-'));
    await cp(local, join(home, 'repository'), { recursive: true });
    const env = (secret = gw!.credentials.secretAccessKey) => ({ AIRLOCK_HOME: home, HOME: home, AWS_ACCESS_KEY_ID: gw!.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: secret });
    const add = runAirlock(['host', 'add', 'cdn', `s3://${bucket}/cli`, '--endpoint', gw!.endpoint, '--path-style', '--mutable-max-age', '30', '--json'], { env: env() });
    expect(add.status, add.stderr).toBe(0);
    expect(add.json.host).toEqual({ name: 'cdn', url: `s3://${bucket}/cli`, s3: { endpoint: gw!.endpoint, pathStyle: true, mutableMaxAge: 30 } });
    expect(runAirlock(['host', 'add', 'x', `s3://${bucket}/cli`, '--json'], { env: env() }).code).toBe('E_USAGE');

    const wrong = runAirlock(['publish', '--host', 'cdn', '--json'], { env: env('not-the-secret') });
    expect([wrong.status, wrong.json.hosts[0].error.code], wrong.stdout + wrong.stderr).toEqual([3, 'E_HOST_AUTH']);
    expect(wrong.stdout + wrong.stderr).not.toContain('not-the-secret');
    const r = runAirlock(['publish', '--host', 'cdn', '--json'], { env: env() });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(gw!.credentials.secretAccessKey);
    const ts = await fetch(`${base}/metadata/timestamp.json`);
    expect(Buffer.from(await ts.arrayBuffer())).toEqual(await readFile(join(local, 'metadata/timestamp.json')));
    expect(ts.headers.get('cache-control')).toBe('public, max-age=30');
  }, 60_000);

  it('resumes a multipart upload cut after a part from the parts the store holds', async () => {
    const big = join(work, 'big');
    const bigRepo = await createFixtureRepo(big);
    const artifact = Buffer.alloc(11 * 1024 * 1024, 7);
    for (let i = 0; i < artifact.length; i += 4096) artifact.writeUInt32BE(i, i);
    const [path] = await addRelease(bigRepo, 'big', '1.0', { 'big.bin': artifact });
    const { spec, bucket } = await newHost('');
    const knobs = { credentials: gw!.credentials, multipartThreshold: 5 * 1024 * 1024, partSize: 5 * 1024 * 1024 };
    const cut = (await openTransport(spec, { s3: { ...knobs, failAfterParts: 1 } })) as S3Transport;
    try {
      await expectCode(applyPublishPlan((await planPublish(big, cut)), cut), 'E_PUBLISH_INTERRUPTED');
    } finally {
      await cut.close();
    }
    const uploads = await gw!.admin.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect(uploads.Uploads?.length).toBe(1);
    const parts = await gw!.admin.send(new ListPartsCommand({ Bucket: bucket, Key: uploads.Uploads![0]!.Key, UploadId: uploads.Uploads![0]!.UploadId }));
    expect(parts.Parts?.length).toBe(1);
    // Nothing that refers to the artifact went up: publishing stopped at it.
    expect((await fetch(`${gw!.endpoint}/${bucket}/metadata/timestamp.json`)).status).toBe(403);

    const resumed = (await openTransport(spec, { s3: knobs })) as S3Transport;
    try {
      const report = await applyPublishPlan((await planPublish(big, resumed)), resumed);
      expect(report.ok).toBe(true);
      // targets/ (cut after its first part: 1 reused, 2 sent) and releases/ (3 sent) copies.
      expect(resumed.stats).toEqual({ partsReused: 1, partsUploaded: 5 });
    } finally {
      await resumed.close();
    }
    expect((await gw!.admin.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).toEqual([]);
    const slash = path!.lastIndexOf('/');
    expect(sha256(await objectBytes(bucket, `targets/${path!.slice(0, slash + 1)}${sha256(artifact)}.big.bin`))).toBe(sha256(artifact));
    const client = tufJsClient(bigRepo.rootV1, `${gw!.endpoint}/${bucket}`);
    try {
      expect(sha256(await client.download(path!))).toBe(sha256(artifact));
    } finally {
      await client.remove();
    }
  }, 60_000);

  it('detects an object the store holds with other bytes: on read-back and with --full-check (E_PUBLISH_IMMUTABLE), never deleting it', async () => {
    const { spec, bucket } = await newHost('');
    const victim = `releases/demo/1.0/notes.txt`;
    // A store that keeps other bytes than it was sent: the object is replaced right after the PUT.
    const inner = await openTransport(spec, { s3: s3opts() });
    const lying: Transport = Object.assign(Object.create(inner) as Transport, {
      async writeInPlace(...args: Parameters<NonNullable<Transport['writeInPlace']>>) {
        const r = await inner.writeInPlace!(...args);
        if (args[1] === victim) await gw!.admin.send(new PutObjectCommand({ Bucket: bucket, Key: victim, Body: 'fir5t' }));
        return r;
      },
    });
    try {
      const err = await expectCode(applyPublishPlan((await planPublish(local, lying)), lying), 'E_PUBLISH_IMMUTABLE');
      expect(err.details?.conflicts).toEqual([{ path: victim }]);
    } finally {
      await inner.close();
    }
    // A published path is never deleted, even one that just read back wrong: it stays for
    // whoever looks into the conflict, and nothing that refers to it went up.
    expect(await objectBytes(bucket, victim)).toEqual(Buffer.from('fir5t'));
    expect((await fetch(`${gw!.endpoint}/${bucket}/metadata/timestamp.json`)).status).toBe(403);
    const cacheDir = join(work, `cache-${bucket}`);
    const [again] = await publish(local, [spec], { s3: s3opts(), digestCacheDir: cacheDir });
    expect(again!.error?.code).toBe('E_PUBLISH_IMMUTABLE');

    // Repaired by hand, the host completes; damage after publishing, same length:
    // --full-check reads every object back and refuses.
    await gw!.admin.send(new PutObjectCommand({ Bucket: bucket, Key: victim, Body: await readFile(join(local, victim)) }));
    const [done] = await publish(local, [spec], { s3: s3opts(), digestCacheDir: cacheDir });
    expect(done!.ok, JSON.stringify(done!.error)).toBe(true);
    await gw!.admin.send(new PutObjectCommand({ Bucket: bucket, Key: victim, Body: 'fir5t' }));
    const [checked] = await publish(local, [spec], { s3: s3opts(), digestCacheDir: cacheDir, fullCheck: true });
    expect(checked!.error?.code).toBe('E_PUBLISH_IMMUTABLE');
    expect((checked!.error?.details as { conflicts: { path: string }[] }).conflicts.map((c) => c.path)).toEqual([victim]);
  }, 60_000);

  it('never overwrites a published path: a conflicting object refuses the plan, and a write finds it there', async () => {
    const { spec, bucket } = await newHost('');
    const victim = 'releases/demo/1.0/demo-1.0.tar.gz';
    await gw!.admin.send(new PutObjectCommand({ Bucket: bucket, Key: victim, Body: Buffer.alloc(300_000, 9) }));
    const [r] = await publish(local, [spec], { s3: s3opts() });
    expect(r!.error?.code).toBe('E_PUBLISH_IMMUTABLE');
    expect(r!.uploaded).toBe(0);
    expect((await fetch(`${gw!.endpoint}/${bucket}/metadata/timestamp.json`)).status).toBe(403);
    // Written without overwrite, an existing key is left as it is.
    const t = await openTransport(spec, { s3: s3opts() });
    try {
      const localFile = join(local, victim);
      expect(await t.writeInPlace!(localFile, victim, { overwrite: false, length: 300_000 })).toBe('exists');
    } finally {
      await t.close();
    }
    expect(sha256(await objectBytes(bucket, victim))).toBe(sha256(Buffer.alloc(300_000, 9)));
  });

  it('publishes to mirrors of every kind at once: a directory and an S3 bucket', async () => {
    const { spec } = await newHost('mirror');
    const dir = join(work, 'dir-mirror');
    const reports = await publish(local, [spec, { name: 'dir', url: dir }], { s3: s3opts() });
    expect(reports.map((r) => r.ok)).toEqual([true, true]);
    expect(await listTree(dir)).toEqual(await listTree(local));
    const t = await openTransport(spec, { s3: s3opts() });
    try {
      const listed: string[] = [];
      for await (const f of t.list()) listed.push(f.path);
      expect(listed.sort()).toEqual((await listTree(local)).sort());
    } finally {
      await t.close();
    }
  });

  it('refuses wrong credentials (E_HOST_AUTH) and a missing bucket (E_CONFIG) before writing', async () => {
    const { spec } = await newHost('');
    await expectCode(openTransport(spec, { s3: { credentials: { accessKeyId: gw!.credentials.accessKeyId, secretAccessKey: 'wrong' } } }), 'E_HOST_AUTH');
    await expectCode(openTransport({ ...spec, url: 's3://no-such-bucket/x' }, { s3: s3opts() }), 'E_CONFIG');
  });

  it('in a versioned bucket (where RGW ignores If-None-Match) still refuses a conflicting object found before writing', async () => {
    const bucket = `airlock-${++bucketCount}`;
    await gw!.admin.send(new CreateBucketCommand({ Bucket: bucket }));
    await gw!.admin.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    const spec: HostSpec = { name: 'versioned', url: `s3://${bucket}`, s3: { endpoint: gw!.endpoint, pathStyle: true } };
    const victim = 'releases/demo/1.0/notes.txt';
    await gw!.admin.send(new PutObjectCommand({ Bucket: bucket, Key: victim, Body: 'other' }));
    const t = await openTransport(spec, { s3: s3opts() });
    try {
      expect(await t.writeInPlace!(join(local, victim), victim, { overwrite: false, length: 5 })).toBe('exists');
    } finally {
      await t.close();
    }
    expect((await objectBytes(bucket, victim)).toString()).toBe('other');
  });
});
