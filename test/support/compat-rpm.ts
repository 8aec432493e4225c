// A tiny deterministic .rpm for the rpm tests, built with rpmbuild the way docs/recipe.md
// "Building a deterministic .rpm" shows (SOURCE_DATE_EPOCH as build time and clamped
// file times, a fixed build host).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
