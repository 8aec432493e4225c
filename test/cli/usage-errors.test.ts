// The error contract of both programs for a wrong command line: `error E_USAGE: …` on
// stderr, `{"ok":false,"error":{…}}` on stdout with --json, exit 2, never a stack trace
// or commander's own wording alone. And the commands whose output ignored --json or the
// medium named by --keystore: audit verify, doctor --strict.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runAirlock, runCli } from '../support/e2e-cli.js';

let root: string;
let env: NodeJS.ProcessEnv;
let medium: string;
let pass: string;

beforeAll(async () => {
  await ensureBuilt();
  root = await mkdtemp(join(tmpdir(), 'airlock-usage-'));
  env = { HOME: join(root, 'user'), AIRLOCK_HOME: join(root, 'terminal') };
  await mkdir(env.HOME!, { recursive: true });
  medium = join(root, 'medium', 'keystore');
  pass = join(root, 'pass');
  await writeFile(pass, 'a passphrase for the usage tests\n', { mode: 0o600 });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function expectUsageError(r: { status: number | null; stdout: string; stderr: string }, json: boolean): void {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stderr).toMatch(/^error E_USAGE: \S/m);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  if (json) {
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(out).toMatchObject({ ok: false, error: { code: 'E_USAGE' } });
    expect(typeof out.error.message).toBe('string');
  }
}

describe('airlock: every usage error', () => {
  const cases: [string, string[]][] = [
    ['no command at all', []],
    ['an unknown option', ['--bogus']],
    ['an unknown command', ['bogus']],
    ['an unknown option of a command', ['status', '--bogus']],
    ['a missing required option', ['release', '--branch', 'release/1.0.0']],
    ['an invalid value', ['status', '--warn-days', 'soon']],
    ['an invalid number', ['publish', '--concurrency', '0']],
    ['a group without its command', ['key']],
    ['an unknown command in a group', ['root', 'bogus']],
    ['a missing argument', ['key', 'generate']],
    ['an argument too many', ['status', 'extra']],
  ];
  it.each(cases)('%s: error E_USAGE, exit 2', async (_name, args) => {
    expectUsageError(await runCli('airlock', args, env), false);
  });
  it.each(cases)('%s with --json: {"ok":false,"error":{"code":"E_USAGE"}}', async (_name, args) => {
    expectUsageError(await runCli('airlock', [...args, '--json'], env), true);
  });
  it('help and --version asked for exit 0', async () => {
    for (const args of [['--help'], ['help'], ['release', '--help'], ['--version']]) {
      const r = await runCli('airlock', args, env);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stdout.length).toBeGreaterThan(0);
    }
  });
});

describe('airlock-verify: every usage error', () => {
  const cases: [string, string[]][] = [
    ['no command at all', []],
    ['an unknown command', ['bogus']],
    ['an unknown option', ['download', 'p/1/f', '--from', '/nonexistent', '--bogus']],
    ['a missing --from', ['download', 'p/1/f']],
    ['a missing target', ['download', '--from', '/nonexistent']],
    ['an invalid value', ['refresh', '--from', '/nonexistent', '--idle-timeout', 'soon']],
  ];
  it.each(cases)('%s: error E_USAGE, exit 2', async (_name, args) => {
    expectUsageError(await runCli('verify', args, env), false);
  });
  it.each(cases.filter(([, a]) => a.length > 0))('%s with --json', async (_name, args) => {
    expectUsageError(await runCli('verify', [...args, '--json'], env), true);
  });
});

describe('audit verify and doctor honour --keystore and --json', () => {
  it('audit verify --keystore checks that medium: intact, then exit 1 after its log is edited (the terminal log stays intact)', async () => {
    for (const keystore of [medium, join(env.AIRLOCK_HOME!, 'keystore')]) {
      const g = runAirlock(['key', 'generate', 'targets', '--keystore', keystore, '--passphrase-fd', '3', '--json'], { env, fds: { 3: pass } });
      expect(g.status, g.stderr).toBe(0);
    }
    const intact = runAirlock(['audit', 'verify', '--keystore', medium, '--json'], { env });
    expect(intact.status, intact.stderr).toBe(0);
    expect(intact.json).toMatchObject({ ok: true, log: join(medium, 'audit.log') });

    const log = join(medium, 'audit.log');
    const text = await readFile(log, 'utf8');
    await writeFile(log, text.replace('"role":"targets"', '"role":"root"'));
    const tampered = runAirlock(['audit', 'verify', '--keystore', medium, '--json'], { env });
    expect(tampered.status, tampered.stderr).toBe(1);
    expect(tampered.json.error.code).toBe('E_AUDIT_TAMPERED');
    // Options before the subcommand mean the same.
    expect(runAirlock(['audit', '--keystore', medium, 'verify'], { env }).status).toBe(1);

    const terminal = runAirlock(['audit', 'verify', '--json'], { env });
    expect(terminal.status, terminal.stderr).toBe(0);
    expect(terminal.json.log).toBe(join(env.AIRLOCK_HOME!, 'keystore', 'audit.log'));
  });

  it('doctor --strict --json fails with the documented error shape, checks beside it', async () => {
    // The medium's audit log was edited above: a warning whatever machine this runs on.
    const r = runAirlock(['doctor', '--strict', '--keystore', medium, '--json'], { env });
    expect(r.status).toBe(1);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'E_DOCTOR' } });
    expect(typeof r.json.error.message).toBe('string');
    expect(r.json.checks.find((c: { id: string }) => c.id === 'audit-log').status).toBe('warn');
  });
});
