// Keystores for tests: a fresh private temp directory and scrypt cheap enough that a
// suite can make dozens of keys. Production never uses these parameters (see
// test/keys/test-only-kdf.test.ts); the files record them, so airlock reads them anyway.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keystore, type KeystoreTestOnly } from '../../lib/keys/keystore.js';
import { Passphrase } from '../../lib/keys/passphrase.js';

/** N=2^10: about a millisecond; far below production (2^17). */
export const TEST_ONLY_KDF: KeystoreTestOnly = Object.freeze({ kdf: Object.freeze({ N: 2 ** 10, r: 8, p: 1 }) });

export const TEST_PASSPHRASE = 'correct horse battery staple';

export function testPassphrase(s = TEST_PASSPHRASE): Passphrase {
  return Passphrase.fromString(s);
}

export interface TempKeystore {
  keystore: Keystore;
  /** The temp directory holding the keystore (as `keystore/`); removed by cleanup(). */
  home: string;
  cleanup(): Promise<void>;
}

/** A new keystore under a fresh temp home, with the test-only KDF. */
export async function tempKeystore(): Promise<TempKeystore> {
  const home = await mkdtemp(join(tmpdir(), 'airlock-keys-'));
  const keystore = await Keystore.create(Keystore.defaultDir(home), TEST_ONLY_KDF);
  return { keystore, home, cleanup: () => rm(home, { recursive: true, force: true }) };
}
