import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { ed25519RawPublicKey, ed25519Verify } from '../../lib/core/ed25519.js';
import { EXIT, AirlockError, ERROR_KINDS, exitCodeOf } from '../../lib/core/errors.js';
import { fromHex } from '../../lib/core/hex.js';
import { ed25519TufKey, tufKeyId } from '../../lib/core/tuf-key.js';

ed.hashes.sha512 = sha512;

describe('TUF key ids', () => {
  it('is the SHA-256 of the canonical key object, written out by hand here', () => {
    const key = ed25519TufKey(fromHex('edcd0a32a07dce33f7c7873aaffbff36d20ea30787574ead335eefd337e4dacd'));
    expect(key).toEqual({ keytype: 'ed25519', scheme: 'ed25519', keyval: { public: 'edcd0a32a07dce33f7c7873aaffbff36d20ea30787574ead335eefd337e4dacd' } });
    const literal = '{"keytype":"ed25519","keyval":{"public":"edcd0a32a07dce33f7c7873aaffbff36d20ea30787574ead335eefd337e4dacd"},"scheme":"ed25519"}';
    expect(tufKeyId(key)).toBe(createHash('sha256').update(literal).digest('hex'));
  });
});

describe('Ed25519 verification', () => {
  it('accepts a signature made by an independent implementation and refuses any change', async () => {
    const seed = ed.utils.randomSecretKey();
    const pub = await ed.getPublicKeyAsync(seed);
    const msg = new TextEncoder().encode('airlock');
    const sig = await ed.signAsync(msg, seed);
    expect(ed25519Verify(pub, msg, sig)).toBe(true);
    const bad = sig.slice();
    bad[10] = (bad[10] ?? 0) ^ 1;
    expect(ed25519Verify(pub, msg, bad)).toBe(false);
    expect(ed25519Verify(pub, new TextEncoder().encode('airlocK'), sig)).toBe(false);
    expect(ed25519Verify(pub.slice(1), msg, sig)).toBe(false);
  });

  it('reads the raw public key back out of a node KeyObject', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const raw = ed25519RawPublicKey(publicKey);
    const msg = Buffer.from('x');
    expect(ed25519Verify(raw, msg, sign(null, msg, privateKey))).toBe(true);
  });
});

describe('errors', () => {
  it('maps every code to exit 1, 2 or 3 and unknown errors to 3', () => {
    for (const code of Object.keys(ERROR_KINDS) as (keyof typeof ERROR_KINDS)[]) {
      expect([EXIT.refused, EXIT.usage, EXIT.environment]).toContain(new AirlockError(code, 'x').exitCode);
    }
    expect(new AirlockError('E_ROLLBACK', 'x').exitCode).toBe(1);
    expect(new AirlockError('E_USAGE', 'x').exitCode).toBe(2);
    expect(new AirlockError('E_TOOL_MISSING', 'x').exitCode).toBe(3);
    expect(exitCodeOf(new Error('bug'))).toBe(3);
  });
});
