// The nginx configuration docs/publishing.md gives for directory hosts, run by a real
// nginx over a host tree: every path gets the Cache-Control and Content-Type that
// http-caching.ts gives the same path as S3 object metadata.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheControlFor, contentTypeFor } from '../../lib/publish/http-caching.js';
import { projectRoot } from '../support/e2e-cli.js';
import { startNginx, stopNginx, type NginxServer } from '../support/publish-nginx.js';

const PATHS = [
  'metadata/1.root.json',
  'metadata/2.root.json',
  'metadata/7.snapshot.json',
  'metadata/7.targets.json',
  'metadata/3.releases.json',
  'metadata/timestamp.json',
  'targets/demo/1.0/0a1b2c.demo-1.0.tar.gz',
  'releases/demo/1.0/demo-1.0.tar.gz',
  'releases/demo/1.0/demo-1.0.tar.gz.asc',
  'releases/demo/1.0/demo-1.0.tar.gz.minisig',
  'releases/demo/1.0/demo-1.0.tar.gz.sshsig',
  'releases/demo/1.0/demo-1.0.tar.gz.sha512',
  'releases/demo/1.0/SHA256SUMS',
  'releases/demo/1.0/SHA256SUMS.asc',
  'releases/demo/1.0/demo.bin',
  'releases/demo/1.0/demo-1.0.zip',
  'keys/root.json',
  'keys/release-signing.asc',
  'keys/minisign.pub',
  'keys/minisign-0123456789abcdef.pub',
  'keys/allowed_signers',
  'keys/KEYS',
  'apt/pool/main/d/demo-tool/demo-tool_1.0.0_amd64.deb',
  'apt/dists/stable/InRelease',
  'apt/dists/stable/Release',
  'apt/dists/stable/Release.gpg',
  'apt/dists/stable/main/binary-amd64/Packages',
  'apt/dists/stable/main/binary-amd64/Packages.gz',
  'apt/dists/stable/main/binary-amd64/Packages.xz',
  'apt/dists/stable/main/binary-amd64/by-hash/SHA256/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
  'rpm/repodata/repomd.xml',
  'rpm/repodata/repomd.xml.asc',
  `rpm/repodata/${'ab'.repeat(32)}-primary.xml.gz`,
  'rpm/Packages/demo-1.0-1.x86_64.rpm',
  'rpm/demo.repo',
];

let work: string;
let nginx: NginxServer | undefined;

describe('the nginx caching configuration for directory hosts (docs/publishing.md)', () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'airlock-caching-'));
    const tree = join(work, 'tree');
    for (const p of PATHS) {
      await mkdir(dirname(join(tree, p)), { recursive: true });
      await writeFile(join(tree, p), 'x');
    }
    const doc = await readFile(join(projectRoot, 'docs', 'publishing.md'), 'utf8');
    const at = doc.indexOf('A directory host served by nginx');
    const block = /```nginx\n([\s\S]*?)```/.exec(doc.slice(at));
    expect(block, 'docs/publishing.md has the nginx block').not.toBeNull();
    nginx = await startNginx(tree, { serverConfig: block![1]! });
  });

  afterAll(async () => {
    await stopNginx(nginx);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('serves every kind of path with the headers S3 objects get', async () => {
    const got: Record<string, [string | null, string | null]> = {};
    const want: Record<string, [string, string]> = {};
    for (const p of PATHS) {
      const r = await fetch(`${nginx!.url}/${p}`);
      expect(r.status, p).toBe(200);
      got[p] = [r.headers.get('cache-control'), r.headers.get('content-type')];
      want[p] = [cacheControlFor(p), contentTypeFor(p)];
    }
    expect(got).toEqual(want);
  });
});
