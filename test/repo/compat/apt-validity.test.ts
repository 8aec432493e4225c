// apt the way apt users expect, judged by apt-get itself: a Release that lapses
// (Valid-Until) is refused — a frozen mirror — until `airlock refresh` re-signs it;
// indexes are fetched by hash; suite, codename, components and architectures follow
// airlock.json; InRelease never carries text GnuPG and apt could read differently.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openpgpClearsign, openpgpFingerprint } from '../../../lib/repo/compat/index.js';
import { formatRelease, parseAptLayout } from '../../../lib/repo/compat/apt-release.js';
import { refreshRepository } from '../../../lib/repo/refresh.js';
import { releaseToRepository } from '../../../lib/repo/release.js';
import { repositoryStatus } from '../../../lib/repo/status.js';
import { aptClient, buildDeb, type AptClient } from '../../support/compat-apt.js';
import { run, tempDir } from '../../support/compat-tools.js';
import { codeOf } from '../../support/error-codes.js';
import { lifecycleRepo, type LifecycleRepo } from '../../support/lifecycle-repo.js';
import { memorySigner } from '../../support/memory-signer.js';

const DAY = 86_400_000;
const pgp = memorySigner('pgp');
const minisign = memorySigner('minisign');
const layout = parseAptLayout({ suite: 'stable', codename: 'hello-releases', components: ['main', 'extra'], architectures: ['amd64', 'arm64'] }, 'airlock.json');
let repo: LifecycleRepo;
let work: { path: string; remove(): Promise<void> };
let apt: AptClient;

/** apt-get with the clock moved `days` ahead (libfaketime, the Debian package faketime). */
function aptGetAt(days: number, args: string[]) {
  return run('faketime', ['-f', `+${days}d`, 'apt-get', '-q', ...args], { env: apt.env });
}

beforeAll(async () => {
  repo = await lifecycleRepo({ rootKeys: 1, threshold: 1 });
  work = await tempDir('apt-validity');
  const deb = await buildDeb(work.path, { package: 'hello', version: '1.0.0', architecture: 'all' });
  await releaseToRepository(
    repo.repoDir,
    repo.staging,
    { project: 'hello', version: '1.0.0', commit: 'c'.repeat(40), branch: 'release/1.0.0', sourceDateEpoch: 1768478400, artifacts: [{ name: 'hello_1.0.0_all.deb', path: deb }], provenance: new TextEncoder().encode('{}') },
    { ...repo.online, pgp, minisign },
    { now: new Date(), expiryDays: repo.expiryDays, name: 'Hello Releases', apt: layout },
  );
  const keyFile = join(repo.repoDir, 'keys', 'release-signing.asc');
  apt = await aptClient(join(work.path, 'apt-root'));
  await writeFile(join(apt.root, 'etc/apt/sources.list.d/hello.list'), `deb [signed-by=${keyFile}] file://${repo.repoDir}/apt hello-releases main extra\n`);
}, 120_000);

afterAll(async () => {
  await repo?.cleanup();
  await work?.remove();
});

describe('Valid-Until: a frozen mirror', () => {
  it('apt-get update accepts the fresh repository, in the configured codename and components, fetching indexes by hash', async () => {
    const r = apt.aptGet(['update', '-o', 'Debug::pkgAcquire::Worker=1']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/^(W|E):/m);
    // apt's acquire log: the indexes came from by-hash/SHA256/<hex>, not from their plain names.
    expect(r.stdout + r.stderr).toMatch(/dists\/hello-releases\/main\/binary-amd64\/by-hash\/SHA256\/[0-9a-f]{64}/);
    const release = await readFile(join(repo.repoDir, 'apt/dists/hello-releases/Release'), 'utf8');
    expect(release).toMatch(/^Suite: stable\nCodename: hello-releases\n/m);
    expect(release).toMatch(/^Components: main extra$/m);
    expect(release).toMatch(/^Architectures: amd64 arm64 all$/m);
    expect(release).toMatch(new RegExp(`^Signed-By: ${openpgpFingerprint(pgp)}$`, 'm'));
    const dl = join(work.path, 'dl');
    run('mkdir', ['-p', dl]);
    expect(apt.aptGet(['download', 'hello'], dl).status).toBe(0);
  });

  it('once Valid-Until has passed, apt-get update refuses the repository, and status says so', async () => {
    const r = aptGetAt(repo.expiryDays.timestamp + 1, ['update']);
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/is expired/);
    const later = await repositoryStatus(repo.repoDir, new Date(Date.now() + (repo.expiryDays.timestamp + 1) * DAY), 3);
    expect(later.apt).toEqual([expect.objectContaining({ dist: 'hello-releases', warning: 'expired' })]);
    expect((await repositoryStatus(repo.repoDir, new Date(), 3)).apt[0]!.warning).toBeUndefined();
  });

  it('after airlock refresh (at that time), apt-get update accepts it again', async () => {
    const days = repo.expiryDays.timestamp + 1;
    const signers = { targets: [repo.online.targets], snapshot: [repo.online.snapshot], timestamp: [repo.online.timestamp] };
    const result = await refreshRepository(repo.repoDir, repo.staging, signers, { now: new Date(Date.now() + days * DAY), expiryDays: repo.expiryDays, marginDays: 3, aptPgp: pgp });
    expect(result.files).toEqual(expect.arrayContaining(['apt/dists/hello-releases/InRelease', 'apt/dists/hello-releases/Release', 'apt/dists/hello-releases/Release.gpg']));
    // The indexes are untouched: only the signed Release changes.
    expect(result.files.filter((f) => f.startsWith('apt/')).length).toBe(3);
    const r = aptGetAt(days, ['update']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/^(W|E):/m);
  });
});

describe('InRelease text (CVE-2025-68972)', () => {
  it('never clearsigns a form feed, another control character or a line ending in blanks', async () => {
    const subject = { kind: 'apt-release', name: 'Release' };
    for (const text of ['Origin: a\f\nLabel: b\n', 'Origin: a \nLabel: b\n', 'Origin: a\t\n', 'Origin: a\rLabel: b\n']) {
      expect(await codeOf(openpgpClearsign(pgp, text, new Date(), subject))).toBe('E_CLEARSIGN_TEXT');
    }
    const fields = { label: 'x', layout, architectures: ['amd64'], date: new Date(), validUntil: new Date(), signedBy: [], files: [{ path: 'main/binary-amd64/Packages', sha256: '0'.repeat(64), size: 0 }] };
    expect(await codeOf(() => (formatRelease({ ...fields, origin: 'Hello\f' })))).toBe('E_CONFIG');
    expect(await codeOf(() => (formatRelease({ ...fields, origin: 'Hello ' })))).toBe('E_CONFIG');
    expect(await codeOf(() => (parseAptLayout({ codename: 'Bad Name' }, 'airlock.json')))).toBe('E_CONFIG');
    expect(await codeOf(() => (parseAptLayout({ architectures: [] }, 'airlock.json')))).toBe('E_CONFIG');
  });

  it('the text gpgv verifies in InRelease is exactly the Release file, byte for byte', async () => {
    const dist = join(repo.repoDir, 'apt/dists/hello-releases');
    const keyring = join(work.path, 'keyring.gpg');
    run('gpg', ['--batch', '--yes', '--output', keyring, '--dearmor', join(repo.repoDir, 'keys', 'release-signing.asc')]);
    const out = join(work.path, 'signed-text');
    const r = run('gpgv', ['--keyring', keyring, '--output', out, join(dist, 'InRelease')]);
    expect(r.status, r.stderr).toBe(0);
    expect(await readFile(out, 'utf8')).toBe(await readFile(join(dist, 'Release'), 'utf8'));
  });
});
