// Every signature scheme of the TUF specification and securesystemslib, checked with
// node:crypto (lib/core/signature-schemes.ts) and counted by the one threshold primitive
// (lib/core/tuf-threshold.ts). Signatures come from node:crypto and from independent
// implementations: securesystemslib/pyca-cryptography (Python) and @noble/ed25519; tuf-js
// (@tufjs/models) must agree on the same metadata wherever it supports the scheme.
import { execFileSync } from 'node:child_process';
import { constants, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { Metadata, MetadataKind } from '@tufjs/models';
import { describe, expect, it } from 'vitest';
import { canonicalBytes } from '../../lib/core/canonical-json.js';
import { toHex } from '../../lib/core/hex.js';
import { verificationKey } from '../../lib/core/signature-schemes.js';
import { ecdsaP256TufKey, ed25519TufKey, spkiPem, tufKeyId, type TufKey } from '../../lib/core/tuf-key.js';
import { parseMetadata, thresholdResult, topLevelRoleVerification, verifyThreshold, type RootSigned } from '../../lib/core/tuf-metadata.js';
import { expectCodeSync } from '../support/error-codes.js';

ed.hashes.sha512 = sha512;

interface TestKey {
  tuf: TufKey;
  sign(message: Uint8Array): Uint8Array;
}

const pem = (k: KeyObject): string => k.export({ format: 'pem', type: 'spki' }).toString();

function nodeKey(scheme: string): TestKey {
  if (scheme === 'ed25519') {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
    return { tuf: ed25519TufKey(raw), sign: (m) => sign(null, m, privateKey) };
  }
  if (scheme.startsWith('ecdsa-sha2-nistp')) {
    const curve = { 'ecdsa-sha2-nistp256': 'P-256', 'ecdsa-sha2-nistp384': 'P-384', 'ecdsa-sha2-nistp521': 'P-521' }[scheme]!;
    const hash = { 'ecdsa-sha2-nistp256': 'sha256', 'ecdsa-sha2-nistp384': 'sha384', 'ecdsa-sha2-nistp521': 'sha512' }[scheme]!;
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: curve });
    return { tuf: { keytype: 'ecdsa', scheme, keyval: { public: pem(publicKey) } }, sign: (m) => sign(hash, m, privateKey) };
  }
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pss = scheme.startsWith('rsassa-pss');
  const hash = scheme.slice(scheme.lastIndexOf('-') + 1);
  return {
    tuf: { keytype: 'rsa', scheme, keyval: { public: pem(publicKey) } },
    // securesystemslib signs PSS with salt length = digest length.
    sign: (m) => sign(hash, m, pss ? { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } : privateKey),
  };
}

/** A root whose root role is `keys` (ids as given) with `threshold`, signed by `signers`. */
function rootSignedBy(keys: Record<string, TufKey>, threshold: number, signers: [string, TestKey][]): { json: Record<string, unknown>; bytes: Uint8Array } {
  const signed: RootSigned = {
    _type: 'root',
    spec_version: '1.0.31',
    version: 1,
    expires: '2040-01-01T00:00:00Z',
    consistent_snapshot: true,
    keys,
    roles: Object.fromEntries(['root', 'timestamp', 'snapshot', 'targets'].map((r) => [r, { keyids: Object.keys(keys), threshold }])) as RootSigned['roles'],
  };
  const message = canonicalBytes(signed);
  const json = { signed, signatures: signers.map(([keyid, k]) => ({ keyid, sig: toHex(k.sign(message)) })) };
  return { json, bytes: new TextEncoder().encode(JSON.stringify(json)) };
}

function flipSignature(json: Record<string, unknown>, index = 0): Uint8Array {
  const copy = structuredClone(json) as { signatures: { sig: string }[] };
  const sig = copy.signatures[index]!.sig;
  const at = sig.length - 2;
  copy.signatures[index]!.sig = sig.slice(0, at) + ((parseInt(sig.slice(at), 16) ^ 1).toString(16).padStart(2, '0'));
  return new TextEncoder().encode(JSON.stringify(copy));
}

function airlockAccepts(bytes: Uint8Array): boolean {
  const md = parseMetadata(bytes, 'root');
  return thresholdResult(md, topLevelRoleVerification(md.signed, 'root')).verified;
}

function tufJsAccepts(bytes: Uint8Array): boolean {
  const md = Metadata.fromJSON(MetadataKind.Root, JSON.parse(Buffer.from(bytes).toString()));
  try {
    md.verifyDelegate('root', md);
    return true;
  } catch (err) {
    // @tufjs/models does not export its error classes; anything else is a failed test.
    if ((err as Error).constructor.name === 'UnsignedMetadataError') return false;
    throw err;
  }
}

const SCHEMES = ['ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsassa-pss-sha256', 'rsa-pkcs1v15-sha256', 'rsassa-pss-sha512'];
/** Schemes @tufjs/models 4 verifies (it hashes ECDSA with SHA-256 only and has no PKCS#1 v1.5). */
const TUF_JS = new Set(['ed25519', 'ecdsa-sha2-nistp256', 'rsassa-pss-sha256']);

describe('signature schemes, signed by node:crypto', () => {
  for (const scheme of SCHEMES) {
    it(`${scheme}: verifies, and a flipped signature byte is refused${TUF_JS.has(scheme) ? ' (tuf-js agrees)' : ''}`, () => {
      const k = nodeKey(scheme);
      const id = tufKeyId(k.tuf);
      const { json, bytes } = rootSignedBy({ [id]: k.tuf }, 1, [[id, k]]);
      const flipped = flipSignature(json);
      expect(airlockAccepts(bytes)).toBe(true);
      expect(airlockAccepts(flipped)).toBe(false);
      if (TUF_JS.has(scheme)) {
        expect(tufJsAccepts(bytes)).toBe(true);
        expect(tufJsAccepts(flipped)).toBe(false);
      }
    });
  }

  it('the legacy keytype ecdsa-sha2-nistp256 is accepted', () => {
    const k = nodeKey('ecdsa-sha2-nistp256');
    k.tuf.keytype = 'ecdsa-sha2-nistp256';
    const { bytes } = rootSignedBy({ a: k.tuf }, 1, [['a', k]]);
    expect(airlockAccepts(bytes)).toBe(true);
  });

  it('RSA-PSS signatures with a salt other than the digest length verify, as securesystemslib accepts them (PSS.AUTO)', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key: TufKey = { keytype: 'rsa', scheme: 'rsassa-pss-sha256', keyval: { public: pem(publicKey) } };
    const msg = new TextEncoder().encode('airlock');
    for (const saltLength of [0, 20, constants.RSA_PSS_SALTLEN_MAX_SIGN]) {
      const sig = sign('sha256', msg, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });
      expect(verificationKey(key)!.verify(msg, sig)).toBe(true);
    }
  });
});

describe('signature schemes, signed by independent implementations', () => {
  it('Ed25519 signed by @noble/ed25519', async () => {
    const seed = ed.utils.randomSecretKey();
    const key = ed25519TufKey(await ed.getPublicKeyAsync(seed));
    const k: TestKey = { tuf: key, sign: (m) => ed.sign(m, seed) };
    const { json, bytes } = rootSignedBy({ n: key }, 1, [['n', k]]);
    expect(airlockAccepts(bytes)).toBe(true);
    expect(airlockAccepts(flipSignature(json))).toBe(false);
  });

  it('ECDSA P-256/P-384 and RSA (PSS, PKCS#1 v1.5) keys and signatures written by securesystemslib', () => {
    const script = fileURLToPath(new URL('fixtures/securesystemslib-sign.py', import.meta.url));
    const msg = canonicalBytes({ _type: 'root', note: 'signed in Python' });
    const made = JSON.parse(execFileSync('/usr/bin/python3', [script], { input: msg }).toString()) as { keyid: string | null; metadata: TufKey | null; key: TufKey; sig: string }[];
    expect(made.map((m) => m.key.scheme)).toEqual(['ecdsa-sha2-nistp256', 'rsassa-pss-sha256', 'rsa-pkcs1v15-sha256', 'ecdsa-sha2-nistp384']);
    for (const m of made) {
      const vk = verificationKey(m.key);
      expect(vk, m.key.scheme).toBeDefined();
      const sig = Buffer.from(m.sig, 'hex');
      expect(vk!.verify(msg, sig), m.key.scheme).toBe(true);
      sig[sig.length - 1]! ^= 1;
      expect(vk!.verify(msg, sig), m.key.scheme).toBe(false);
      // Key ids are securesystemslib's: the SHA-256 of the canonical key object (0.26
      // still hashes its legacy keyid_hash_algorithms field along).
      if (m.metadata !== null) expect(tufKeyId(m.metadata)).toBe(m.keyid);
    }
    // Our P-256 encoder writes the key exactly as securesystemslib does.
    const p256 = made[0]!;
    const der = Buffer.from(p256.key.keyval.public.split('\n').filter((l) => l && !l.startsWith('-----')).join(''), 'base64');
    expect(ecdsaP256TufKey(der)).toEqual(p256.key);
  });
});

describe('P-256 key encoding', () => {
  it('encodes a node key as PEM SPKI with keytype ecdsa, and refuses other keys', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const key = ecdsaP256TufKey(publicKey);
    expect(key).toEqual({ keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: pem(publicKey) } });
    expect(spkiPem(publicKey.export({ format: 'der', type: 'spki' }))).toBe(pem(publicKey));
    expect(() => ecdsaP256TufKey(privateKey)).toThrow(TypeError);
    expect(() => ecdsaP256TufKey(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey)).toThrow(TypeError);
    expect(() => ecdsaP256TufKey(createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' })))).toThrow(TypeError);
  });
});

describe('thresholds count distinct public keys', () => {
  it('one P-256 key listed under two ids, PEM wrapped differently, counts once', () => {
    const k = nodeKey('ecdsa-sha2-nistp256');
    const rewrapped: TufKey = { ...k.tuf, keyval: { public: k.tuf.keyval.public.replace(/\n(?!-----)/g, '\n').replace(/^(-----BEGIN PUBLIC KEY-----\n)(.{40})/, '$1$2\n') } };
    expect(rewrapped.keyval.public).not.toBe(k.tuf.keyval.public);
    expect(verificationKey(rewrapped)?.identity).toBe(verificationKey(k.tuf)?.identity);
    const { bytes } = rootSignedBy({ a: k.tuf, b: rewrapped }, 2, [['a', k], ['b', k]]);
    const md = parseMetadata(bytes, 'root');
    const r = thresholdResult(md, topLevelRoleVerification(md.signed, 'root'));
    expect(r).toMatchObject({ signed: ['a'], missing: [], unlisted: [], verified: false });
    const err = expectCodeSync(() => verifyThreshold(md, topLevelRoleVerification(md.signed, 'root'), '1.root.json'), 'E_SIG_THRESHOLD');
    expect(err.details).toMatchObject({ signed: ['a'], threshold: 2 });
    expect(thresholdResult(md, { ...topLevelRoleVerification(md.signed, 'root'), threshold: 1 }).verified).toBe(true);
  });

  it('the same RSA key under PSS and PKCS#1 v1.5 schemes counts once', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pss: TufKey = { keytype: 'rsa', scheme: 'rsassa-pss-sha256', keyval: { public: pem(publicKey) } };
    const pkcs: TufKey = { keytype: 'rsa', scheme: 'rsa-pkcs1v15-sha256', keyval: { public: pem(publicKey) } };
    const signPss: TestKey = { tuf: pss, sign: (m) => sign('sha256', m, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING }) };
    const signPkcs: TestKey = { tuf: pkcs, sign: (m) => sign('sha256', m, privateKey) };
    const { bytes } = rootSignedBy({ p: pss, q: pkcs }, 2, [['p', signPss], ['q', signPkcs]]);
    expect(airlockAccepts(bytes)).toBe(false);
  });

  it('names missing keys and signatures from keys the role does not list', () => {
    const a = nodeKey('ed25519');
    const b = nodeKey('ecdsa-sha2-nistp256');
    const stranger = nodeKey('ed25519');
    const { bytes } = rootSignedBy({ a: a.tuf, b: b.tuf }, 2, [['a', a], ['x', stranger]]);
    const md = parseMetadata(bytes, 'root');
    const err = expectCodeSync(() => verifyThreshold(md, topLevelRoleVerification(md.signed, 'root'), 'root.json'), 'E_SIG_THRESHOLD');
    expect(err.details).toMatchObject({ signed: ['a'], missing: ['b'], unlisted: ['x'], unusable: [] });
  });
});

describe('keys that cannot verify never count and never crash', () => {
  const good = nodeKey('ed25519');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
  const p256 = nodeKey('ecdsa-sha2-nistp256');
  const bad: Record<string, TufKey> = {
    unknownScheme: { keytype: 'sphincs', scheme: 'sphincs-shake-256f', keyval: { public: 'ab' } },
    shortEd25519: { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: 'abcd' } },
    pemNotBase64: { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: '-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n' } },
    pemGarbage: { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' } },
    curveMismatch: { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: pem(p384) } },
    keytypeMismatch: { keytype: 'rsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: p256.tuf.keyval.public } },
    rsaUnderEcdsa: { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey) } },
    rsa1024: { keytype: 'rsa', scheme: 'rsassa-pss-sha256', keyval: { public: pem(rsa) } },
    privateKeyPem: { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() } },
  };

  it('each is unusable on its own', () => {
    for (const [name, key] of Object.entries(bad)) expect(verificationKey(key), name).toBeUndefined();
  });

  it('metadata listing them still verifies with the usable key, and they are reported unusable', () => {
    const signers: [string, TestKey][] = [['good', good], ...Object.keys(bad).map((id): [string, TestKey] => [id, good])];
    const { bytes } = rootSignedBy({ good: good.tuf, ...bad }, 1, signers);
    const md = parseMetadata(bytes, 'root');
    const r = thresholdResult(md, topLevelRoleVerification(md.signed, 'root'));
    expect(r.verified).toBe(true);
    expect(r.signed).toEqual(['good']);
    expect(r.unusable.sort()).toEqual(Object.keys(bad).sort());
    expect(thresholdResult(md, { ...topLevelRoleVerification(md.signed, 'root'), threshold: 2 }).verified).toBe(false);
  });

  it('signatures that are not what the scheme expects are refused, not thrown', () => {
    const k = nodeKey('ecdsa-sha2-nistp256');
    const vk = verificationKey(k.tuf)!;
    const msg = new TextEncoder().encode('m');
    for (const sig of [new Uint8Array(), new Uint8Array(64), new Uint8Array(500).fill(0x30)]) expect(vk.verify(msg, sig)).toBe(false);
  });
});
