// Parsing untrusted metadata (lib/core/tuf-metadata.ts): shapes, duplicate key ids,
// expiry, thresholds over distinct keys.
import { describe, expect, it } from 'vitest';
import { isExpired, parseExpires, parseMetadata, topLevelRoleVerification, verifyThreshold } from '../../lib/core/tuf-metadata.js';
import { newKey, RepoSimulator, signEnvelope } from '../support/tuf-repo-simulator.js';
import { expectCodeSync } from '../support/error-codes.js';

const enc = (v: unknown): Uint8Array => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

describe('parseMetadata', () => {
  const sim = new RepoSimulator();
  sim.publish();
  const root = JSON.parse(Buffer.from(sim.trustedRoot).toString());

  it('parses a root and keeps the exact signed bytes', () => {
    const parsed = parseMetadata(sim.trustedRoot, 'root');
    expect(parsed.signed.version).toBe(1);
    expect(parsed.signed.consistent_snapshot).toBe(true);
    expect(Buffer.from(parsed.signedBytes).toString()).toMatch(/^\{"_type":"root"/);
    expect(verifyThreshold(parsed, topLevelRoleVerification(parsed.signed, 'root'), 'root')).toBe(1);
  });

  it('collects every bad field into one E_METADATA_INVALID', () => {
    const bad = structuredClone(root);
    bad.signed.version = 0;
    bad.signed.expires = '2030-01-01T00:00:00.5Z';
    bad.signed.spec_version = '2.0.0';
    delete bad.signed.roles.snapshot;
    bad.signed.roles.targets.threshold = 'one';
    const err = expectCodeSync(() => parseMetadata(enc(bad), 'root'), 'E_METADATA_INVALID');
    const problems = err.details!.problems as string[];
    expect(problems.length).toBeGreaterThanOrEqual(5);
    for (const field of ['signed.version', 'signed.expires', 'signed.spec_version', 'signed.roles.snapshot', 'signed.roles.targets.threshold']) {
      expect(problems.some((p) => p.startsWith(field)), field).toBe(true);
    }
  });

  it('refuses duplicate key ids in a role and two signatures by one key id', () => {
    const dupRole = structuredClone(root);
    const id = dupRole.signed.roles.root.keyids[0];
    dupRole.signed.roles.root.keyids.push(id);
    expectCodeSync(() => parseMetadata(enc(dupRole), 'root'), 'E_METADATA_INVALID');
    const dupSig = structuredClone(root);
    dupSig.signatures.push(dupSig.signatures[0]);
    expectCodeSync(() => parseMetadata(enc(dupSig), 'root'), 'E_METADATA_INVALID');
  });

  it('refuses the wrong _type, non-JSON, non-UTF-8, floats and bare values', () => {
    expectCodeSync(() => parseMetadata(sim.trustedRoot, 'timestamp'), 'E_METADATA_INVALID');
    expectCodeSync(() => parseMetadata(enc('{"signed":'), 'root'), 'E_METADATA_INVALID');
    expectCodeSync(() => parseMetadata(new Uint8Array([0x7b, 0xff, 0x7d]), 'root'), 'E_METADATA_INVALID');
    expectCodeSync(() => parseMetadata(enc('[]'), 'root'), 'E_METADATA_INVALID');
    const float = structuredClone(root);
    float.signed.extra = 1.5;
    expectCodeSync(() => parseMetadata(enc(float), 'root'), 'E_METADATA_INVALID');
  });

  it('refuses an object key holding a lone surrogate: it would sign as U+FFFD (one signature, two target paths)', () => {
    const s = new RepoSimulator();
    s.addTarget('demo/1/x\u{FFFD}', 'signed with U+FFFD in its path');
    s.publish();
    const signed = Buffer.from(s.read(s.targetsFile('targets'))).toString();
    expect(signed).toContain('x\u{FFFD}');
    // The host rewrites the path as a lone surrogate: TextEncoder turns it back into
    // U+FFFD, so the canonical bytes and the signature would still match.
    const forged = enc(signed.replace('x\u{FFFD}', 'x\\ud800'));
    const err = expectCodeSync(() => parseMetadata(forged, 'targets'), 'E_METADATA_INVALID');
    expect((err.details!.problems as string[]).join()).toMatch(/lone surrogate/);
    expect(parseMetadata(enc(signed), 'targets').signed.targets['demo/1/x\u{FFFD}']).toBeDefined();
    s.cleanup();
  });

  it('keeps unrecognised fields and gives key-id lookups no prototype', () => {
    const extra = structuredClone(root);
    extra.signed.x_custom = { a: 1 };
    const parsed = parseMetadata(enc(extra), 'root');
    expect(parsed.signed.x_custom).toEqual({ a: 1 });
    expect(parsed.signed.keys.constructor).toBeUndefined();
    expect(Object.hasOwn(parsed.signed.roles, 'toString')).toBe(false);
  });

  it('refuses delegations with both roles and succinct_roles, both paths and prefixes, or top-level names', () => {
    const t = (delegations: unknown) => ({
      signed: { _type: 'targets', spec_version: '1.0.31', version: 1, expires: '2030-01-01T00:00:00Z', targets: {}, delegations },
      signatures: [],
    });
    const role = { name: 'a', keyids: [], threshold: 1, terminating: false, paths: ['a/*'] };
    expect(parseMetadata(enc(t({ keys: {}, roles: [role] })), 'targets').signed.delegations!.roles![0]!.name).toBe('a');
    for (const d of [
      { keys: {}, roles: [role], succinct_roles: { keyids: [], threshold: 1, bit_length: 4, name_prefix: 'b' } },
      { keys: {}, roles: [{ ...role, path_hash_prefixes: ['ab'] }] },
      { keys: {}, roles: [{ ...role, name: 'snapshot' }] },
      { keys: {}, roles: [role, role] },
      { keys: {}, succinct_roles: { keyids: [], threshold: 1, bit_length: 33, name_prefix: 'b' } },
    ]) {
      expectCodeSync(() => parseMetadata(enc(t(d)), 'targets'), 'E_METADATA_INVALID');
    }
  });
});

describe('expiry', () => {
  it('parses only YYYY-MM-DDTHH:MM:SSZ of a real date', () => {
    expect(parseExpires('2030-01-02T03:04:05Z')?.toISOString()).toBe('2030-01-02T03:04:05.000Z');
    for (const s of ['2030-02-30T00:00:00Z', '2030-01-01T24:00:00Z', '2030-01-01T00:00:00+00:00', '2030-01-01', 2030, '2030-01-01T00:00:00.000Z']) {
      expect(parseExpires(s), String(s)).toBeUndefined();
    }
  });
  it('is expired at the instant of expiry, not before', () => {
    const signed = { expires: '2030-01-01T00:00:00Z' };
    expect(isExpired(signed, new Date('2029-12-31T23:59:59Z'))).toBe(false);
    expect(isExpired(signed, new Date('2030-01-01T00:00:00Z'))).toBe(true);
  });
});

describe('verifyThreshold', () => {
  it('counts distinct keys: one key listed under two ids, or signing twice, counts once', () => {
    const k = newKey();
    const altKey = { ...k.key, keyval: { ...k.key.keyval }, x: 'same key, other id' };
    const signed = { _type: 'targets', spec_version: '1.0.31', version: 1, expires: '2030-01-01T00:00:00Z', targets: {} };
    const bytes = signEnvelope(signed, [k]);
    const env = JSON.parse(Buffer.from(bytes).toString());
    env.signatures.push({ keyid: 'alt', sig: env.signatures[0].sig });
    const parsed = parseMetadata(enc(env), 'targets');
    const keys = { [k.keyid]: k.key, alt: altKey };
    expect(verifyThreshold(parsed, { role: 'targets', keyids: [k.keyid, 'alt'], threshold: 1, keys }, 't')).toBe(1);
    expectCodeSync(() => verifyThreshold(parsed, { role: 'targets', keyids: [k.keyid, 'alt'], threshold: 2, keys }, 't'), 'E_SIG_THRESHOLD');
  });

  it('ignores signatures by keys outside the role, and bad signatures', () => {
    const [a, b, outsider] = [newKey(), newKey(), newKey()];
    const signed = { _type: 'targets', spec_version: '1.0.31', version: 1, expires: '2030-01-01T00:00:00Z', targets: {} };
    const parsed = parseMetadata(signEnvelope(signed, [a, outsider]), 'targets');
    const keys = { [a.keyid]: a.key, [b.keyid]: b.key, [outsider.keyid]: outsider.key };
    expectCodeSync(() => verifyThreshold(parsed, { role: 'targets', keyids: [a.keyid, b.keyid], threshold: 2, keys }, 't'), 'E_SIG_THRESHOLD');
    const tampered = JSON.parse(Buffer.from(signEnvelope(signed, [a, b])).toString());
    tampered.signed.version = 2;
    expectCodeSync(() => verifyThreshold(parseMetadata(enc(tampered), 'targets'), { role: 'targets', keyids: [a.keyid, b.keyid], threshold: 1, keys }, 't'), 'E_SIG_THRESHOLD');
  });
});
