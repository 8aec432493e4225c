// The verifier's cold start: `airlock-verify --help` must not load node:crypto (nor the
// other built-ins the bundle defers, scripts/bundle-verifier.mjs); a command that checks
// something must, and `--help` into a pipe must not open the stdout stream (it loads
// node:net and the stream modules: cli/airlock-verify.ts printNow). Node lists every built-in it loaded in process.moduleLoadList, read
// here at exit by a preloaded script.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureBundle } from '../support/verify-clients.js';

function builtinsLoaded(args: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-cold-start-'));
  const preload = join(dir, 'preload.cjs');
  const list = join(dir, 'modules.txt');
  writeFileSync(preload, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));\n`);
  // stdout is a pipe, as under a shell's `|` or a benchmark's timer.
  const run = spawnSync(process.execPath, ['--require', preload, ensureBundle(), ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, AIRLOCK_VERIFY_STATE: join(dir, 'state') } });
  if (args[0] === '--help') expect(run.stdout.toString()).toContain('airlock-verify download');
  return readFileSync(list, 'utf8').split('\n');
}

describe('airlock-verify cold start', () => {
  it('--help loads neither node:crypto, node:os nor node:net; a command that hashes a root loads node:crypto', () => {
    const help = builtinsLoaded(['--help']);
    expect(help).toContain('NativeModule util');
    expect(help).not.toContain('NativeModule crypto');
    expect(help).not.toContain('NativeModule os');
    expect(help).not.toContain('NativeModule net');
    const dir = mkdtempSync(join(tmpdir(), 'airlock-cold-start-'));
    writeFileSync(join(dir, 'root.json'), '{}');
    const init = builtinsLoaded(['init', '--root', join(dir, 'root.json'), '--fingerprint', '0'.repeat(64), '--state', join(dir, 'state')]);
    expect(init).toContain('NativeModule crypto');
  });

  it('--help into a pipe whose reader has gone ends quietly (exit 0, nothing on stderr)', () => {
    // The reader closes its end at once; the verifier starts later and its write fails with EPIPE.
    const r = spawnSync('bash', ['-c', 'set -o pipefail; "$0" "$1" --help | (exec 0<&-; sleep 1)', process.execPath, ensureBundle()], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the bundle still runs with plain node and prints its usage', () => {
    expect(execFileSync(process.execPath, [ensureBundle(), '--help'], { encoding: 'utf8' })).toContain('airlock-verify download');
  });
});
