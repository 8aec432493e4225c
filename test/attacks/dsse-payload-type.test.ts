// CVE-2026-48758: DSSE's pre-authentication encoding (PAE) gives LEN(type) and
// LEN(body) as byte counts. An implementation that counts the characters of a
// non-ASCII payloadType signs and checks a message other than the one every other DSSE
// implementation signs, and lets an envelope be read with another type/body split than
// the one signed. Airlock signs provenance (lib/builder/dsse.ts) and checks it in
// `airlock reproduce`; neither airlock-verify nor tuf-js reads DSSE, so this attack is
// replayed against airlock's DSSE code alone.
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ed25519RawPublicKey } from '../../lib/core/ed25519.js';
import { pae, parseDsse, serializeDsse, signDsse, verifyDsse } from '../../lib/builder/dsse.js';
import { expectCodeSync } from '../support/error-codes.js';
import { memorySigner } from '../support/memory-signer.js';

const TYPE = 'application/vnd.in-toto+json; charset=ünïcödé';
const PAYLOAD = new TextEncoder().encode('{"_type":"https://in-toto.io/Statement/v1"}');

describe('CVE-2026-48758: DSSE payloadType with non-ASCII characters', () => {
  it('PAE counts UTF-8 bytes (the DSSE protocol.md example, with a two-byte character)', () => {
    // "DSSEv1 2 ä 5 hello": ä is one character and two bytes.
    expect(Buffer.from(pae('ä', new TextEncoder().encode('hello'))).toString('hex')).toBe(Buffer.from('DSSEv1 2 \u00e4 5 hello', 'utf8').toString('hex'));
    expect(Buffer.from(pae(TYPE, PAYLOAD)).subarray(0, 10).toString()).toBe(`DSSEv1 ${Buffer.byteLength(TYPE)} `);
  });

  it('an envelope signed by airlock verifies over the byte-length PAE, after a round trip through its file form', async () => {
    const signer = memorySigner('targets');
    const env = parseDsse(serializeDsse(await signDsse(TYPE, PAYLOAD, signer, { kind: 'provenance', name: 'demo', version: '1', sha256: '00' })));
    expect(Buffer.from(verifyDsse(env, [{ keyId: signer.keyId, publicKey: signer.publicKey }]).payload)).toEqual(Buffer.from(PAYLOAD));
  });

  it('refuses an envelope whose signature covers a character-count PAE', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    // What a vulnerable signer produces: LEN(type) in characters.
    const wrong = Buffer.concat([Buffer.from(`DSSEv1 ${TYPE.length} ${TYPE} ${PAYLOAD.length} `, 'utf8'), PAYLOAD]);
    expect(TYPE.length).not.toBe(Buffer.byteLength(TYPE));
    const env = { payload: Buffer.from(PAYLOAD).toString('base64'), payloadType: TYPE, signatures: [{ keyid: 'k', sig: cryptoSign(null, wrong, privateKey).toString('base64') }] };
    expectCodeSync(() => verifyDsse(parseDsse(serializeDsse(env)), [{ keyId: 'k', publicKey: ed25519RawPublicKey(publicKey) }]), 'E_PROVENANCE');
  });

  it('refuses a signature moved onto another type/body split of the same bytes', async () => {
    // Signed: type "a b", body "c". Under a byte-count PAE no other split gives the same
    // message; the envelope with type "a" and body "b c"-ish bytes must not verify.
    const signer = memorySigner('targets');
    const signed = await signDsse('a b', new TextEncoder().encode('c'), signer, { kind: 'provenance', name: 'demo', version: '1', sha256: '00' });
    const moved = { ...signed, payloadType: 'a', payload: Buffer.from('b c').toString('base64') };
    expectCodeSync(() => verifyDsse(parseDsse(serializeDsse(moved)), [{ keyId: signer.keyId, publicKey: signer.publicKey }]), 'E_PROVENANCE');
  });
});
