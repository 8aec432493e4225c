// The keystore commands as a release manager runs them: the built CLI, production KDF
// cost, passphrases through an fd, a file, or a no-echo terminal prompt. Ends with a
// scan of the terminal home, the temp directory and every output for key material.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runAirlock, type AirlockRun, type AirlockRunOptions } from '../support/e2e-cli.js';
import { airlockOnTerminal } from '../support/keys-cli.js';
import { openKeyFileIndependently, scanForSecrets, secretNeedles } from '../support/keys-secrets.js';

let root: string;
let env: NodeJS.ProcessEnv;
let pass1: string;
let pass12: string;
const outputs: Record<string, string> = {};
const keys: { file: string; passphrase: string }[] = [];

function run(name: string, args: string[], opts: AirlockRunOptions = {}): AirlockRun {
  const r = runAirlock(args, { ...opts, env: { ...env, ...opts.env } });
  outputs[`${name} stdout`] = r.stdout;
  outputs[`${name} stderr`] = r.stderr;
  return r;
}

beforeAll(async () => {
  await ensureBuilt();
  root = await mkdtemp(join(tmpdir(), 'airlock-keys-cli-'));
  await mkdir(join(root, 'tmp'), { mode: 0o700 });
  env = { HOME: join(root, 'user'), AIRLOCK_HOME: join(root, 'terminal'), TMPDIR: join(root, 'tmp') };
  await mkdir(env.HOME!, { recursive: true });
  pass1 = join(root, 'pass1');
  pass12 = join(root, 'pass12');
  await writeFile(pass1, 'first passphrase\n', { mode: 0o600 });
  await writeFile(pass12, 'first passphrase\nsecond passphrase\n', { mode: 0o600 });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('airlock key / audit / doctor', () => {
  let targetsId: string;

  it('key generate reads the passphrase from --passphrase-fd and prints only public information', () => {
    const r = run('generate targets', ['key', 'generate', 'targets', '--passphrase-fd', '3', '--json'], { fds: { 3: pass1 } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.json.key).toMatchObject({ role: 'targets', kind: 'software' });
    targetsId = r.json.key.keyId;
    keys.push({ file: r.json.key.file, passphrase: 'first passphrase' });
  });

  it('key generate reads AIRLOCK_PASSPHRASE_FILE; key list shows the OpenPGP fingerprint of a pgp key', () => {
    const g = run('generate pgp', ['key', 'generate', 'pgp', '--json'], { env: { AIRLOCK_PASSPHRASE_FILE: pass1 } });
    expect(g.status, g.stderr).toBe(0);
    keys.push({ file: g.json.key.file, passphrase: 'first passphrase' });
    const l = run('list', ['key', 'list', '--json']);
    expect(l.status, l.stderr).toBe(0);
    expect(l.json.keys.map((k: { role: string }) => k.role)).toEqual(['targets', 'pgp']);
    expect(l.json.keys[1].fingerprints.openpgp).toMatch(/^[0-9A-F]{40}$/);
  });

  it('key generate asks twice on a terminal and echoes nothing', async () => {
    const r = await airlockOnTerminal(
      ['key', 'generate', 'minisign'],
      [
        { after: 'Passphrase for the new minisign key: ', type: 'typed on a terminal\r' },
        { after: 'Repeat to confirm: ', type: 'typed on a terminal\r' },
      ],
      env,
    );
    outputs['terminal screen'] = r.screen;
    expect(r.status, r.screen).toBe(0);
    expect(r.screen).toContain('generated minisign key');
    expect(r.screen).not.toContain('typed on a terminal');
    const file = /keystore: (\S+)/.exec(r.screen)![1]!;
    const keyId = /generated minisign key ([0-9a-f]{64})/.exec(r.screen)![1]!;
    keys.push({ file: join(file, `${keyId}.key`), passphrase: 'typed on a terminal' });
  });

  it('with no terminal and no fd or file, refuses with E_NO_TTY (exit 3)', () => {
    const r = run('no tty', ['key', 'generate', 'root', '--json']);
    expect(r.status).toBe(3);
    expect(r.json.error.code).toBe('E_NO_TTY');
  });

  it('key passwd takes old and new passphrase from the lines of one fd', () => {
    const r = run('passwd', ['key', 'passwd', targetsId.slice(0, 12), '--passphrase-fd', '3', '--json'], { fds: { 3: pass12 } });
    expect(r.status, r.stderr).toBe(0);
    keys[0]!.passphrase = 'second passphrase';
    const again = run('passwd again', ['key', 'passwd', targetsId, '--passphrase-fd', '3', '--json'], { fds: { 3: pass12 } });
    expect(again.status).toBe(1);
    expect(again.json.error.code).toBe('E_KEY_PASSPHRASE');
  });

  it('key passwd prompts on /dev/tty when stdin is not a terminal', async () => {
    const minisign = keys[2]!;
    const keyId = /([0-9a-f]{64})\.key$/.exec(minisign.file)![1]!;
    const r = await airlockOnTerminal(
      ['key', 'passwd', keyId],
      [
        { after: 'Current passphrase for key', type: 'typed on a terminal\r' },
        { after: 'New passphrase: ', type: 'typed anew on a terminal\r' },
        { after: 'Repeat to confirm: ', type: 'typed anew on a terminal\r' },
      ],
      env,
      { stdinFromNull: true },
    );
    outputs['terminal passwd screen'] = r.screen;
    expect(r.status, r.screen).toBe(0);
    expect(r.screen).not.toContain('typed');
    minisign.passphrase = 'typed anew on a terminal';
  });

  it('audit shows the log; audit verify passes, then fails with E_AUDIT_TAMPERED (exit 1) after an edit', async () => {
    const a = run('audit', ['audit', '--json']);
    expect(a.status, a.stderr).toBe(0);
    expect(a.json.entries.map((e: { event: string }) => e.event)).toEqual(['key-generate', 'key-generate', 'key-generate', 'key-passwd', 'key-passwd']);
    expect(run('audit verify', ['audit', 'verify', '--json']).status).toBe(0);
    const log = join(env.AIRLOCK_HOME!, 'keystore', 'audit.log');
    const text = await readFile(log, 'utf8');
    await writeFile(log, text.replace('"role":"pgp"', '"role":"root"'));
    const v = run('audit verify tampered', ['audit', 'verify', '--json']);
    expect(v.status).toBe(1);
    expect(v.json.error.code).toBe('E_AUDIT_TAMPERED');
    await writeFile(log, text);
  });

  it('doctor warns; --strict fails on a warning (a loose keystore)', async () => {
    const d = run('doctor', ['doctor', '--json']);
    expect(d.status, d.stderr).toBe(0);
    expect(d.json.checks.find((c: { id: string }) => c.id === 'keystore').status).toBe('ok');
    await chmod(join(env.AIRLOCK_HOME!, 'keystore'), 0o755);
    const s = run('doctor strict', ['doctor', '--strict', '--json']);
    expect(s.status).toBe(1);
    expect(s.json).toMatchObject({ ok: false, error: { code: 'E_DOCTOR' } });
    expect(s.json.checks.find((c: { id: string }) => c.id === 'keystore').status).toBe('warn');
    const l = run('list loose', ['key', 'list', '--json']);
    expect(l.status).toBe(3);
    expect(l.json.error.code).toBe('E_KEYSTORE_PERMISSIONS');
    await chmod(join(env.AIRLOCK_HOME!, 'keystore'), 0o700);
  });

  it('leaves no key material or passphrase in the terminal home, the temp directory or any output', async () => {
    expect(keys.length).toBe(3);
    const needles = [];
    for (const k of keys) needles.push(...secretNeedles(await openKeyFileIndependently(k.file, k.passphrase), k.file));
    for (const p of ['first passphrase', 'second passphrase', 'typed on a terminal', 'typed anew on a terminal']) needles.push({ name: p, bytes: Buffer.from(p) });
    const findings = await scanForSecrets([env.AIRLOCK_HOME!, env.TMPDIR!, env.HOME!], outputs, needles);
    expect(findings).toEqual([]);
  });
});
