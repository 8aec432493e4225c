// `airlock release` runs the recipe (the project's code, as this user) before it reads
// any passphrase or unlocks any key, and hides the keystore it was given from the steps.
// A hostile recipe that fails on purpose shows both: the command ends with the build's
// error, not a key's, and what the step printed holds nothing from the keystore.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { release } from '../../cli/commands/release.js';
import { AirlockError } from '../../lib/core/errors.js';
import { Keystore } from '../../lib/keys/keystore.js';
import { Passphrase } from '../../lib/keys/passphrase.js';
import type { Signer } from '../../lib/keys/signer.js';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { initRepository } from '../../lib/repo/init-repository.js';
import { closeSigners } from '../../lib/terminal/keys.js';
import { defaultConfig, writeConfig } from '../../lib/terminal/config.js';
import { terminalPaths } from '../../lib/terminal/home.js';
import { makeRepo, recipeJson } from '../support/build-repo.js';

const work = mkdtempSync(join(tmpdir(), 'airlock-release-order-'));
const home = join(work, 'terminal');
const keystoreDir = join(work, 'separate-medium');
const passFile = join(work, 'wrong.pass');

beforeAll(async () => {
  const paths = terminalPaths(home);
  // Cheap KDF: these keys are never unlocked by the command under test.
  const keystore = await Keystore.create(keystoreDir, { kdf: { N: 1024, r: 8, p: 1 } });
  const pass = Passphrase.fromString('the right passphrase');
  const signers: Signer[] = [];
  try {
    for (const role of ['root', 'targets', 'snapshot', 'timestamp'] as const) signers.push(await keystore.unlock((await keystore.generate(role, pass)).keyId, pass));
    const [root, targets, snapshot, timestamp] = signers as [Signer, Signer, Signer, Signer];
    await initRepository(paths.repository, paths.staging, { root: [root], rootThreshold: 1, targets, snapshot, timestamp }, { now: new Date(), expiryDays: DEFAULT_EXPIRY_DAYS, name: 'order test' });
  } finally {
    pass.wipe();
    await closeSigners(signers);
  }
  await writeConfig(paths, defaultConfig('order test'));
  writeFileSync(passFile, 'not the passphrase\n', { mode: 0o600 });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('airlock release', () => {
  it('builds before it reads a passphrase or unlocks a key, and the steps cannot see --keystore', async () => {
    const repo = makeRepo(
      {
        'airlock.recipe.json': recipeJson({
          project: 'order',
          version: '1.0.0',
          steps: [{ name: 'snoop and fail', run: ['sh', '-c', `cat ${keystoreDir}/keystore.json; ls -A ${keystoreDir}; exit 7`] }],
          artifacts: ['never'],
        }),
      },
      'release/1.0.0',
      work,
    );
    const saved = { home: process.env.AIRLOCK_HOME, file: process.env.AIRLOCK_PASSPHRASE_FILE };
    process.env.AIRLOCK_HOME = home;
    process.env.AIRLOCK_PASSPHRASE_FILE = passFile;
    let err: unknown;
    try {
      await release({ source: repo.dir, branch: repo.branch, commit: repo.commit, to: [join(work, 'host')], keystore: keystoreDir, json: true });
    } catch (e) {
      err = e;
    } finally {
      if (saved.home === undefined) delete process.env.AIRLOCK_HOME;
      else process.env.AIRLOCK_HOME = saved.home;
      if (saved.file === undefined) delete process.env.AIRLOCK_PASSPHRASE_FILE;
      else process.env.AIRLOCK_PASSPHRASE_FILE = saved.file;
    }
    expect(err).toBeInstanceOf(AirlockError);
    expect((err as AirlockError).code).toBe('E_BUILD_FAILED');
    const log = readFileSync((err as AirlockError).details!.log as string, 'utf8');
    expect(log).toContain('exited with status 7');
    expect(log).not.toContain('airlock-keystore');
    expect(log).not.toMatch(/[0-9a-f]{64}\.key/);
  });
});
