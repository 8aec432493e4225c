// Software P-256 keys sign OpenPGP digests through OpenSSL (createSign over the hashed
// bytes), not JavaScript arithmetic: BigInt operations are not constant-time and leave
// copies of the private scalar and the nonce in the heap, out of reach of any wipe.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { p256RawPublicKey, p256VerifyDigest } from '../../lib/core/ecdsa-p256.js';
import { softwareKeyHandle } from '../../lib/keys/software-key.js';
import { codeOf } from '../support/error-codes.js';

function handle() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { handle: softwareKeyHandle(privateKey, 'ecdsa-p256'), raw: p256RawPublicKey(publicKey) };
}

describe('a software P-256 key signing an OpenPGP digest', () => {
  it('signs with OpenSSL from the bytes the digest is of, streamed (no BigInt arithmetic on secrets)', async () => {
    const { handle: h, raw } = handle();
    const chunks = [Buffer.from('document bytes '), Buffer.from('then the trailer')];
    const digest = createHash('sha256').update(Buffer.concat(chunks)).digest();
    const sig = await h.signDigest!(digest, async function* () {
      yield* chunks;
    });
    expect(p256VerifyDigest(raw, digest, sig)).toBe(true);
    // The module has no arithmetic of its own left: no BigInt literal or conversion.
    const source = readFileSync(new URL('../../lib/keys/software-key.ts', import.meta.url), 'utf8');
    expect(source).not.toMatch(/\bBigInt\b|\bbigint\b|\b\d+n\b|modInverse/);
  });

  it('refuses bytes that are not the digest\'s preimage (a file changed between its two reads) before signing', async () => {
    const { handle: h } = handle();
    const digest = createHash('sha256').update('what was hashed').digest();
    expect(await codeOf(h.signDigest!(digest, () => [Buffer.from('what is there now')]))).toBe('E_IO');
    // A digest alone is not enough: node:crypto cannot sign a hash it did not compute.
    await expect(h.signDigest!(digest)).rejects.toThrow(/preimage/);
  });
});
