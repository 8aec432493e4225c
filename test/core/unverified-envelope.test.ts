// parseUnverifiedEnvelope (lib/core/tuf-metadata.ts): the terminal's own copy parsed with
// the same shape checks as parseMetadata, without the canonical bytes nobody verifies there.
import { describe, expect, it } from 'vitest';
import { parseMetadata, parseUnverifiedEnvelope } from '../../lib/core/tuf-metadata.js';
import { expectCodeSync } from '../support/error-codes.js';
import { RepoSimulator } from '../support/tuf-repo-simulator.js';

describe('parseUnverifiedEnvelope', () => {
  const sim = new RepoSimulator();
  sim.publish();

  it('gives what parseMetadata gives, minus the signed bytes', () => {
    const full = parseMetadata(sim.trustedRoot, 'root');
    const envelope = parseUnverifiedEnvelope(sim.trustedRoot, 'root');
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
