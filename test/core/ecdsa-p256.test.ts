import { createHash, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { derFromRawSignature, isP256Point, p256PointFromPem, p256RawPublicKey, p256Verify, p256VerifyDigest, parseDerSignature } from '../../lib/core/ecdsa-p256.js';
import { keyIdentity, rawKeyOfTufKey, tufKeyFor, verifyWithKey } from '../../lib/core/key-type.js';
import { tufKeyId } from '../../lib/core/tuf-key.js';
import { softwareKeyHandle } from '../../lib/keys/software-key.js';

function pair() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicKey, raw: p256RawPublicKey(publicKey) };
}

describe('ECDSA P-256 as securesystemslib writes it', () => {
  it('encodes keyval.public as PEM SPKI (64-column base64, final newline) and the key id over canonical JSON', () => {
    const { raw, publicKey } = pair();
    const key = tufKeyFor('ecdsa-p256', raw);
    expect(key.keytype).toBe('ecdsa');
    expect(key.scheme).toBe('ecdsa-sha2-nistp256');
    expect(key.keyval.public).toBe(publicKey.export({ format: 'pem', type: 'spki' }));
    expect(key.keyval.public).toMatch(/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/]{64}\n[A-Za-z0-9+/=]{60}\n-----END PUBLIC KEY-----\n$/);
    // securesystemslib's canonical JSON escapes only backslash and quote: the PEM's newlines stay raw.
    const canonical = `{"keytype":"ecdsa","keyval":{"public":"${key.keyval.public}"},"scheme":"ecdsa-sha2-nistp256"}`;
    expect(tufKeyId(key)).toBe(createHash('sha256').update(canonical).digest('hex'));
    expect(p256PointFromPem(key.keyval.public)).toEqual(raw);
    // the legacy keytype name reads as the same key; other schemes do not count
    expect(rawKeyOfTufKey({ ...key, keytype: 'ecdsa-sha2-nistp256' })).toEqual({ type: 'ecdsa-p256', raw });
    expect(rawKeyOfTufKey({ ...key, scheme: 'ecdsa-sha2-nistp384' })).toBeUndefined();
    expect(rawKeyOfTufKey({ ...key, keyval: { public: 'garbage' } })).toBeUndefined();
  });

  it('verifies DER signatures over SHA-256 of the message and refuses a flipped byte', () => {
    const { privateKey, raw } = pair();
    const message = Buffer.from('{"signed":1}');
    const sig = new Uint8Array(cryptoSign('sha256', message, privateKey));
    expect(p256Verify(raw, message, sig)).toBe(true);
    expect(verifyWithKey('ecdsa-p256', raw, message, sig)).toBe(true);
    const bad = Uint8Array.from(sig);
    bad[bad.length - 1]! ^= 1;
    expect(p256Verify(raw, message, bad)).toBe(false);
    expect(p256Verify(raw, Buffer.from('{"signed":2}'), sig)).toBe(false);
    expect(verifyWithKey('ecdsa-p256', raw.subarray(1), message, sig)).toBe(false);
  });

  it('checks signatures over a given digest exactly as OpenSSL does over the hashed message', () => {
    const { privateKey, raw } = pair();
    for (let i = 0; i < 4; i++) {
      const message = Buffer.from(`message ${i}`);
      const sig = new Uint8Array(cryptoSign('sha256', message, privateKey));
      const digest = createHash('sha256').update(message).digest();
      expect(p256VerifyDigest(raw, digest, sig)).toBe(true);
      digest[0]! ^= 1;
      expect(p256VerifyDigest(raw, digest, sig)).toBe(false);
    }
  });

  it('signs a digest (software keys, for OpenPGP) from its preimage, so that OpenSSL accepts it over the message and the digest check too', async () => {
    const { privateKey, raw } = pair();
    const handle = softwareKeyHandle(privateKey, 'ecdsa-p256');
    for (let i = 0; i < 4; i++) {
      const message = Buffer.from(`data ${i}`);
      const digest = createHash('sha256').update(message).digest();
      const sig = await handle.signDigest!(digest, () => [message.subarray(0, 3), message.subarray(3)]);
      expect(parseDerSignature(sig)).toBeDefined();
      expect(p256Verify(raw, message, sig)).toBe(true);
      expect(p256VerifyDigest(raw, digest, sig)).toBe(true);
    }
  });

  it('converts r‖s (PKCS#11 CKM_ECDSA) to minimal DER', () => {
    const { privateKey, raw } = pair();
    const message = Buffer.from('token');
    const p1363 = cryptoSign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const der = derFromRawSignature(p1363);
    expect(p256Verify(raw, message, der)).toBe(true);
    const leadingZero = new Uint8Array(64);
    leadingZero[31] = 1;
    leadingZero[32] = 0x80;
    expect(Buffer.from(derFromRawSignature(leadingZero)).toString('hex')).toBe(`3026020101022100${'80'.padEnd(64, '0')}`);
  });

  it('tells points on the curve from others, and counts one key once however it is encoded', () => {
    const { raw } = pair();
    expect(isP256Point(raw)).toBe(true);
    const off = Uint8Array.from(raw);
    off[64]! ^= 1;
    expect(isP256Point(off)).toBe(false);
    const a = rawKeyOfTufKey(tufKeyFor('ecdsa-p256', raw))!;
    const b = rawKeyOfTufKey({ keytype: 'ecdsa-sha2-nistp256', scheme: 'ecdsa-sha2-nistp256', keyval: { public: tufKeyFor('ecdsa-p256', raw).keyval.public.trimEnd() } })!;
    expect(keyIdentity(a)).toBe(keyIdentity(b));
  });
});
