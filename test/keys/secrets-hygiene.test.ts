// After keys are generated, used to sign, and re-sealed under a new passphrase, no seed
// (nor its scalar, nor PKCS#8) is anywhere in the keystore, the temp directory or any
// output, in any encoding; nor is the passphrase.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Keystore } from '../../lib/keys/keystore.js';
import { KEY_ROLES } from '../../lib/keys/signer.js';
import { ROLE_PURPOSES } from '../../lib/keys/signer.js';
import { TEST_ONLY_KDF, testPassphrase, TEST_PASSPHRASE } from '../support/keys-fixtures.js';
import { openKeyFileIndependently, scanForSecrets, secretNeedles } from '../support/keys-secrets.js';
import { isAirlockError } from '../../lib/core/errors.js';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'airlock-hygiene-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('secrets hygiene', () => {
  it('no seed, scalar or PKCS#8 in the keystore, temp files, errors or printed objects', async () => {
    const ks = await Keystore.create(join(home, 'keystore'), TEST_ONLY_KDF);
    const texts: Record<string, string> = {};
    const seeds: { role: string; seed: Buffer }[] = [];
    for (const role of KEY_ROLES) {
      const info = await ks.generate(role, testPassphrase());
      const signer = await ks.unlock(info.keyId, testPassphrase());
      // Each purpose's own message domain (SSHSIG signed data starts with its preamble).
      const message = role === 'ssh' ? Buffer.from(`SSHSIG message for ${role}`) : Buffer.from(`{"message for":"${role}"}`);
      await signer.sign({ purpose: ROLE_PURPOSES[role][0]!, message, subject: { kind: 'test', name: role } });
      texts[`inspect(signer ${role})`] = inspect(signer, { depth: 10, showHidden: true });
      texts[`json(signer ${role})`] = JSON.stringify(signer);
      // Errors carry no secret either.
      for (const wrong of ['wrong passphrase!', TEST_PASSPHRASE.slice(0, -1)]) {
        try {
          await ks.unlock(info.keyId, testPassphrase(wrong));
        } catch (err) {
          if (!isAirlockError(err)) throw err;
          texts[`error ${role}`] = `${err.message} ${JSON.stringify(err.details)} ${inspect(err, { depth: 10 })}`;
        }
      }
      await ks.changePassphrase(info.keyId, testPassphrase(), testPassphrase('second passphrase'));
      seeds.push({ role, seed: await openKeyFileIndependently(info.file, 'second passphrase') });
      await signer.close();
    }
    texts['list'] = JSON.stringify(await ks.list());
    texts['audit'] = JSON.stringify(await ks.audit.entries());
    const needles = seeds.flatMap(({ role, seed }) => secretNeedles(seed, role));
    needles.push({ name: 'passphrase', bytes: Buffer.from(TEST_PASSPHRASE) }, { name: 'new passphrase', bytes: Buffer.from('second passphrase') });
    const findings = await scanForSecrets([home], texts, needles);
    expect(findings).toEqual([]);
  });

  it('the scan finds a seed when one is there (so the test above can fail)', async () => {
    const ks = await Keystore.create(join(home, 'keystore'), TEST_ONLY_KDF);
    const info = await ks.generate('targets', testPassphrase());
    const seed = await openKeyFileIndependently(info.file, TEST_PASSPHRASE);
    const needles = secretNeedles(seed, 'targets');
    const blob = Buffer.concat([Buffer.from('xy'), seed]).toString('base64');
    const findings = await scanForSecrets([], { hex: `x${seed.toString('hex')}y`, b64: `"${blob}"`, raw: Buffer.concat([Buffer.from('ab'), seed]) }, needles);
    expect(new Set(findings.map((f) => f.where))).toEqual(new Set(['hex', 'b64', 'raw']));
  });
});
