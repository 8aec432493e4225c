// parseUnverifiedEnvelope (lib/core/tuf-metadata.ts): the terminal's own copy parsed with
// the same shape checks as parseMetadata, without the canonical bytes nobody verifies there,
// but only in the canonical form airlock writes it: a copy edited by hand is refused on reading.
import { describe, expect, it } from 'vitest';
import { canonicalJsonFileBytes } from '../../lib/core/canonical-json.js';
import { parseMetadata, parseUnverifiedEnvelope } from '../../lib/core/tuf-metadata.js';
import { expectCodeSync } from '../support/error-codes.js';
import { RepoSimulator } from '../support/tuf-repo-simulator.js';

describe('parseUnverifiedEnvelope', () => {
  const sim = new RepoSimulator();
  sim.publish();

  it('gives what parseMetadata gives, minus the signed bytes', () => {
    const full = parseMetadata(sim.trustedRoot, 'root');
    // The simulator writes plain JSON; the terminal's copy holds the canonical form.
    const envelope = parseUnverifiedEnvelope(canonicalJsonFileBytes(JSON.parse(Buffer.from(sim.trustedRoot).toString())), 'root');
    expect(envelope).toEqual({ signed: full.signed, signatures: full.signatures });
    expect('signedBytes' in envelope).toBe(false);
  });

  it('refuses the shapes parseMetadata refuses (E_METADATA_INVALID)', () => {
    const bad = JSON.parse(Buffer.from(sim.trustedRoot).toString());
    bad.signed.version = 0;
    const bytes = new TextEncoder().encode(JSON.stringify(bad));
    expectCodeSync(() => parseUnverifiedEnvelope(bytes, 'root'), 'E_METADATA_INVALID');
    expectCodeSync(() => parseUnverifiedEnvelope(new TextEncoder().encode('[1]'), 'targets'), 'E_METADATA_INVALID');
    expectCodeSync(() => parseUnverifiedEnvelope(new Uint8Array([0xff, 0xfe]), 'targets'), 'E_METADATA_INVALID');
  });
});

describe('parseUnverifiedEnvelope, the canonical form', () => {
  const sim = new RepoSimulator();
  sim.publish();
  const root = (): Record<string, unknown> => JSON.parse(Buffer.from(sim.trustedRoot).toString());

  it('takes the canonical bytes airlock writes', () => {
    expect(parseUnverifiedEnvelope(canonicalJsonFileBytes(root()), 'root').signed.version).toBe(1);
  });

  it('refuses the same metadata re-indented, with its keys reordered, or with a trailing newline (E_METADATA_INVALID)', () => {
    const r = root();
    expectCodeSync(() => parseUnverifiedEnvelope(new TextEncoder().encode(JSON.stringify(r, null, 2)), 'root'), 'E_METADATA_INVALID');
    expectCodeSync(() => parseUnverifiedEnvelope(new TextEncoder().encode(JSON.stringify({ signed: r.signed, signatures: r.signatures })), 'root'), 'E_METADATA_INVALID');
    expectCodeSync(() => parseUnverifiedEnvelope(new Uint8Array([...canonicalJsonFileBytes(r), 0x0a]), 'root'), 'E_METADATA_INVALID');
  });

  it('refuses a signed part with no canonical form: a float, a lone surrogate (E_METADATA_INVALID)', () => {
    const canonical = Buffer.from(canonicalJsonFileBytes(root())).toString();
    const float = canonical.replace('"consistent_snapshot":true', '"consistent_snapshot":true,"x-float":1.5');
    expect(float).not.toBe(canonical);
    expectCodeSync(() => parseUnverifiedEnvelope(new TextEncoder().encode(float), 'root'), 'E_METADATA_INVALID');
    const surrogate = canonical.replace('"consistent_snapshot":true', '"consistent_snapshot":true,"x-name":"\\ud800"');
    expectCodeSync(() => parseUnverifiedEnvelope(new TextEncoder().encode(surrogate), 'root'), 'E_METADATA_INVALID');
  });
});
