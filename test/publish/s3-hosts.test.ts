// The pure parts of S3 hosts: s3:// URLs and their options in the host registry, where
// the access key comes from, and the caching headers and content types of each path.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkS3Options, parseHostUrl } from '../../lib/publish/host-url.js';
import { addHost, readHosts, resolveHosts } from '../../lib/publish/hosts.js';
import { cacheControlFor, contentTypeFor, IMMUTABLE_CACHE_CONTROL } from '../../lib/publish/http-caching.js';
import { s3Credentials } from '../../lib/publish/s3-credentials.js';
import { partLayout } from '../../lib/publish/s3-transport.js';
import { codeOf, codeOfSync as code } from '../support/error-codes.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-s3-hosts-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('s3:// host URLs and options', () => {
  it('reads a bucket and a prefix', () => {
    expect(parseHostUrl('s3://releases.example/dl/')).toEqual({ kind: 's3', bucket: 'releases.example', prefix: 'dl' });
    expect(parseHostUrl('s3://rel')).toEqual({ kind: 's3', bucket: 'rel', prefix: '' });
    expect(parseHostUrl('s3://rel/a/b')).toEqual({ kind: 's3', bucket: 'rel', prefix: 'a/b' });
  });

  it.each(['s3://Upper/x', 's3://ab/x', 's3://a..b/x', 's3://10.0.0.1/x', 's3://rel/../x', 's3://rel/a//b', 's3://rel/a%2F..', 's3://rel/a b'])('refuses %s', (url) => {
    expect(code(() => parseHostUrl(url))).toBe('E_USAGE');
  });

  it('takes https endpoints anywhere and http only on the loopback interface', () => {
    expect(checkS3Options({ endpoint: 'https://s3.example.org/' })).toEqual({ endpoint: 'https://s3.example.org' });
    expect(checkS3Options({ endpoint: 'http://127.0.0.1:7480', pathStyle: true, region: 'eu-west-1', mutableMaxAge: 30 })).toEqual({
      endpoint: 'http://127.0.0.1:7480',
      pathStyle: true,
      region: 'eu-west-1',
      mutableMaxAge: 30,
    });
    for (const bad of [
      { endpoint: 'http://s3.example.org' },
      { endpoint: 'http://192.168.1.5:9000' },
      { endpoint: 'https://key:secret@s3.example.org' },
      { endpoint: 'https://s3.example.org/bucket' },
      { endpoint: 'ftp://s3.example.org' },
      { endpoint: 'https://s3.example.org', region: 'EU WEST' },
      { endpoint: 'https://s3.example.org', mutableMaxAge: -1 },
      { endpoint: 'https://s3.example.org', mutableMaxAge: 86_400 },
      { endpoint: 'https://s3.example.org', mutableMaxAge: Number.NaN },
    ]) {
      expect(code(() => checkS3Options(bad)), JSON.stringify(bad)).toBe('E_USAGE');
    }
  });

  it('records an s3 host with its endpoint; refuses one without, a host key on it, and s3 options on other hosts', async () => {
    const file = join(dir, 'hosts.json');
    await addHost(file, { name: 'cdn', url: 's3://rel/dl', s3: { endpoint: 'https://s3.example.org', pathStyle: true } });
    expect(await readHosts(file)).toEqual([{ name: 'cdn', url: 's3://rel/dl', s3: { endpoint: 'https://s3.example.org', pathStyle: true } }]);
    expect(await codeOf(addHost(file, { name: 'x', url: 's3://rel/dl' }))).toBe('E_USAGE');
    expect(await codeOf(addHost(file, { name: 'x', url: 's3://rel/dl', hostKey: 'SHA256:abc', s3: { endpoint: 'https://s3.example.org' } }))).toBe('E_USAGE');
    expect(await codeOf(addHost(file, { name: 'x', url: join(dir, 'www'), s3: { endpoint: 'https://s3.example.org' } }))).toBe('E_USAGE');
    expect(await codeOf(resolveHosts(file, ['s3://rel/other']))).toBe('E_HOST_UNKNOWN');
    expect((await resolveHosts(file, ['cdn']))[0]!.s3?.endpoint).toBe('https://s3.example.org');
  });

  it('refuses a registry whose s3 options were edited into something unusable (E_CONFIG)', async () => {
    const file = join(dir, 'bad-hosts.json');
    for (const s3 of [{ endpoint: 'http://s3.example.org' }, { endpoint: 'https://s3.example.org', extra: 1 }, { endpoint: 7 }, 'https://s3.example.org']) {
      await writeFile(file, JSON.stringify({ formatVersion: 1, hosts: [{ name: 'cdn', url: 's3://rel', s3 }] }));
      expect(await codeOf(readHosts(file)), JSON.stringify(s3)).toBe('E_CONFIG');
    }
  });
});

describe('S3 credentials', () => {
  const file = () => join(dir, 'credentials');

  it('come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN', async () => {
    expect(await s3Credentials({ AWS_ACCESS_KEY_ID: 'AK', AWS_SECRET_ACCESS_KEY: 'SK', AWS_SESSION_TOKEN: 'T' }, dir)).toEqual({ accessKeyId: 'AK', secretAccessKey: 'SK', sessionToken: 'T' });
  });

  it('come from the shared credentials file: AWS_PROFILE first, else the default profile', async () => {
    await writeFile(file(), '# keys\n[default]\naws_access_key_id = D1\naws_secret_access_key = DS\n\n[ci]\naws_access_key_id=C1\naws_secret_access_key=CS\naws_session_token = CT\n');
    expect(await s3Credentials({ AWS_SHARED_CREDENTIALS_FILE: file() }, dir)).toEqual({ accessKeyId: 'D1', secretAccessKey: 'DS' });
    expect(await s3Credentials({ AWS_SHARED_CREDENTIALS_FILE: file(), AWS_PROFILE: 'ci', AWS_ACCESS_KEY_ID: 'AK', AWS_SECRET_ACCESS_KEY: 'SK' }, dir)).toEqual({
      accessKeyId: 'C1',
      secretAccessKey: 'CS',
      sessionToken: 'CT',
    });
  });

  it('refuse profiles that would reach the network or run a program, and a missing profile (E_CONFIG)', async () => {
    await writeFile(file(), '[sso]\nsso_start_url = https://example.awsapps.com/start\n[proc]\ncredential_process = /bin/echo\n');
    for (const profile of ['sso', 'proc', 'absent']) {
      expect(await codeOf(s3Credentials({ AWS_SHARED_CREDENTIALS_FILE: file(), AWS_PROFILE: profile }, dir))).toBe('E_CONFIG');
    }
    expect(await codeOf(s3Credentials({}, join(dir, 'no-home')))).toBe('E_CONFIG');
  });
});

describe('caching headers and content types', () => {
  it('lets caches keep versioned names for a year and revalidate what changes in place', () => {
    for (const p of [
      'metadata/1.root.json',
      'metadata/7.snapshot.json',
      'metadata/7.targets.json',
      'targets/demo/1.0/0a1b.demo.tar.gz',
      'releases/demo/1.0/demo.tar.gz',
      'releases/demo/1.0/SHA256SUMS',
      'apt/pool/main/d/demo/demo_1.0_amd64.deb',
      'apt/dists/stable/main/binary-amd64/by-hash/SHA256/0123abcd',
      'rpm/Packages/demo-1.0-1.x86_64.rpm',
      `rpm/repodata/${'ab'.repeat(32)}-primary.xml.gz`,
    ]) {
      expect(cacheControlFor(p), p).toBe(IMMUTABLE_CACHE_CONTROL);
    }
    for (const p of [
      'metadata/timestamp.json',
      'keys/root.json',
      'keys/release-signing.asc',
      'apt/dists/stable/InRelease',
      'apt/dists/stable/Release',
      'apt/dists/stable/Release.gpg',
      'apt/dists/stable/main/binary-amd64/Packages.gz',
      'rpm/repodata/repomd.xml',
      'rpm/repodata/repomd.xml.asc',
      'rpm/demo.repo',
    ]) {
      expect(cacheControlFor(p), p).toBe('no-cache');
      expect(cacheControlFor(p, { mutableMaxAge: 60 }), p).toBe('public, max-age=60');
    }
  });

  it('names the type of each kind of file', () => {
    expect(contentTypeFor('metadata/timestamp.json')).toBe('application/json');
    expect(contentTypeFor('releases/p/1/p.tar.gz.asc')).toBe('application/pgp-signature');
    expect(contentTypeFor('keys/release-signing.asc')).toBe('application/pgp-keys');
    expect(contentTypeFor('keys/KEYS')).toBe('application/pgp-keys');
    expect(contentTypeFor('apt/pool/main/d/demo/demo_1.0_amd64.deb')).toBe('application/vnd.debian.binary-package');
    expect(contentTypeFor('releases/p/1/p.tar.gz')).toBe('application/gzip');
    expect(contentTypeFor('targets/p/1/ab12.p.tar')).toBe('application/x-tar');
    expect(contentTypeFor('apt/dists/stable/InRelease')).toBe('text/plain; charset=utf-8');
    expect(contentTypeFor('apt/dists/stable/main/binary-amd64/Packages.xz')).toBe('application/x-xz');
    expect(contentTypeFor('rpm/repodata/repomd.xml')).toBe('application/xml');
    expect(contentTypeFor('releases/p/1/p.bin')).toBe('application/octet-stream');
  });
});

describe('multipart layout', () => {
  it('uses 16 MiB parts, larger ones past 10 000 parts', () => {
    expect(partLayout(64 * 1024 * 1024)).toEqual({ partSize: 16 * 1024 * 1024, count: 4 });
    const huge = partLayout(5 * 1024 ** 4);
    expect(huge.count).toBeLessThanOrEqual(10_000);
    expect(huge.partSize * huge.count).toBeGreaterThanOrEqual(5 * 1024 ** 4);
  });
});
