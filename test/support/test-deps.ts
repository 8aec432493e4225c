// vitest globalSetup: before any test, every Debian package in scripts/test-deps/*.txt
// must be installed. A missing verifier or server fails the whole run at once, naming
// the packages, instead of a skip or an ENOENT deep inside one test.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export default function checkTestDependencies(): void {
  const script = join(import.meta.dirname, '..', '..', 'scripts', 'test-setup.mjs');
  const r = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the test suite cannot run on this machine:\n${r.stderr}`);
  if (r.stderr) process.stderr.write(r.stderr);
}
