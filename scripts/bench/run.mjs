#!/usr/bin/env node
// `npm run bench`: every benchmark in turn, each measuring airlock against the standard
// tool in the same run (openssl dgst and GNU tar, gpg and minisign, OpenSSH sftp, s3cmd).
// Benchmarks are scripts, never tests: their numbers depend on the machine.
// Extra arguments go to every benchmark (e.g. `npm run bench -- --json`).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const extra = process.argv.slice(2);
let failed = 0;
for (const script of ['hash-archive.mjs', 'sign-release.mjs', 'verify-download.mjs', 'upload-sftp.mjs', 'upload-s3.mjs', 'scale.mjs', 'publish-tree.mjs']) {
  process.stderr.write(`\n== ${script}\n`);
  const r = spawnSync(process.execPath, [join(here, script), ...extra], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
