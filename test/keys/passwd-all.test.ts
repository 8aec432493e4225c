// One passphrase for a whole keystore (issue 16.5): after `key passwd KEYID` changed one
// key, `key passwd --all` checks every key's current passphrase before rewriting any,
// then gives them all the new one; a wrong passphrase at an interactive prompt is asked
// again, three tries in all (as gpg gives), never on --passphrase-fd.
import { readFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keystore } from '../../lib/keys/keystore.js';
import { Passphrase } from '../../lib/keys/passphrase.js';
import { ensureBuilt, runAirlock, type AirlockRunOptions } from '../support/e2e-cli.js';
import { expectCode } from '../support/error-codes.js';
import { airlockOnTerminal } from '../support/keys-cli.js';
import { tempKeystore, type TempKeystore } from '../support/keys-fixtures.js';

const p = (s: string) => Passphrase.fromString(s);

async function opensWith(ks: Keystore, keyId: string, passphrase: string): Promise<boolean> {
  return ks.verifyPassphrase(keyId, p(passphrase)).then(
    () => true,
    () => false,
  );
}

describe('Keystore.changeAllPassphrases (test KDF)', () => {
  let t: TempKeystore;
  const id: Record<string, string> = {};
  const fileBytes = async () => Promise.all((await t.keystore.list()).map((k) => readFile(k.file, 'utf8')));

  beforeAll(async () => {
    t = await tempKeystore();
    for (const role of ['targets', 'snapshot', 'timestamp'] as const) id[role] = (await t.keystore.generate(role, p('alpha passphrase'))).keyId;
    await t.keystore.changePassphrase(id.snapshot!, p('alpha passphrase'), p('beta passphrase'));
  });
  afterAll(() => t?.cleanup());

  it('asks for another passphrase only for the keys still locked, and refuses (rewriting nothing) when the reader gives up', async () => {
    const before = await fileBytes();
    const asked: string[][] = [];
    const olds = ['alpha passphrase', 'not beta'];
    const err = await expectCode(
      t.keystore.changeAllPassphrases(
        async (locked) => {
          asked.push(locked.map((k) => k.role).sort());
          const next = olds.shift();
          return next === undefined ? undefined : p(next);
        },
        async () => p('gamma passphrase'),
      ),
      'E_KEY_PASSPHRASE',
    );
    expect(asked).toEqual([['snapshot', 'targets', 'timestamp'], ['snapshot'], ['snapshot']]);
    expect(err.details).toEqual({ keys: [{ keyId: id.snapshot, role: 'snapshot' }] });
    expect(await fileBytes()).toEqual(before);
  });

  it('refuses a weak new passphrase before rewriting anything', async () => {
    const before = await fileBytes();
    const olds = ['alpha passphrase', 'beta passphrase'];
    await expectCode(
      t.keystore.changeAllPassphrases(async () => p(olds.shift()!), async () => p('short')),
      'E_PASSPHRASE_WEAK',
    );
    expect(await fileBytes()).toEqual(before);
  });

  it('gives every key the new passphrase, each file replaced, each change in the audit log', async () => {
    const olds = ['beta passphrase', 'alpha passphrase'];
    const infos = await t.keystore.changeAllPassphrases(async () => p(olds.shift()!), async () => p('gamma passphrase'));
    expect(infos.map((k) => k.role).sort()).toEqual(['snapshot', 'targets', 'timestamp']);
    for (const keyId of Object.values(id)) expect(await opensWith(t.keystore, keyId, 'gamma passphrase')).toBe(true);
    const entries = (await readFile(join(t.keystore.dir, 'audit.log'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { event: string });
    expect(entries.filter((e) => e.event === 'key-passwd')).toHaveLength(4);
  });
});

describe('airlock key passwd --all and three tries (built CLI, production KDF)', () => {
  let root: string;
  let env: NodeJS.ProcessEnv;
  const ids: Record<string, string> = {};
  const files: Record<string, string> = {};
  const run = (args: string[], opts: AirlockRunOptions = {}) => runAirlock(args, { ...opts, env: { ...env, ...opts.env } });
  const keyFiles = async () => Promise.all(Object.values(files).map((f) => readFile(f, 'utf8')));
  async function lines(name: string, ...l: string[]): Promise<string> {
    const f = join(root, name);
    await writeFile(f, l.map((x) => `${x}\n`).join(''), { mode: 0o600 });
    return f;
  }

  beforeAll(async () => {
    await ensureBuilt();
    root = await mkdtemp(join(tmpdir(), 'airlock-passwd-all-'));
    env = { HOME: join(root, 'user'), AIRLOCK_HOME: join(root, 'terminal') };
    await mkdir(env.HOME!, { recursive: true });
    const alpha = await lines('alpha', 'alpha passphrase');
    for (const role of ['targets', 'minisign']) {
      const r = run(['key', 'generate', role, '--passphrase-fd', '3', '--json'], { fds: { 3: alpha } });
      expect(r.status, r.stderr).toBe(0);
      ids[role] = r.json.key.keyId;
      files[role] = r.json.key.file;
    }
    // One key changed on its own: the keystore now wants two passphrases.
    const r = run(['key', 'passwd', ids.minisign!, '--passphrase-fd', '3', '--json'], { fds: { 3: await lines('ab', 'alpha passphrase', 'beta passphrase') } });
    expect(r.status, r.stderr).toBe(0);
  }, 240_000);

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('is a usage error with both a KEYID and --all, or neither', () => {
    expect(run(['key', 'passwd', ids.targets!, '--all', '--json']).status).toBe(2);
    expect(run(['key', 'passwd', '--json']).status).toBe(2);
  });

  it('refuses (exit 1, nothing rewritten) when a line of --passphrase-fd opens no key left, naming the key by role and id', async () => {
    const before = await keyFiles();
    const r = run(['key', 'passwd', '--all', '--passphrase-fd', '3', '--new-passphrase-fd', '4', '--json'], {
      fds: { 3: await lines('alpha-wrong', 'alpha passphrase', 'not the beta one'), 4: await lines('gamma', 'gamma passphrase') },
    });
    expect(r.status).toBe(1);
    expect(r.json.error.code).toBe('E_KEY_PASSPHRASE');
    expect(r.json.error.details.keys).toEqual([{ keyId: ids.minisign, role: 'minisign' }]);
    expect(await keyFiles()).toEqual(before);
  }, 240_000);

  it('asks again at the prompt after a wrong passphrase (three tries in all), then gives every key one passphrase', async () => {
    const refused = await airlockOnTerminal(
      ['key', 'passwd', '--all'],
      [
        { after: 'Current passphrase for', type: 'wrong 1\r' },
        { after: 'Current passphrase for', type: 'wrong 2\r' },
        { after: 'Current passphrase for', type: 'wrong 3\r' },
      ],
      env,
      { stdinFromNull: true },
    );
    expect(refused.status, refused.screen).toBe(1);
    expect(refused.screen).toContain('E_KEY_PASSPHRASE');
    expect(refused.screen).not.toContain('New passphrase');

    const ok = await airlockOnTerminal(
      ['key', 'passwd', '--all'],
      [
        { after: 'Current passphrase for', type: 'alpha passphrase\r' },
        { after: 'did not open (minisign', type: 'beta passphrase\r' },
        { after: 'New passphrase: ', type: 'gamma passphrase\r' },
        { after: 'Repeat to confirm: ', type: 'gamma passphrase\r' },
      ],
      env,
      { stdinFromNull: true },
    );
    expect(ok.status, ok.screen).toBe(0);
    expect(ok.screen).not.toContain('passphrase\r');

    // One key's prompt: a wrong passphrase is asked again, naming the key.
    const retry = await airlockOnTerminal(
      ['key', 'passwd', ids.targets!],
      [
        { after: 'Current passphrase for key', type: 'alpha passphrase\r' },
        { after: '2 more tries', type: 'gamma passphrase\r' },
        { after: 'New passphrase: ', type: 'delta passphrase\r' },
        { after: 'Repeat to confirm: ', type: 'delta passphrase\r' },
      ],
      env,
      { stdinFromNull: true },
    );
    expect(retry.status, retry.screen).toBe(0);
    expect(retry.screen).toContain(`wrong passphrase for the targets key ${ids.targets!.slice(0, 16)}`);
  }, 300_000);
});
