// A missing PKCS#11 token refuses a command at its plan: the plan observes whether each
// token key's token is in a slot (no PIN, no login) and refuses (E_TOKEN_ABSENT) before
// the build runs, before a passphrase is read, before a byte is written — it used to be
// noticed at unlock, after the build. The terminal's targets key lives in a SoftHSM2
// token; the CLI runs once with that token's configuration and once with one where the
// token is absent.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTokenKey, pinSource, PIN_FILE_ENV } from '../../lib/keys/pkcs11/index.js';
import { Keystore } from '../../lib/keys/keystore.js';
import { publish } from '../../lib/publish/index.js';
import { addHost } from '../../lib/publish/hosts.js';
import { defaultConfig, writeConfig } from '../../lib/terminal/config.js';
import { terminalPaths, type TerminalPaths } from '../../lib/terminal/home.js';
import { makeRepo, recipeJson } from '../support/build-repo.js';
import { ensureBuilt, printedErrorCode, runCli, treeDigest } from '../support/e2e-cli.js';
import { TEST_ONLY_KDF, testPassphrase } from '../support/keys-fixtures.js';
import { initWithKeystore } from '../support/keys-release.js';
import { pinFile, softHsm, SOFTHSM_MODULE, USER_PIN, type SoftHsm } from '../support/pkcs11-softhsm.js';

const TOKEN = 'terminal-token';
const SLOW = 180_000;
let hsm: SoftHsm;
let empty: SoftHsm;
let work: string;
let paths: TerminalPaths;
let host: string;
let targetsKeyId: string;
let savedPinFile: string | undefined;

beforeAll(async () => {
  await ensureBuilt();
  hsm = await softHsm();
  hsm.initToken(TOKEN);
  empty = await softHsm();
  hsm.use();
  savedPinFile = process.env[PIN_FILE_ENV];
  process.env[PIN_FILE_ENV] = await pinFile(hsm.dir, USER_PIN);
  work = await mkdtemp(join(tmpdir(), 'airlock-token-presence-'));
  paths = terminalPaths(join(work, 'home'));
  host = join(work, 'host');
  await mkdir(paths.home, { recursive: true, mode: 0o700 });
  const keystore = await Keystore.create(paths.keystore, TEST_ONLY_KDF);
  const token = await generateTokenKey({ module: SOFTHSM_MODULE, uri: { token: TOKEN } }, { label: 'airlock-targets', pin: pinSource(), purpose: 'a new targets key' });
  targetsKeyId = (await keystore.addTokenKey('targets', token.publicKey, token.reference)).keyId;
  for (const role of ['root', 'snapshot', 'timestamp', 'pgp', 'minisign'] as const) await keystore.generate(role, testPassphrase());
  await initWithKeystore({ keystore, repoDir: paths.repository, staging: paths.staging, name: 'Tokens' });
  await writeConfig(paths, defaultConfig('Tokens'));
  await addHost(paths.hosts, { name: 'mirror', url: host });
  expect((await publish(paths.repository, [{ name: 'mirror', url: host }]))[0]!.ok).toBe(true);
}, SLOW);

afterAll(async () => {
  if (savedPinFile === undefined) delete process.env[PIN_FILE_ENV];
  else process.env[PIN_FILE_ENV] = savedPinFile;
  await empty?.cleanup();
  await hsm?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

async function trees(): Promise<Record<string, Record<string, string>>> {
  return { home: await treeDigest(paths.home), host: await treeDigest(host) };
}

describe('a token key whose token is not in a slot', () => {
  it('refuses release and refresh at the plan: no build, no passphrase read, no build log, nothing written', async () => {
    // A recipe whose step fails: had the build run, the error would be E_BUILD_FAILED.
    const src = makeRepo({ 'airlock.recipe.json': recipeJson({ project: 'hello', version: '1.0.0', steps: [{ name: 'must not run', run: ['sh', '-c', 'exit 7'] }], artifacts: ['hello-1.0.0.txt'] }) }, 'release/1.0.0', work);
    const release = ['release', '--source', src.dir, '--branch', src.branch, '--commit', src.commit, '--to', 'mirror', '--json'];

    // With the token in its slot, the plan holds and names the token key.
    const present = { AIRLOCK_HOME: paths.home, SOFTHSM2_CONF: hsm.conf };
    const dry = await runCli('airlock', [...release, '--dry-run'], present);
    expect(dry.status, dry.stderr).toBe(0);
    const plan = (JSON.parse(dry.stdout.trim().split('\n').at(-1)!) as { plan: { keys: { keyId: string; kind: string }[] } }).plan;
    expect(plan.keys.find((k) => k.keyId === targetsKeyId)?.kind).toBe('pkcs11');

    // Without it (the same module, a configuration whose slots hold no such token): refused.
    const before = await trees();
    const absent = { AIRLOCK_HOME: paths.home, SOFTHSM2_CONF: empty.conf };
    for (const args of [release, ['refresh', '--resign', 'targets', '--json'], ['refresh', '--dry-run', '--resign', 'targets', '--json']]) {
      // No passphrase source is given: reading one would fail with its own code.
      const r = await runCli('airlock', args, absent);
      expect(printedErrorCode(r.stderr), `${args.join(' ')}: ${r.stderr}`).toBe('E_TOKEN_ABSENT');
      expect(r.status).toBe(3);
    }
    expect(existsSync(join(paths.home, 'build-logs'))).toBe(false);
    expect(await trees()).toEqual(before);
  }, SLOW);
});
