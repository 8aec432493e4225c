// Runs the copy-paste commands of docs/verifying.md, as written, against a freshly
// signed release: the doc cannot drift from what the tools accept. The only changes
// are the ones a test machine needs: the example host becomes a file:// URL (for dnf
// and rpm, the loopback HTTP server the published .repo file names), apt's /etc/apt
// (and sudo) become a throwaway apt root (see test/support/compat-apt.ts), dnf installs
// into a scratch installroot with its own repos and cache directories and answers yes,
// and rpmkeys keeps its keyring in a scratch rpmdb.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  minisignPublicKey,
  openpgpCertificate,
  openpgpFingerprint,
  updateAllowedSigners,
  updateAptRepository,
  updateKeysFile,
  writeReleaseSignatures,
} from '../../../lib/repo/compat/index.js';
import { updateRpmRepository } from '../../../lib/repo/compat/rpm-repository.js';
import { aptClient, buildDeb, type AptClient } from '../../support/compat-apt.js';
import { buildRpm } from '../../support/compat-rpm.js';
import { flipByte, run, sh, tempDir, type RunResult } from '../../support/compat-tools.js';
import { memorySigner } from '../../support/memory-signer.js';
import { serveDirectory, type StaticServer } from '../../support/static-http.js';

const DOC = new URL('../../../docs/verifying.md', import.meta.url);
const EXAMPLE_HOST = 'https://releases.example.org';
const pgp = memorySigner('pgp');
const mini = memorySigner('minisign');
const ssh = memorySigner('ssh');
const laterSsh = memorySigner('ssh');
// The doc's example trusted comment carries this timestamp.
const signedAt = new Date('2026-01-01T00:00:00Z');

let doc: string;
let blocks: Map<string, string>;
let work: { path: string; remove(): Promise<void> };
let host: string;
let downloads: string;
let apt: AptClient;
let deb: string;
let rpm: string;
let server: StaticServer;
let dnfRuns = 0;

/** The shell blocks marked `<!-- doc-test: NAME -->` in the doc. */
function docBlocks(text: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of text.matchAll(/<!-- doc-test: ([a-z0-9-]+) -->\n```sh\n([\s\S]*?)```/g)) found.set(m[1]!, m[2]!);
  return found;
}

function runBlock(name: string): RunResult {
  const script = blocks
    .get(name)!
    .replaceAll(EXAMPLE_HOST, `file://${host}`)
    .replace(/\bsudo /g, '')
    .replaceAll('/etc/apt/', `${apt.root}/etc/apt/`);
  return sh(script, { cwd: downloads, env: { ...apt.env, GNUPGHOME: join(work.path, 'gnupg'), HOME: work.path } });
}

const execFileAsync = promisify(execFile);

/**
 * The dnf and rpm blocks, run without blocking (the test's own HTTP server must keep
 * answering): the host is that server, /etc/yum.repos.d a scratch directory, dnf installs
 * into a fresh installroot (`-y`: no one to answer its key prompt), rpmkeys uses a
 * scratch rpmdb.
 */
async function runRpmBlock(name: 'dnf' | 'rpm-checksig'): Promise<RunResult & { root: string }> {
  const root = join(work.path, `dnf-${++dnfRuns}`);
  await mkdir(join(root, 'yum.repos.d'), { recursive: true });
  await mkdir(join(root, 'rpmdb'), { recursive: true });
  const dnf = ['dnf', '-y', `--installroot=${join(root, 'installroot')}`, `--setopt=reposdir=${join(root, 'yum.repos.d')}`, `--setopt=cachedir=${join(root, 'cache')}`, '--setopt=install_weak_deps=False', '--releasever=1'].join(' ');
  const script = blocks
    .get(name)!
    .replaceAll(EXAMPLE_HOST, server.url)
    .replace(/\bsudo /g, '')
    .replaceAll('/etc/yum.repos.d/', `${join(root, 'yum.repos.d')}/`)
    .replace(/\bdnf install /g, `${dnf} install `)
    .replace(/\brpmkeys /g, `rpmkeys --dbpath ${join(root, 'rpmdb')} `);
  try {
    const r = await execFileAsync('bash', ['-euo', 'pipefail', '-c', script], { cwd: downloads, env: { ...process.env, LC_ALL: 'C', HOME: work.path }, timeout: 170_000 });
    return { status: 0, stdout: r.stdout, stderr: r.stderr, root };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    return { status: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '', root };
  }
}

beforeAll(async () => {
  doc = await readFile(DOC, 'utf8');
  blocks = docBlocks(doc);
  work = await tempDir('compat-doc');
  host = join(work.path, 'host');
  downloads = join(work.path, 'downloads');
  const releaseDir = join(host, 'releases/demo/1.0.0');
  await mkdir(releaseDir, { recursive: true });
  await mkdir(join(host, 'keys'), { recursive: true });
  await mkdir(downloads, { recursive: true });
  await mkdir(join(work.path, 'gnupg'), { recursive: true, mode: 0o700 });
  await writeFile(join(releaseDir, 'demo-1.0.0.tar.gz'), randomBytes(200_000));
  deb = await buildDeb(work.path, { package: 'demo', version: '1.0.0', architecture: 'all' });
  await copyFile(deb, join(releaseDir, 'demo_1.0.0_all.deb'));
  const certificate = await openpgpCertificate(pgp, 'Demo Releases <releases@example.org>');
  await writeFile(join(host, 'keys/release-signing.asc'), certificate);
  await updateKeysFile(join(host, 'keys'), join(host, 'keys'), pgp, 'Demo Releases <releases@example.org>', certificate);
  await writeFile(join(host, 'keys/minisign.pub'), minisignPublicKey(mini));
  await updateAllowedSigners(join(host, 'keys'), join(host, 'keys'), ssh, 'demo', signedAt);
  await writeReleaseSignatures({ dir: releaseDir, files: ['demo-1.0.0.tar.gz', 'demo_1.0.0_all.deb'], project: 'demo', version: '1.0.0', pgp, minisign: mini, ssh, date: signedAt });
  await updateAptRepository({ aptDir: join(host, 'apt'), debs: [deb], pgp, date: signedAt, origin: 'demo', label: 'demo', validUntil: new Date('2099-01-01T00:00:00Z') });
  apt = await aptClient(join(work.path, 'apt-root'));
  // The rpm repository, with the .repo file naming the test's loopback server.
  rpm = await buildRpm(join(work.path, 'rpmbuild'), 'demo', '1.0.0');
  server = await serveDirectory(host);
  await updateRpmRepository({ rpmDir: join(host, 'rpm'), publishedRpmDir: join(host, 'rpm'), rpms: [rpm], pgp, date: signedAt, project: 'demo', name: 'Demo Releases', publicUrl: server.url, publishedKeys: certificate });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await work?.remove();
});

describe('docs/verifying.md', () => {
  it('has the tested blocks', () => {
    expect([...blocks.keys()]).toEqual(['download', 'keys', 'gpgv', 'gpg', 'sha256sums', 'minisign', 'sshsig', 'sshsig-old', 'maven', 'dnf', 'rpm-checksig', 'apt', 'apt-download']);
  });

  it('downloads the release and the keys; the key shows its fingerprint', () => {
    for (const name of ['download', 'keys']) {
      const r = runBlock(name);
      expect(r.status, `${name}: ${r.stderr}`).toBe(0);
      if (name === 'keys') {
        expect(r.stdout).toContain(openpgpFingerprint(pgp));
        expect(r.stdout).toMatch(/^pub +ed25519 /m);
        expect(r.stdout).toMatch(/^untrusted comment: minisign public key [0-9A-F]{16}$/m);
      }
    }
  });

  it('verifies with gpgv, gpg, SHA256SUMS and minisign as the doc says', () => {
    const gpgv = runBlock('gpgv');
    expect(gpgv.status, gpgv.stderr).toBe(0);
    expect(gpgv.stderr).toContain('Good signature');
    const gpg = runBlock('gpg');
    expect(gpg.status, gpg.stderr).toBe(0);
    expect(gpg.stderr).toContain('Good signature from "Demo Releases <releases@example.org>"');
    const sums = runBlock('sha256sums');
    expect(sums.status, sums.stderr).toBe(0);
    expect(sums.stdout).toContain('demo-1.0.0.tar.gz: OK');
    const minisign = runBlock('minisign');
    expect(minisign.status, minisign.stderr).toBe(0);
    expect(minisign.stdout).toContain('Signature and comment signature verified');
    // The doc's example trusted comment is exactly what minisign shows.
    const example = /^Trusted comment: .*$/m.exec(doc)![0];
    expect(minisign.stdout.split('\n')).toContain(example);
  });

  it('verifies with ssh-keygen and allowed_signers, Maven style with KEYS and .sha512', () => {
    const sshsig = runBlock('sshsig');
    expect(sshsig.status, sshsig.stderr).toBe(0);
    expect(sshsig.stdout).toMatch(/^Good "file" signature for demo with ED25519 key SHA256:/);
    const maven = runBlock('maven');
    expect(maven.status, maven.stderr).toBe(0);
    expect(maven.stderr).toContain('Good signature from "Demo Releases <releases@example.org>"');
    expect(maven.stdout).toContain('demo-1.0.0.tar.gz: OK');
  });

  it('after an ssh key change, the old release verifies with -Overify-time as the doc shows, and not without it', async () => {
    const keysDir = join(host, 'keys');
    const before = await readFile(join(keysDir, 'allowed_signers'));
    await updateAllowedSigners(keysDir, keysDir, laterSsh, 'demo', new Date('2026-06-01T00:00:00Z'));
    try {
      expect(runBlock('sshsig').status).not.toBe(0);
      const old = runBlock('sshsig-old');
      expect(old.status, old.stderr).toBe(0);
    } finally {
      await writeFile(join(keysDir, 'allowed_signers'), before);
      runBlock('sshsig');
    }
  });

  it('installs with dnf as the doc says (gpgcheck and repo_gpgcheck on, the published key)', async () => {
    const r = await runRpmBlock('dnf');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain(`Fingerprint: ${openpgpFingerprint(pgp).replace(/(.{4})(?!$)/g, '$1 ')}`);
    expect(await readFile(join(r.root, 'installroot', 'usr/share/demo/demo.txt'), 'utf8')).toBe('demo 1.0.0\n');
  }, 180_000);

  it('checks the package with rpmkeys as the doc says, and shows the line it names', async () => {
    const r = await runRpmBlock('rpm-checksig');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Header V4 EdDSA/SHA256 Signature, key ID ${openpgpFingerprint(pgp).slice(-8).toLowerCase()}: OK`));
    // As the doc warns: a package without a signature passes on its digests alone.
    const unsigned = run('rpmkeys', ['--dbpath', join(r.root, 'rpmdb'), '--checksig', '-v', rpm]);
    expect(unsigned.status).toBe(0);
    expect(unsigned.stdout).not.toMatch(/Signature/);
  }, 60_000);

  it('sets up apt as the doc says; apt-get update and apt-get download work', async () => {
    const r = runBlock('apt');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/^(W|E):/m);
    const d = runBlock('apt-download');
    expect(d.status, d.stderr).toBe(0);
    expect(await readFile(join(downloads, 'demo_1.0.0_all.deb'))).toEqual(await readFile(deb));
  });

  it('fails every check when one byte of the file is flipped', async () => {
    const file = join(downloads, 'demo-1.0.0.tar.gz');
    const original = await readFile(file);
    await writeFile(file, flipByte(original, 100_000));
    try {
      const gpgv = runBlock('gpgv');
      expect(gpgv.status).not.toBe(0);
      expect(gpgv.stderr).toContain('BAD signature');
      const gpg = runBlock('gpg');
      expect(gpg.status).not.toBe(0);
      expect(gpg.stderr).toContain('BAD signature');
      const sums = runBlock('sha256sums');
      expect(sums.status).not.toBe(0);
      expect(sums.stdout).toContain('demo-1.0.0.tar.gz: FAILED');
      const minisign = runBlock('minisign');
      expect(minisign.status).not.toBe(0);
      expect(minisign.stderr).toContain('Signature verification failed');
      expect(runBlock('sshsig').status).not.toBe(0);
      const maven = runBlock('maven');
      expect(maven.status).not.toBe(0);
      expect(maven.stderr).toContain('BAD signature');
    } finally {
      await writeFile(file, original);
    }
  });

  it('rpmkeys refuses the package when one byte of its payload is flipped (the doc\'s curl fetches the host\'s, so the host\'s is flipped)', async () => {
    const file = join(host, 'rpm', 'Packages', 'demo-1.0.0-1.noarch.rpm');
    const original = await readFile(file);
    // Near the end: the payload. (The middle of a small package is the signature
    // header's reserved space, which no digest covers and nothing reads.)
    await writeFile(file, flipByte(original, original.length - 64));
    try {
      const r = await runRpmBlock('rpm-checksig');
      expect(r.status, r.stdout + r.stderr).not.toBe(0);
      expect(r.stdout).toMatch(/BAD/);
    } finally {
      await writeFile(file, original);
    }
  }, 60_000);
});
