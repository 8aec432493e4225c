// scripts/provision-terminal.sh on this (already provisioned) Debian machine: the dry
// run changes nothing, a real run is idempotent and makes a private terminal home, and
// both end by running `airlock doctor` (whose exit code they return).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, projectRoot } from '../support/e2e-cli.js';

const script = join(projectRoot, 'scripts', 'provision-terminal.sh');
let work: string;

function provision(args: string[], home: string) {
  return spawnSync('bash', [script, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, HOME: join(work, 'user'), AIRLOCK_HOME: home },
    timeout: 120_000,
  });
}

beforeAll(async () => {
  await ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'airlock-provision-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('scripts/provision-terminal.sh', () => {
  it('--dry-run changes nothing and ends with airlock doctor', () => {
    const home = join(work, 'dry');
    const r = provision(['--dry-run', '--', '--json'], home);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('running airlock doctor');
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(report.checks.map((c: { id: string }) => c.id)).toContain('tools');
    expect(existsSync(home)).toBe(false);
  });

  it('a real run on a provisioned machine is idempotent, makes a 0700 home, and returns doctor --strict’s exit code', async () => {
    const dry = provision(['--dry-run'], join(work, 'probe'));
    // Only where nothing needs installing: a test must not run apt-get on a developer's machine.
    if (!dry.stderr.includes('toolchain already installed')) return;
    const home = join(work, 'real');
    for (let i = 0; i < 2; i++) {
      const r = provision(['--', '--strict', '--json'], home);
      const report = JSON.parse(r.stdout.trim().split('\n').pop()!);
      expect(r.status).toBe(report.ok ? 0 : 1);
      expect((await stat(home)).mode & 0o777).toBe(0o700);
    }
  });

  it('refuses an unknown argument with exit 2', () => {
    expect(provision(['--bogus'], join(work, 'x')).status).toBe(2);
  });
});
