// A dnf/yum repository under rpm/, grown release by release: signed packages in
// rpm/Packages/, repodata/ as createrepo_c writes it (repomd.xml naming primary,
// filelists and other metadata by checksum; https://createrepo.baseurl.org/ and
// createrepo_c(8)), repodata/repomd.xml.asc (detached, armored, by the pgp key — a
// primary key, never a subkey: dnf5 refuses subkey-made repomd signatures) and
// <project>.repo (rpm-repo-file.ts).
//
// createrepo_c rather than our own XML: its metadata is what every dnf/yum/zypper
// release is tested against, and it reads the package headers itself (files, provides,
// requires, changelogs) — writing that from scratch means re-implementing rpm's header
// reader. It is a terminal dependency, checked by the release plan before the build
// (rpm-tools.ts), and run with a fixed revision and timestamps so the same packages
// and date give the same repodata.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomic } from '../../core/atomic-file.js';
import { sha256Hex } from '../../core/digest.js';
import { AirlockError, fromSystemError } from '../../core/errors.js';
import type { Signer } from '../../keys/signer.js';
import { openpgpDetachedSignature } from './openpgp-sign.js';
import { formatRpmRepoFile } from './rpm-repo-file.js';
import { signRpmPackage } from './rpm-sign.js';

const run = promisify(execFile);

export interface RpmRepositoryOptions {
  /** rpm/ of the staging tree (written). */
  rpmDir: string;
  /** rpm/ of the repository copy: earlier packages, listed again. */
  publishedRpmDir: string;
  rpms: string[];
  pgp: Signer;
  date: Date;
  project: string;
  name: string;
  /** Public base URL of the host (the .repo file's baseurl and gpgkey). */
  publicUrl: string;
  /** keys/release-signing.asc as published with this release: each signed package is checked against it. */
  publishedKeys: string;
}

const RPM_NAME = /^[A-Za-z0-9][A-Za-z0-9._+~^-]*\.rpm$/;

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Adds signed packages and rewrites the repodata; returns the paths written relative to rpmDir. */
export async function updateRpmRepository(opts: RpmRepositoryOptions): Promise<string[]> {
  const packagesDir = join(opts.rpmDir, 'Packages');
  await mkdir(packagesDir, { recursive: true });
  const written: string[] = [];
  for (const rpm of opts.rpms) {
    const name = basename(rpm);
    if (!RPM_NAME.test(name)) throw new AirlockError('E_ARTIFACT_NAME', `${name} is not a plain .rpm file name`);
    if (await exists(join(opts.publishedRpmDir, 'Packages', name))) throw new AirlockError('E_RELEASE_EXISTS', `rpm/Packages/${name} is already published; a published package never changes — release it under a new version`);
    const target = join(packagesDir, name);
    await copyFile(rpm, target).catch((err: unknown) => {
      throw fromSystemError(err, `copying ${rpm}`);
    });
    await signRpmPackage(target, opts.pgp, opts.date, { kind: 'rpm-header', name: `rpm/Packages/${name}` }, opts.publishedKeys);
    written.push(`Packages/${name}`);
  }
  // Incremental (issue 19): the earlier packages are listed from the published repodata
  // (createrepo_c --update --update-md-path with --recycle-pkglist and --skip-stat), so
  // no earlier .rpm is read, linked or even stat'ed; only the new ones are indexed.
  const revision = String(Math.floor(opts.date.getTime() / 1000));
  const args = ['--quiet', '--no-database', '--general-compress-type=gz', `--revision=${revision}`, '--set-timestamp-to-revision'];
  const listDir = await mkdtemp(join(tmpdir(), 'airlock-rpm-'));
  try {
    if (await exists(join(opts.publishedRpmDir, 'repodata', 'repomd.xml'))) {
      const list = join(listDir, 'pkglist');
      await writeFileAtomic(list, written.map((p) => `${p}\n`).join(''), { durable: false });
      args.push('--update', `--update-md-path=${opts.publishedRpmDir}`, '--recycle-pkglist', '--skip-stat', `--pkglist=${list}`);
    }
    await run('createrepo_c', [...args, opts.rpmDir], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' } });
  } catch (err) {
    throw new AirlockError('E_RPM_INVALID', `createrepo_c could not index the packages: ${String((err as { stderr?: unknown }).stderr ?? '').trim().split('\n').at(-1) ?? ''}`, { cause: err });
  } finally {
    await rm(listDir, { recursive: true, force: true });
  }
  await rm(join(opts.rpmDir, 'repodata', '.repodata'), { recursive: true, force: true });
  for (const f of (await readdir(join(opts.rpmDir, 'repodata'))).sort()) if (f !== 'repomd.xml') written.push(`repodata/${f}`);
  const repomd = await readFile(join(opts.rpmDir, 'repodata', 'repomd.xml'));
  const asc = await openpgpDetachedSignature(opts.pgp, new Uint8Array(repomd), opts.date, { kind: 'rpm-repomd', name: 'rpm/repodata/repomd.xml', sha256: sha256Hex(repomd) });
  await writeFileAtomic(join(opts.rpmDir, 'repodata', 'repomd.xml.asc'), asc);
  const base = opts.publicUrl.replace(/\/+$/, '');
  await writeFileAtomic(join(opts.rpmDir, `${opts.project}.repo`), formatRpmRepoFile({ id: opts.project, name: opts.name, baseUrl: `${base}/rpm`, gpgKey: `${base}/keys/release-signing.asc` }));
  written.push('repodata/repomd.xml', 'repodata/repomd.xml.asc', `${opts.project}.repo`);
  return written;
}
