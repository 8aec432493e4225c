// `--key-type` as a release manager types it: the built CLI, production KDF cost, the
// passphrase from AIRLOCK_PASSPHRASE_FILE. init makes P-256 keys for every role that can
// take one; minisign, ssh and publish stay Ed25519; asking for P-256 on them, or for an
// unknown type, is E_USAGE (exit 2) before anything is written.
import { access, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runAirlock, type AirlockRun } from '../support/e2e-cli.js';

let root: string;
let env: NodeJS.ProcessEnv;

function airlock(args: string[], home = env.AIRLOCK_HOME!): AirlockRun {
  return runAirlock(args, { env: { ...env, AIRLOCK_HOME: home } });
}

async function keyTypes(home = env.AIRLOCK_HOME!): Promise<Record<string, string[]>> {
  const r = airlock(['key', 'list', '--json'], home);
  expect(r.status, r.stderr).toBe(0);
  const out: Record<string, string[]> = {};
  for (const k of r.json.keys as { role: string; keyType: string }[]) (out[k.role] ??= []).push(k.keyType);
  return out;
}

beforeAll(async () => {
  await ensureBuilt();
  root = await mkdtemp(join(tmpdir(), 'airlock-key-type-cli-'));
  const pass = join(root, 'pass');
  await writeFile(pass, 'p256 passphrase\n', { mode: 0o600 });
  env = { HOME: root, AIRLOCK_HOME: join(root, 'terminal'), AIRLOCK_PASSPHRASE_FILE: pass };
}, 120_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('--key-type', () => {
  it('refuses P-256 for minisign, ssh and publish, and an unknown type, with E_USAGE before anything is made', async () => {
    const home = join(root, 'refused');
    for (const args of [
      ['init', '--key-type', 'minisign=ecdsa-p256'],
      ['init', '--key-type', 'publish=ecdsa-p256'],
      ['init', '--key-type', 'rsa'],
      ['init', '--key-type', 'ecdsa-p256', '--key-type', 'ed25519'],
      ['key', 'generate', 'minisign', '--key-type', 'ecdsa-p256'],
      ['key', 'generate', 'ssh', '--key-type', 'ecdsa-p256'],
      ['key', 'generate', 'targets', '--key-type', 'p256'],
    ]) {
      const r = airlock(args, home);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.code, args.join(' ')).toBe('E_USAGE');
    }
    await expect(access(home)).rejects.toThrow();
  }, 120_000);

  it('init --key-type ecdsa-p256 puts every role that can take it on P-256, the rest on Ed25519; root.json lists securesystemslib ECDSA keys', async () => {
    const r = airlock(['init', '--key-type', 'ecdsa-p256', '--key-type', 'timestamp=ed25519', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(await keyTypes()).toEqual({
      root: ['ecdsa-p256'],
      targets: ['ecdsa-p256'],
      snapshot: ['ecdsa-p256'],
      timestamp: ['ed25519'],
      pgp: ['ecdsa-p256'],
      minisign: ['ed25519'],
      ssh: ['ed25519'],
      publish: ['ed25519'],
    });
    const rootJson = JSON.parse(await readFile(join(env.AIRLOCK_HOME!, 'repository', 'keys', 'root.json'), 'utf8'));
    const byRole = (role: string) => rootJson.signed.keys[rootJson.signed.roles[role].keyids[0]];
    expect(byRole('root')).toMatchObject({ keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256' });
    expect(byRole('targets').keyval.public).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(byRole('timestamp')).toMatchObject({ keytype: 'ed25519', scheme: 'ed25519' });
    const text = airlock(['key', 'list']);
    expect(text.stdout).toMatch(/type\s+ecdsa-p256/);
  }, 300_000);

  it('key generate and key rotate make a key of the type asked for', async () => {
    const g = airlock(['key', 'generate', 'pgp', '--key-type', 'ed25519', '--json']);
    expect(g.status, g.stderr).toBe(0);
    expect(g.json.key.keyType).toBe('ed25519');
    const rot = airlock(['key', 'rotate', 'timestamp', '--key-type', 'ecdsa-p256', '--to', join(root, 'host'), '--json']);
    expect(rot.status, rot.stderr).toBe(0);
    const rootDir = join(env.AIRLOCK_HOME!, 'repository', 'metadata');
    const newest = (await readdir(rootDir)).filter((n) => /^\d+\.root\.json$/.test(n)).sort((a, b) => parseInt(b, 10) - parseInt(a, 10))[0]!;
    const next = JSON.parse(await readFile(join(rootDir, newest), 'utf8'));
    const ts = next.signed.keys[next.signed.roles.timestamp.keyids[0]];
    expect(ts).toMatchObject({ keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256' });
    expect((await keyTypes()).timestamp).toEqual(['ed25519', 'ecdsa-p256']);
  }, 180_000);

  it('root propose --rotate takes the new keys\' types', async () => {
    const out = join(root, 'proposal.json');
    const bad = airlock(['root', 'propose', '--rotate', 'snapshot', '--key-type', 'targets=ed25519', '-o', out]);
    expect(bad.code).toBe('E_USAGE');
    const r = airlock(['root', 'propose', '--rotate', 'snapshot', '--key-type', 'ed25519', '-o', out, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const proposal = JSON.parse(await readFile(out, 'utf8'));
    expect(proposal.signed.keys[proposal.signed.roles.snapshot.keyids[0]]).toMatchObject({ keytype: 'ed25519' });
  }, 120_000);
});
