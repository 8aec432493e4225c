// RFC 7512 PKCS#11 URIs: the examples of the RFC's §3, round trips, and the refusals
// that keep a PIN out of a key record and an unmatched attribute from widening a choice.
import { describe, expect, it } from 'vitest';
import { formatPkcs11Uri, parsePkcs11Uri } from '../../../lib/keys/pkcs11/uri.js';

describe('parsing PKCS#11 URIs', () => {
  it('reads the RFC 7512 §3 examples it can honour', () => {
    expect(parsePkcs11Uri('pkcs11:')).toEqual({});
    expect(parsePkcs11Uri('pkcs11:object=my-pubkey;type=public')).toEqual({ object: 'my-pubkey', type: 'public' });
    expect(parsePkcs11Uri('pkcs11:object=my-key;type=private')).toEqual({ object: 'my-key', type: 'private' });
    expect(parsePkcs11Uri('pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91')).toEqual({
      token: 'The Software PKCS#11 Softtoken',
      manufacturer: 'Snake Oil, Inc.',
      model: '1.0',
      object: 'my-certificate',
      type: 'cert',
      id: Uint8Array.from([0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbd, 0xec, 0x91]),
    });
    expect(parsePkcs11Uri('pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?module-path=/usr/lib/libmypkcs11.so')).toEqual({
      token: 'Software PKCS#11 softtoken',
      manufacturer: 'Snake Oil, Inc.',
      modulePath: '/usr/lib/libmypkcs11.so',
    });
    expect(parsePkcs11Uri('pkcs11:slot-id=72;object=x')).toEqual({ slotId: 72n, object: 'x' });
    // UTF-8 labels, percent-encoded (§2.3).
    expect(parsePkcs11Uri('pkcs11:token=%E2%82%AC%20token')).toEqual({ token: '€ token' });
  });

  it('writes what it reads: labels with any bytes, binary ids, the module path', () => {
    const uri = { token: 'release; key?/#€', serial: '5533df7fcb5ba213', object: 'airlock targets', type: 'private' as const, id: Uint8Array.from([0, 1, 0xff, 0x25]), modulePath: '/usr/lib/softhsm/libsofthsm2.so' };
    const text = formatPkcs11Uri(uri);
    expect(text).toBe('pkcs11:token=release%3B%20key%3F%2F%23%E2%82%AC;serial=5533df7fcb5ba213;object=airlock%20targets;type=private;id=%00%01%FF%25?module-path=/usr/lib/softhsm/libsofthsm2.so');
    expect(parsePkcs11Uri(text)).toEqual(uri);
  });

  it('refuses a PIN in the URI (pin-value, pin-source): a PIN never goes into a key record', () => {
    for (const u of ['pkcs11:token=t?pin-value=123456', 'pkcs11:token=t?pin-source=file:/etc/pin']) {
      expect(() => parsePkcs11Uri(u), u).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    }
  });

  it('refuses what it cannot match on, repeated attributes, and malformed text', () => {
    for (const u of [
      'file:///etc/passwd',
      'pkcs11:library-description=x',
      'pkcs11:slot-description=x',
      'pkcs11:x-vendor=1',
      'pkcs11:colour=blue',
      'pkcs11:token=a;token=b',
      'pkcs11:token=%zz',
      'pkcs11:token=a b',
      'pkcs11:token',
      'pkcs11:type=secret',
      'pkcs11:slot-id=-1',
      'pkcs11:token=%FF',
      'pkcs11:token=t?module-name=softhsm2',
    ]) {
      expect(() => parsePkcs11Uri(u), u).toThrow(expect.objectContaining({ code: 'E_TOKEN_KEY' }));
    }
  });
});
