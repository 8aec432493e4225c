// rpm test helpers: a tiny deterministic .rpm built with rpmbuild the way docs/recipe.md
// "A deterministic .rpm" shows (SOURCE_DATE_EPOCH as build time and clamped file times,
// a fixed build host), and dnf installing from a repository into a scratch installroot.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { run } from './compat-tools.js';

export async function buildRpm(dir: string, name = 'hello', version = '1.0.0'): Promise<string> {
  await mkdir(join(dir, 'SPECS'), { recursive: true });
  await writeFile(
    join(dir, 'SPECS', `${name}.spec`),
    [`Name: ${name}`, `Version: ${version}`, 'Release: 1', 'Summary: airlock test package', 'License: MIT', 'BuildArch: noarch', '%description', 'A package for the rpm repository tests.',
      '%install', `mkdir -p %{buildroot}/usr/share/${name}`, `echo "${name} ${version}" > %{buildroot}/usr/share/${name}/${name}.txt`, '%files', `/usr/share/${name}/${name}.txt`, ''].join('\n'),
  );
  const r = run('rpmbuild', ['--define', `_topdir ${dir}`, '--define', 'use_source_date_epoch_as_buildtime 1', '--define', 'clamp_mtime_to_source_date_epoch 1', '--define', '_buildhost reproducible', '-bb', join(dir, 'SPECS', `${name}.spec`)], { env: { SOURCE_DATE_EPOCH: '1767225600' } });
  if (r.status !== 0) throw new Error(`rpmbuild failed: ${r.stderr}`);
  return join(dir, 'RPMS', 'noarch', `${name}-${version}-1.noarch.rpm`);
}

const execFileAsync = promisify(execFile);

/**
 * dnf 4 into a fresh installroot and cache under `root`, with only `repoFile` (a .repo
 * file's bytes) configured; async, so a test's own HTTP server keeps answering.
 */
export async function dnfInstall(root: string, repoFile: Uint8Array, pkg: string): Promise<{ status: number; stdout: string; stderr: string }> {
  const repos = join(root, 'repos');
  await mkdir(repos, { recursive: true });
  await writeFile(join(repos, 'test.repo'), repoFile);
  const args = ['-y', `--installroot=${join(root, 'installroot')}`, `--setopt=reposdir=${repos}`, `--setopt=cachedir=${join(root, 'cache')}`, '--setopt=install_weak_deps=False', '--releasever=1', 'install', pkg];
  try {
    const r = await execFileAsync('dnf', args, { env: { ...process.env, LC_ALL: 'C' }, timeout: 170_000 });
    return { status: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    return { status: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
