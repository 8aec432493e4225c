// A throwaway apt client: every path apt reads or writes (configuration, sources,
// keyrings, lists, cache, dpkg status) lives under one temporary root, chosen through
// APT_CONFIG before apt reads anything else, so no test touches the system's apt.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Signer } from '../../lib/keys/signer.js';
import { openpgpCertificate } from '../../lib/repo/compat/index.js';
import { releaseToRepository } from '../../lib/repo/release.js';
import { run, type RunResult } from './compat-tools.js';
import type { LifecycleRepo } from './lifecycle-repo.js';
import { memorySigner } from './memory-signer.js';

export interface AptClient {
  root: string;
  env: NodeJS.ProcessEnv;
  aptGet(args: readonly string[], cwd?: string): RunResult;
  /** apt-get without blocking the event loop: for a repository served by this process over HTTP. */
  aptGetAsync(args: readonly string[]): Promise<RunResult>;
}

/** Makes `<root>/etc/apt/{sources.list.d,keyrings,apt.conf.d}`, state and cache; `arch` is the client's native architecture. */
export async function aptClient(root: string, arch = 'amd64'): Promise<AptClient> {
  for (const d of ['etc/apt/sources.list.d', 'etc/apt/keyrings', 'etc/apt/apt.conf.d', 'etc/apt/trusted.gpg.d', 'etc/apt/preferences.d', 'state/lists/partial', 'cache/archives/partial', 'log']) {
    await mkdir(join(root, d), { recursive: true });
  }
  await writeFile(join(root, 'state/status'), '');
  const conf = [
    // Read first (APT_CONFIG), so the system's apt.conf.d and apt.conf are never read.
    `Dir::Etc "${root}/etc/apt/";`,
    `Dir::Etc::Parts "${root}/etc/apt/apt.conf.d";`,
    `Dir::Etc::Main "${root}/etc/apt/apt.conf";`,
    `Dir::Etc::Trusted "${root}/etc/apt/trusted.gpg";`,
    `Dir::Etc::TrustedParts "${root}/etc/apt/trusted.gpg.d";`,
    `Dir::State "${root}/state/";`,
    `Dir::State::status "${root}/state/status";`,
    `Dir::Cache "${root}/cache/";`,
    `Dir::Log "${root}/log/";`,
    `APT::Architecture "${arch}";`,
    `APT::Architectures { "${arch}"; };`,
    // The file: method runs as the _apt sandbox user, which cannot read a 0700 temp dir.
    'APT::Sandbox::User "root";',
    'Debug::NoLocking "true";',
    'Acquire::Languages "none";',
    'Acquire::IndexTargets::deb::DEP-11::DefaultEnabled "false";',
    'Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled "false";',
    'Acquire::IndexTargets::deb::CNF::DefaultEnabled "false";',
    '',
  ].join('\n');
  await writeFile(join(root, 'apt.conf'), conf);
  const env = { APT_CONFIG: join(root, 'apt.conf') };
  return {
    root,
    env,
    aptGet: (args, cwd) => run('apt-get', ['-q', ...args], { env, cwd }),
    aptGetAsync: (args) =>
      new Promise((resolve) => {
        execFile('apt-get', ['-q', ...args], { env: { ...process.env, LC_ALL: 'C', ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
          resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
        });
      }),
  };
}

/** Builds a small deterministic .deb with dpkg-deb (the recipe the demo uses, see docs). */
export async function buildDeb(workDir: string, fields: { package: string; version: string; architecture: string; payload?: string }): Promise<string> {
  const tree = join(workDir, `${fields.package}-${fields.version}-${fields.architecture}`);
  await mkdir(join(tree, 'DEBIAN'), { recursive: true });
  await mkdir(join(tree, 'usr/share', fields.package), { recursive: true });
  await writeFile(
    join(tree, 'DEBIAN/control'),
    `Package: ${fields.package}\nVersion: ${fields.version}\nArchitecture: ${fields.architecture}\nMaintainer: Demo <demo@example.org>\nDescription: airlock test package\n A package for the apt repository tests.\n`,
  );
  await writeFile(join(tree, 'usr/share', fields.package, 'payload.txt'), fields.payload ?? `${fields.package} ${fields.version}\n`);
  const out = join(workDir, `${fields.package}_${fields.version}_${fields.architecture}.deb`);
  const r = run('sh', ['-c', 'umask 022 && chmod -R u=rwX,go=rX "$1" && dpkg-deb --root-owner-group -Zgzip --build "$1" "$2"', 'sh', tree, out], { env: { SOURCE_DATE_EPOCH: '1767225600' } });
  if (r.status !== 0) throw new Error(`dpkg-deb failed: ${r.stderr}`);
  return out;
}

/** Releases hello `version` as a .deb (dpkg-deb) into a lifecycle repository, its apt Release signed by `pgp` and co-signed by `aptCosigners`. */
export async function releaseHelloDeb(repo: LifecycleRepo, workDir: string, version: string, pgp: Signer, aptCosigners: Signer[], now = new Date()): Promise<void> {
  const deb = await buildDeb(workDir, { package: 'hello', version, architecture: 'all' });
  await releaseToRepository(
    repo.repoDir,
    repo.staging,
    { project: 'hello', version, commit: 'c'.repeat(40), branch: `release/${version}`, sourceDateEpoch: 1768478400, artifacts: [{ name: `hello_${version}_all.deb`, path: deb }], provenance: new TextEncoder().encode('{}') },
    { ...repo.online, pgp, minisign: memorySigner('minisign'), aptCosigners },
    { now, expiryDays: repo.expiryDays, name: 'Hello Releases' },
  );
}

/** Writes `<name>.asc` (the key's certificate) and `<name>.gpg` (dearmored, for gpgv --keyring) into `dir`. */
export async function pgpKeyFiles(dir: string, name: string, key: Signer): Promise<void> {
  await writeFile(join(dir, `${name}.asc`), await openpgpCertificate(key, 'Hello Releases'));
  const r = run('gpg', ['--batch', '--yes', '--dearmor', '-o', join(dir, `${name}.gpg`), join(dir, `${name}.asc`)]);
  if (r.status !== 0) throw new Error(`gpg --dearmor failed: ${r.stderr}`);
}

/** The keys whose signatures gpgv finds valid on `file` (InRelease, or X.gpg beside X) with `keyring` (a dearmored key). */
export function gpgvSigners(file: string, keyring: string): string[] {
  const v = run('gpgv', ['--keyring', keyring, '--status-fd', '1', file, ...(file.endsWith('.gpg') ? [file.replace(/\.gpg$/, '')] : [])]);
  return [...v.stdout.matchAll(/^\[GNUPG:\] VALIDSIG ([0-9A-F]{40})/gm)].map((m) => m[1]!);
}
