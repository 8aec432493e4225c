// A real Ceph RADOS Gateway on 127.0.0.1 for the S3 host tests: scripts/ceph-rgw.sh
// starts 1 mon + 1 memstore OSD + radosgw under a temporary directory (no systemd) and
// stops them by PID. Started once per test file (about 4–7 s); buckets per test.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import type { S3Credentials } from '../../lib/publish/s3-credentials.js';
import { projectRoot } from './e2e-cli.js';
import { freePort } from './publish-sshd.js';

const run = promisify(execFile);
const SCRIPT = join(projectRoot, 'scripts', 'ceph-rgw.sh');

export interface CephGateway {
  dir: string;
  /** http://127.0.0.1:port */
  endpoint: string;
  credentials: S3Credentials;
  /** An SDK client with the gateway's admin user, for setting up and tampering. */
  admin: S3Client;
}

export function canRunCeph(): boolean {
  return ['/usr/bin/ceph-mon', '/usr/bin/ceph-osd', '/usr/bin/radosgw'].every((p) => existsSync(p));
}

export async function startCeph(): Promise<CephGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-ceph-'));
  const [mon, rgw] = [await freePort(), await freePort()];
  try {
    await run('bash', [SCRIPT, 'start', dir, String(mon), String(rgw)], { timeout: 120_000 });
  } catch (err) {
    await run('bash', [SCRIPT, 'stop', dir]).catch(() => undefined);
    throw err;
  }
  const env = Object.fromEntries(
    (await readFile(join(dir, 's3.env'), 'utf8'))
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! };
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const admin = new S3Client({
    endpoint: env.S3_ENDPOINT!,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return { dir, endpoint: env.S3_ENDPOINT!, credentials, admin };
}

export async function stopCeph(gw: CephGateway | undefined): Promise<void> {
  if (!gw) return;
  gw.admin.destroy();
  await run('bash', [SCRIPT, 'stop', gw.dir]).catch(() => undefined);
  await rm(gw.dir, { recursive: true, force: true });
}

/** The public-read policy docs/publishing.md gives: anonymous GetObject, no anonymous List. */
export function publicReadPolicy(bucket: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: 'PublicRead', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*` }],
  });
}

/** A new bucket that anyone may read objects of (and not list). */
export async function publicBucket(gw: CephGateway, bucket: string): Promise<void> {
  await gw.admin.send(new CreateBucketCommand({ Bucket: bucket }));
  await gw.admin.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: publicReadPolicy(bucket) }));
}
