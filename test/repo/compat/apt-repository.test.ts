import { copyFile, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openpgpCertificate, openpgpFingerprint, updateAptRepository } from '../../../lib/repo/compat/index.js';
import { aptClient, buildDeb } from '../../support/compat-apt.js';
import { run, tempDir } from '../../support/compat-tools.js';
import { memorySigner } from '../../support/memory-signer.js';
import { expectCode } from '../../support/error-codes.js';

const pgp = memorySigner('pgp');
const date = new Date('2026-03-01T12:00:00Z');
// Far ahead: apt compares Valid-Until with the real clock (its own test below moves the clock).
const validUntil = new Date('2099-01-01T00:00:00Z');
let work: { path: string; remove(): Promise<void> };
let aptDir: string;
let keyFile: string;
let debs: Record<string, string>;

async function client(arch = 'amd64'): Promise<ReturnType<typeof aptClient>> {
  const root = join(work.path, `client-${arch}-${Math.random().toString(16).slice(2)}`);
  const c = await aptClient(root, arch);
  await writeFile(join(root, 'etc/apt/sources.list.d/demo.list'), `deb [signed-by=${keyFile}] file://${aptDir} stable main\n`);
  return c;
}

beforeAll(async () => {
  work = await tempDir('compat-apt');
  aptDir = join(work.path, 'host', 'apt');
  keyFile = join(work.path, 'host', 'keys', 'release-signing.asc');
  run('mkdir', ['-p', join(work.path, 'host', 'keys'), join(work.path, 'debs')]);
  await writeFile(keyFile, await openpgpCertificate(pgp, 'Demo Releases'));
  debs = {
    tool1: await buildDeb(join(work.path, 'debs'), { package: 'demo-tool', version: '1.0.0', architecture: 'amd64' }),
    data1: await buildDeb(join(work.path, 'debs'), { package: 'demo-data', version: '1.0.0', architecture: 'all' }),
    tool2: await buildDeb(join(work.path, 'debs'), { package: 'demo-tool', version: '1.1.0', architecture: 'amd64' }),
    libx: await buildDeb(join(work.path, 'debs'), { package: 'libdemo1', version: '2:1.1.0-1', architecture: 'arm64' }),
    tool1Other: await buildDeb(join(work.path, 'other'), { package: 'demo-tool', version: '1.0.0', architecture: 'amd64', payload: 'different bytes\n' }),
  };
});

afterAll(async () => {
  await work.remove();
});

describe('updateAptRepository', () => {
  it('writes the pool, indexes and a signed Release that real apt-get update accepts', async () => {
    const written = await updateAptRepository({ aptDir, debs: [debs.tool1!, debs.data1!], pgp, date, origin: 'Demo', label: 'Demo releases', validUntil });
    // Each index is preceded by its by-hash copy (named by its SHA-256).
    for (const [i, path] of written.entries()) {
      if (!path.includes('/by-hash/')) continue;
      const bytes = await readFile(join(aptDir, path));
      expect(path.split('/').at(-1)).toBe(run('sha256sum', [join(aptDir, path)]).stdout.slice(0, 64));
      expect(await readFile(join(aptDir, written[i + 1]!))).toEqual(bytes);
    }
    expect(written.filter((p) => !p.includes('/by-hash/'))).toEqual([
      'pool/main/d/demo-tool/demo-tool_1.0.0_amd64.deb',
      'pool/main/d/demo-data/demo-data_1.0.0_all.deb',
      'dists/stable/main/binary-amd64/Packages',
      'dists/stable/main/binary-amd64/Packages.gz',
      'dists/stable/main/binary-all/Packages',
      'dists/stable/main/binary-all/Packages.gz',
      'dists/stable/Release',
      'dists/stable/Release.gpg',
      'dists/stable/InRelease',
    ]);
    const c = await client();
    const r = c.aptGet(['update']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/^(W|E):/m);
    const dl = join(c.root, 'dl');
    run('mkdir', ['-p', dl]);
    for (const [name, deb] of [['demo-tool', debs.tool1!], ['demo-data', debs.data1!]] as const) {
      const d = c.aptGet(['download', name], dl);
      expect(d.status, d.stderr).toBe(0);
      const got = (await readdir(dl)).find((f) => f.startsWith(`${name}_`))!;
      expect(await readFile(join(dl, got))).toEqual(await readFile(deb));
    }
  });

  it('signs Release (Release.gpg) and InRelease so that gpgv accepts both', () => {
    const keyring = join(work.path, 'keyring.gpg');
    run('gpg', ['--batch', '--yes', '--output', keyring, '--dearmor', keyFile]);
    const dist = join(aptDir, 'dists/stable');
    expect(run('gpgv', ['--keyring', keyring, 'Release.gpg', 'Release'], { cwd: dist }).status).toBe(0);
    const inRelease = run('gpgv', ['--keyring', keyring, '--output', '-', 'InRelease'], { cwd: dist });
    expect(inRelease.status, inRelease.stderr).toBe(0);
  });

  it('writes Packages.gz as the gzip of Packages, and a Release listing both with SHA256 and size', async () => {
    const dir = join(aptDir, 'dists/stable/main/binary-amd64');
    const packages = await readFile(join(dir, 'Packages'));
    expect(gunzipSync(await readFile(join(dir, 'Packages.gz')))).toEqual(packages);
    const release = await readFile(join(aptDir, 'dists/stable/Release'), 'utf8');
    expect(release).toMatch(/^Suite: stable$/m);
    expect(release).toMatch(/^Codename: stable$/m);
    expect(release).toMatch(/^Date: Sun, 01 Mar 2026 12:00:00 UTC$/m);
    expect(release).toMatch(/^Architectures: amd64 all$/m);
    expect(release).toMatch(/^Valid-Until: Thu, 01 Jan 2099 00:00:00 UTC$/m);
    expect(release).toMatch(/^Acquire-By-Hash: yes$/m);
    expect(release).toMatch(new RegExp(`^Signed-By: ${openpgpFingerprint(pgp)}$`, 'm'));
    expect(release).not.toMatch(/^MD5Sum:/m);
    const sha = run('sha256sum', [join(dir, 'Packages')]).stdout.slice(0, 64);
    expect(release).toContain(` ${sha} ${String(packages.length).padStart(3)} main/binary-amd64/Packages\n`);
    // The arch-all package is listed in the amd64 index as well as in binary-all.
    expect(packages.toString()).toContain('Package: demo-data\n');
  });

  it('fails apt-get update when Packages is tampered with (hash mismatch against the signed Release)', async () => {
    const dir = join(aptDir, 'dists/stable/main/binary-amd64');
    // apt fetches the indexes by hash (Acquire-By-Hash), so tamper with what it fetches.
    const byHash = join(dir, 'by-hash', 'SHA256');
    const copies = await readdir(byHash);
    const saved = new Map(await Promise.all(copies.map(async (f) => [f, await readFile(join(byHash, f))] as const)));
    try {
      for (const [f, bytes] of saved) {
        const plain = f === run('sha256sum', [join(dir, 'Packages')]).stdout.slice(0, 64);
        const text = plain ? bytes : gunzipSync(bytes);
        const evil = Buffer.concat([text, Buffer.from('\nPackage: evil\nVersion: 1\nArchitecture: amd64\nFilename: pool/evil.deb\nSize: 1\nSHA256: ' + '0'.repeat(64) + '\n')]);
        await writeFile(join(byHash, f), plain ? evil : (await import('node:zlib')).gzipSync(evil));
      }
      const r = (await client()).aptGet(['update']);
      expect(r.status).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/Hash Sum mismatch|File has unexpected size/);
    } finally {
      for (const [f, bytes] of saved) await writeFile(join(byHash, f), bytes);
    }
  });

  it('fails apt-get update when InRelease is altered after signing', async () => {
    const dist = join(aptDir, 'dists/stable');
    const saved = await readFile(join(dist, 'InRelease'), 'utf8');
    try {
      await writeFile(join(dist, 'InRelease'), saved.replace('Label: Demo releases', 'Label: Evil releases'));
      const r = (await client()).aptGet(['update']);
      expect(r.status).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/not signed|NO_PUBKEY|BADSIG|signature/i);
    } finally {
      await writeFile(join(dist, 'InRelease'), saved);
    }
  });

  it('refuses a package from the pool whose bytes were swapped (apt-get download fails)', async () => {
    const pool = join(aptDir, 'pool/main/d/demo-tool/demo-tool_1.0.0_amd64.deb');
    const saved = await readFile(pool);
    const c = await client();
    expect(c.aptGet(['update']).status).toBe(0);
    try {
      await copyFile(debs.tool1Other!, pool);
      const dl = join(c.root, 'dl');
      run('mkdir', ['-p', dl]);
      expect(c.aptGet(['download', 'demo-tool=1.0.0'], dl).status).not.toBe(0);
      expect(await readdir(dl)).not.toContain('demo-tool_1.0.0_amd64.deb');
    } finally {
      await writeFile(pool, saved);
    }
  });

  it('refuses to republish a version with other bytes, and leaves the repository as it was', async () => {
    const release = await readFile(join(aptDir, 'dists/stable/InRelease'));
    await expectCode(updateAptRepository({ aptDir, debs: [debs.tool1Other!], pgp, date, origin: 'Demo', label: 'Demo releases', validUntil }), 'E_APT_CONFLICT');
    expect(await readFile(join(aptDir, 'dists/stable/InRelease'))).toEqual(release);
  });

  it('refuses a file that is not a .deb', async () => {
    const bogus = join(work.path, 'bogus.deb');
    await writeFile(bogus, 'not an ar archive');
    await expectCode(updateAptRepository({ aptDir, debs: [bogus], pgp, date, origin: 'Demo', label: 'Demo releases', validUntil }), 'E_DEB_INVALID');
  });

  it('keeps earlier versions when the next release starts from the published dists/ only', async () => {
    // What the release does: a staging apt/ holding a copy of dists/, not the pool.
    const staging = join(work.path, 'staging', 'apt');
    run('mkdir', ['-p', staging]);
    run('cp', ['-r', join(aptDir, 'dists'), staging]);
    const later = new Date('2026-04-01T00:00:00Z');
    const written = await updateAptRepository({ aptDir: staging, debs: [debs.tool2!, debs.libx!, debs.data1!], pgp, date: later, origin: 'Demo', label: 'Demo releases', validUntil });
    expect(written.filter((p) => p.startsWith('pool/'))).toEqual(['pool/main/d/demo-tool/demo-tool_1.1.0_amd64.deb', 'pool/main/libd/libdemo1/libdemo1_1.1.0-1_arm64.deb']);
    expect(written).toContain('dists/stable/main/binary-arm64/Packages');
    run('cp', ['-r', `${staging}/.`, aptDir]); // publish over the host copy

    const c = await client();
    expect(c.aptGet(['update']).status).toBe(0);
    const madison = run('apt-cache', ['madison', 'demo-tool'], { env: c.env }).stdout;
    expect(madison).toMatch(/demo-tool \| +1\.1\.0 \|/);
    expect(madison).toMatch(/demo-tool \| +1\.0\.0 \|/);
    const dl = join(c.root, 'dl');
    run('mkdir', ['-p', dl]);
    expect(c.aptGet(['download', 'demo-tool=1.0.0'], dl).status).toBe(0);
    expect(await readFile(join(dl, 'demo-tool_1.0.0_amd64.deb'))).toEqual(await readFile(debs.tool1!));

    const arm = await client('arm64');
    expect(arm.aptGet(['update']).status).toBe(0);
    const armDl = join(arm.root, 'dl');
    run('mkdir', ['-p', armDl]);
    expect(arm.aptGet(['download', 'libdemo1', 'demo-data'], armDl).status).toBe(0);
    expect((await readdir(armDl)).sort()).toEqual(['demo-data_1.0.0_all.deb', 'libdemo1_2%3a1.1.0-1_arm64.deb']);
  });

  it('serves arch-all packages to an architecture it never named, through binary-all', async () => {
    const c = await client('riscv64');
    const r = c.aptGet(['update']);
    expect(r.status, r.stderr).toBe(0);
    const dl = join(c.root, 'dl');
    run('mkdir', ['-p', dl]);
    expect(c.aptGet(['download', 'demo-data'], dl).status).toBe(0);
    expect(await readFile(join(dl, 'demo-data_1.0.0_all.deb'))).toEqual(await readFile(debs.data1!));
  });

  it('writes the same bytes for the same packages and date', async () => {
    const a = join(work.path, 'det-a');
    const b = join(work.path, 'det-b');
    for (const d of [a, b]) await updateAptRepository({ aptDir: d, debs: [debs.data1!, debs.tool1!], pgp, date, origin: 'Demo', label: 'Demo releases', validUntil });
    for (const f of ['dists/stable/InRelease', 'dists/stable/Release.gpg', 'dists/stable/main/binary-all/Packages.gz']) {
      expect(await readFile(join(a, f))).toEqual(await readFile(join(b, f)));
    }
  });
});
