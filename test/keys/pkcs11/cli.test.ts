// docs/hardware-keys.md, typed as a release manager types it, against SoftHSM2: `airlock
// init`, `airlock key add-token targets --generate`, the root ceremony that makes root
// trust the token key, and an unchanged `airlock release` whose targets metadata and
// provenance the token signs (PIN from AIRLOCK_PIN_FILE, as in automation). Then the
// refusals a user meets, each with its code and exit status, and none taking a PIN
// from argv. Production-cost keystore (airlock init): this is the slow file of the area.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRepo, recipeJson, type TestRepo } from '../../support/build-repo.js';
import { ensureBuilt, treeDigest } from '../../support/e2e-cli.js';
import { airlock, passphraseFile } from '../../support/lifecycle-cli.js';
import { pinFile, softHsm, SOFTHSM_MODULE, USER_PIN, type SoftHsm } from '../../support/pkcs11-softhsm.js';
import { runVerifyCli } from '../../support/verify-clients.js';

const TOKEN = 'release-key';
const SLOW = 120_000;
let hsm: SoftHsm;
let work: string;
let home: string;
let host: string;
let src: TestRepo;
const files = { passphrase: '', pin: '', wrongPin: '' };
let tokenKey: { keyId: string; publicKey: string };

/** The environment of every run: the SoftHSM2 configuration, the keystore passphrase file. */
const env = (extra: NodeJS.ProcessEnv = {}) => ({ SOFTHSM2_CONF: hsm.conf, AIRLOCK_PASSPHRASE_FILE: files.passphrase, ...extra });

beforeAll(async () => {
  await ensureBuilt();
  hsm = await softHsm();
  hsm.initToken(TOKEN);
  work = await mkdtemp(join(tmpdir(), 'airlock-token-cli-'));
  home = join(work, 'terminal');
  host = join(work, 'host');
  files.passphrase = await passphraseFile(work, 'terminal.pass', 'terminal passphrase');
  files.pin = await pinFile(work, USER_PIN);
  files.wrongPin = await pinFile(work, '999999', 'wrong.pin');
  src = makeRepo(
    {
      'airlock.recipe.json': recipeJson({
        project: 'hello',
        version: '1.0.0',
        steps: [{ name: 'source tarball', archive: { output: 'hello-1.0.0.tar.gz', root: '.', prefix: 'hello-1.0.0/', exclude: ['.git'] } }],
        artifacts: ['hello-1.0.0.tar.gz'],
      }),
      'src/hello.txt': 'hello from a token-signed release\n',
    },
    'release/1.0.0',
    work,
  );
  const init = airlock(home, ['init', '--name', 'Token Releases'], { env: env() });
  expect(init.status, init.stderr).toBe(0);
}, SLOW);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
  await hsm?.cleanup();
});

describe('a targets key in a token, from the command line', () => {
  it('airlock key add-token targets --generate makes the key inside the token (PIN on --pin-fd)', () => {
    const r = airlock(home, ['key', 'add-token', 'targets', '--module', SOFTHSM_MODULE, '--token', TOKEN, '--generate', '--pin-fd', '3'], { env: env(), fd3: files.pin });
    expect(r.status, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ ok: true, generated: true, key: { role: 'targets', kind: 'pkcs11' }, token: { label: TOKEN, keyLabel: 'airlock-targets', bornInToken: true }, reference: { module: SOFTHSM_MODULE } });
    expect(r.json!.reference.uri).toMatch(/^pkcs11:token=release-key;serial=[0-9a-f]+;object=airlock-targets;type=private;id=(%[0-9A-F]{2}){8}$/);
    tokenKey = { keyId: r.json!.key.keyId, publicKey: r.json!.key.publicKey };
    const list = airlock(home, ['key', 'list']);
    expect(list.json!.keys.filter((k: { role: string }) => k.role === 'targets').map((k: { kind: string }) => k.kind).sort()).toEqual(['pkcs11', 'software']);
  });

  it('the root ceremony makes root trust the token key in place of the software one', () => {
    const software = airlock(home, ['key', 'list']).json!.keys.find((k: { role: string; kind: string }) => k.role === 'targets' && k.kind === 'software');
    const proposal = join(work, 'next-root.json');
    const propose = airlock(home, ['root', 'propose', '--add-key', `targets:${tokenKey.publicKey}`, '--remove-key', `targets:${software.keyId}`, '-o', proposal], { env: env() });
    expect(propose.status, propose.stderr).toBe(0);
    const sign = airlock(home, ['root', 'sign', proposal], { env: env() });
    expect(sign.status, sign.stderr).toBe(0);
    // Publishing re-signs targets with the new (token) key: the PIN comes from AIRLOCK_PIN_FILE.
    const publish = airlock(home, ['root', 'publish', proposal, '--no-publish'], { env: env({ AIRLOCK_PIN_FILE: files.pin }) });
    expect(publish.status, publish.stderr).toBe(0);
  }, SLOW);

  it('a wrong PIN stops airlock release before anything is built or published (E_TOKEN_PIN, exit 1)', async () => {
    await mkdir(host, { recursive: true });
    const before = await treeDigest(host);
    const r = airlock(home, ['release', '--source', src.dir, '--branch', src.branch, '--commit', src.commit, '--to', host], { env: env({ AIRLOCK_PIN_FILE: files.wrongPin }) });
    expect([r.status, r.code]).toEqual([1, 'E_TOKEN_PIN']);
    expect(r.stderr).not.toContain('999999');
    expect(await treeDigest(host)).toEqual(before);
  }, SLOW);

  it('airlock release, unchanged, signs with the token key; airlock-verify accepts the download', async () => {
    const r = airlock(home, ['release', '--source', src.dir, '--branch', src.branch, '--commit', src.commit, '--to', host], { env: env({ AIRLOCK_PIN_FILE: files.pin }) });
    expect(r.status, r.stderr).toBe(0);
    // The newest targets metadata on the host, found as a client finds it: timestamp → snapshot → targets.
    const json = async (name: string) => JSON.parse(await readFile(join(host, 'metadata', name), 'utf8'));
    const snapshot = await json(`${(await json('timestamp.json')).signed.meta['snapshot.json'].version}.snapshot.json`);
    const latest = await json(`${snapshot.signed.meta['targets.json'].version}.targets.json`);
    expect(latest.signed.targets).toHaveProperty(['hello/1.0.0/hello-1.0.0.tar.gz']);
    expect(latest.signatures.map((s: { keyid: string }) => s.keyid)).toEqual([tokenKey.keyId]);
    const out = join(work, 'downloads');
    await mkdir(out);
    const v = await runVerifyCli(['download', 'hello/1.0.0/hello-1.0.0.tar.gz', '--from', host, '--root', join(host, 'metadata', '1.root.json'), '--out-dir', out], {
      env: { AIRLOCK_VERIFY_STATE: join(work, 'verify-state') },
    });
    expect(v.code, v.stderr).toBe(0);
    const signed = airlock(home, ['audit']).json!.entries.filter((e: { event: string; keyId: string }) => e.event === 'sign' && e.keyId === tokenKey.keyId);
    expect(new Set(signed.map((e: { purpose: string }) => e.purpose))).toEqual(new Set(['tuf-metadata', 'dsse']));
  }, SLOW);
});

describe('refusals at the command line', () => {
  const addToken = (args: string[], extra: NodeJS.ProcessEnv = {}) => airlock(home, ['key', 'add-token', 'minisign', '--module', SOFTHSM_MODULE, ...args], { env: env(extra) });

  it('a wrong PIN: E_TOKEN_PIN, exit 1', () => {
    const r = addToken(['--token', TOKEN, '--key-label', 'airlock-targets'], { AIRLOCK_PIN_FILE: files.wrongPin });
    expect([r.status, r.code]).toEqual([1, 'E_TOKEN_PIN']);
  });

  it('a token that is not there: E_TOKEN_ABSENT, exit 3; a module that is not there: E_TOKEN_MODULE, exit 3', () => {
    const absent = addToken(['--token', 'left-at-home', '--generate'], { AIRLOCK_PIN_FILE: files.pin });
    expect([absent.status, absent.code]).toEqual([3, 'E_TOKEN_ABSENT']);
    const module = airlock(home, ['key', 'add-token', 'minisign', '--module', '/usr/lib/no-such-pkcs11.so', '--token', TOKEN, '--generate'], { env: env({ AIRLOCK_PIN_FILE: files.pin }) });
    expect([module.status, module.code]).toEqual([3, 'E_TOKEN_MODULE']);
  });

  it('a key label with no key: E_TOKEN_KEY, exit 2; neither --generate nor a key: E_USAGE', () => {
    const r = addToken(['--token', TOKEN, '--key-label', 'no-such-key'], { AIRLOCK_PIN_FILE: files.pin });
    expect([r.status, r.code]).toEqual([2, 'E_TOKEN_KEY']);
    expect(addToken(['--token', TOKEN]).code).toBe('E_USAGE');
  });

  it('no PIN source and no terminal: E_NO_TTY naming --pin-fd and AIRLOCK_PIN_FILE; a PIN is never taken from argv', () => {
    const r = addToken(['--token', TOKEN, '--generate']);
    expect([r.status, r.code]).toEqual([3, 'E_NO_TTY']);
    expect(r.stderr).toMatch(/--pin-fd.*AIRLOCK_PIN_FILE/);
    expect(addToken(['--token', TOKEN, '--generate', '--pin', USER_PIN]).status).toBe(2);
    expect(addToken(['--uri', `pkcs11:token=${TOKEN}?pin-value=${USER_PIN}`, '--generate']).code).toBe('E_USAGE');
  });

  it('a URI names the token and key instead of --token / --key-label', () => {
    const r = airlock(home, ['key', 'add-token', 'minisign', '--uri', `pkcs11:token=${TOKEN}?module-path=${SOFTHSM_MODULE}`, '--generate', '--key-label', 'airlock-minisign'], {
      env: env({ AIRLOCK_PIN_FILE: files.pin }),
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ key: { role: 'minisign', kind: 'pkcs11' }, token: { keyLabel: 'airlock-minisign' } });
  });
});
