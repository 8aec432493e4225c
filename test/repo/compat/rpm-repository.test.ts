// The rpm repository judged by the real tools: rpm -K (rpmkeys --checksig) accepts the
// package's header signature, and dnf 4.14 with gpgcheck=1 and repo_gpgcheck=1 installs
// from it over a loopback HTTP server into a scratch installroot — and refuses once one
// byte of repomd.xml, of a metadata file or of the package is flipped.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openpgpCertificate } from '../../../lib/repo/compat/index.js';
import { parseRpmRepoFile } from '../../../lib/repo/compat/rpm-repo-file.js';
import { checkRpmRelease, observeRpmTools } from '../../../lib/repo/compat/rpm-tools.js';
import { updateRpmRepository } from '../../../lib/repo/compat/rpm-repository.js';
import { buildRpm, dnfInstall } from '../../support/compat-rpm.js';
import { flipByte, run, tempDir } from '../../support/compat-tools.js';
import { memorySigner } from '../../support/memory-signer.js';
import { serveDirectory, type StaticServer } from '../../support/static-http.js';

const pgp = memorySigner('pgp');
const signedAt = new Date('2026-03-01T12:00:00Z');
let work: { path: string; remove(): Promise<void> };
let host: string;
let server: StaticServer;
let rpm: string;
let runs = 0;

/** dnf into a fresh installroot and cache, with only the published .repo file configured. */
async function dnfRun(): Promise<{ status: number; stdout: string; stderr: string }> {
  return dnfInstall(join(work.path, `dnf-${++runs}`), await readFile(join(host, 'rpm', 'hello.repo')), 'hello');
}

beforeAll(async () => {
  checkRpmRelease({ tools: await observeRpmTools(), publicUrl: 'http://127.0.0.1/', pgpKeyType: pgp.keyType });
  work = await tempDir('compat-rpm');
  host = join(work.path, 'host');
  await mkdir(join(host, 'keys'), { recursive: true });
  const publishedKeys = await openpgpCertificate(pgp, 'Hello Releases <releases@example.org>');
  await writeFile(join(host, 'keys', 'release-signing.asc'), publishedKeys);
  rpm = await buildRpm(join(work.path, 'build'));
  server = await serveDirectory(host);
  await updateRpmRepository({ rpmDir: join(host, 'rpm'), publishedRpmDir: join(host, 'rpm'), rpms: [rpm], pgp, date: signedAt, project: 'hello', name: 'Hello Releases', publicUrl: server.url, publishedKeys });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await work?.remove();
});

describe('rpm packages and repository', () => {
  it('rpm -K accepts the V4 header signature with the published key', async () => {
    const db = join(work.path, 'rpmdb');
    await mkdir(db);
    expect(run('rpmkeys', ['--dbpath', db, '--import', join(host, 'keys', 'release-signing.asc')]).status).toBe(0);
    const r = run('rpmkeys', ['--dbpath', db, '--checksig', '-v', join(host, 'rpm', 'Packages', 'hello-1.0.0-1.noarch.rpm')]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Header V4 EdDSA\/SHA256 Signature, key ID [0-9a-f]{8}: OK/);
    // The release's own copy is unsigned: the key is what makes the difference.
    const unsigned = run('rpmkeys', ['--dbpath', db, '--checksig', '-v', rpm]);
    expect(unsigned.stdout).not.toMatch(/Signature/);
  });

  it('writes repodata, a repomd.xml.asc and a .repo file with both checks on', async () => {
    const files = await readdir(join(host, 'rpm', 'repodata'));
    for (const kind of ['primary', 'filelists', 'other']) expect(files.some((f) => f.endsWith(`-${kind}.xml.gz`)), kind).toBe(true);
    expect(files).toEqual(expect.arrayContaining(['repomd.xml', 'repomd.xml.asc']));
    const repo = parseRpmRepoFile(await readFile(join(host, 'rpm', 'hello.repo'), 'utf8'));
    expect(repo).toMatchObject({ id: 'hello', baseUrl: `${server.url}/rpm`, gpgKey: `${server.url}/keys/release-signing.asc`, gpgcheck: true, repoGpgcheck: true });
  });

  it('dnf installs the package into a scratch installroot with gpgcheck and repo_gpgcheck', async () => {
    const r = await dnfRun();
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(await readFile(join(work.path, `dnf-${runs}`, 'installroot', 'usr/share/hello/hello.txt'), 'utf8')).toBe('hello 1.0.0\n');
  }, 120_000);

  it('dnf refuses when one byte of repomd.xml, of primary metadata or of the package is flipped', async () => {
    const repodata = join(host, 'rpm', 'repodata');
    const primary = (await readdir(repodata)).find((f) => f.endsWith('-primary.xml.gz'))!;
    for (const path of [join(repodata, 'repomd.xml'), join(repodata, primary), join(host, 'rpm', 'Packages', 'hello-1.0.0-1.noarch.rpm')]) {
      const original = await readFile(path);
      await writeFile(path, flipByte(original, Math.floor(original.length / 2)));
      try {
        const r = await dnfRun();
        expect(r.status, `${path}: ${r.stdout}`).not.toBe(0);
      } finally {
        await writeFile(path, original);
      }
    }
  }, 240_000);
});
