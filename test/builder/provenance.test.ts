// The provenance envelope is checked here with an implementation that is not airlock's:
// PAE written out from the DSSE spec in this file, Ed25519 from @noble/ed25519.
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRelease, parseProvenanceEnvelope, signProvenance, type BuildResult } from '../../lib/builder/index.js';
import { isAirlockError } from '../../lib/core/errors.js';
import { memorySigner } from '../support/memory-signer.js';
import { makeRepo, recipeJson } from '../support/build-repo.js';

ed.hashes.sha512 = sha512;

/** DSSE v1 PAE, from envelope.md, independently of lib/builder/dsse.ts. */
function specPae(type: string, body: Uint8Array): Uint8Array {
  const t = new TextEncoder().encode(type);
  const head = new TextEncoder().encode(`DSSEv1 ${t.length} `);
  const mid = new TextEncoder().encode(` ${body.length} `);
  const out = new Uint8Array(head.length + t.length + mid.length + body.length);
  out.set(head, 0);
  out.set(t, head.length);
  out.set(mid, head.length + t.length);
  out.set(body, head.length + t.length + mid.length);
  return out;
}

const work = mkdtempSync(join(tmpdir(), 'airlock-prov-test-'));
let result: BuildResult;
beforeAll(async () => {
  const repo = makeRepo(
    {
      'airlock.recipe.json': recipeJson({
        project: 'hello',
        version: '2.0.0',
        steps: [
          { name: 'tarball', archive: { output: 'hello-2.0.0.tar.gz', prefix: 'hello-2.0.0/' } },
          { name: 'notes', run: ['sh', '-c', 'echo notes > "$AIRLOCK_OUT/NOTES"'] },
        ],
        artifacts: ['hello-2.0.0.tar.gz', 'NOTES'],
      }),
      'a.txt': 'a\n',
    },
    'release/2.0.0',
    work,
  );
  result = await buildRelease({ source: repo.dir, branch: repo.branch, commit: repo.commit, workRoot: work });
});
afterAll(async () => {
  await result?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('provenance', () => {
  it('is an in-toto Statement v1 with a SLSA v1 predicate whose subjects are the artifacts', () => {
    const s = result.statement;
    expect(s._type).toBe('https://in-toto.io/Statement/v1');
    expect(s.predicateType).toBe('https://slsa.dev/provenance/v1');
    expect(s.subject.map((x) => x.name)).toEqual(['hello-2.0.0.tar.gz', 'NOTES']);
    for (const a of result.artifacts) {
      const sub = s.subject.find((x) => x.name === a.name)!;
      expect(sub.digest.sha256).toBe(createHash('sha256').update(readFileSync(a.path)).digest('hex'));
      expect(sub.digest.sha512).toBe(createHash('sha512').update(readFileSync(a.path)).digest('hex'));
    }
    const ext = s.predicate.buildDefinition.externalParameters;
    expect(ext.commit).toBe(result.commit);
    expect(ext.branch).toBe('release/2.0.0');
    expect(ext.recipe.digest.sha256).toBe(result.recipeDigest);
    expect(ext.allowNetwork).toBe(false);
    // Nothing of this machine's paths in the deterministic parts.
    expect(JSON.stringify(s.predicate.buildDefinition.internalParameters)).not.toContain(work);
  });

  it('signs a DSSE envelope that an independent PAE + Ed25519 verifies', async () => {
    const signer = memorySigner('targets');
    const bytes = await signProvenance(result.statement, signer);
    const env = JSON.parse(Buffer.from(bytes).toString('utf8'));
    expect(env.payloadType).toBe('application/vnd.in-toto+json');
    expect(env.signatures).toHaveLength(1);
    expect(env.signatures[0].keyid).toBe(signer.keyId);
    const payload = new Uint8Array(Buffer.from(env.payload, 'base64'));
    const sig = new Uint8Array(Buffer.from(env.signatures[0].sig, 'base64'));
    expect(ed.verify(sig, specPae(env.payloadType, payload), signer.publicKey, { zip215: false })).toBe(true);
    const statement = JSON.parse(Buffer.from(payload).toString('utf8'));
    for (const a of result.artifacts) {
      expect(statement.subject.find((x: { name: string }) => x.name === a.name).digest.sha256).toBe(a.digests.sha256);
    }
    expect(signer.requests[0]!.purpose).toBe('dsse');
    // And our own parser round-trips it.
    const v = parseProvenanceEnvelope(bytes, { keyId: signer.keyId, publicKey: signer.publicKey });
    expect(v.recorded.commit).toBe(result.commit);
  });

  it('refuses an altered envelope and a wrong key', async () => {
    const signer = memorySigner('targets');
    const bytes = await signProvenance(result.statement, signer);
    const env = JSON.parse(Buffer.from(bytes).toString('utf8'));
    const forged = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8'));
    forged.subject[0].digest.sha256 = '0'.repeat(64);
    const tampered = Buffer.from(JSON.stringify({ ...env, payload: Buffer.from(JSON.stringify(forged)).toString('base64') }));
    const codeOf = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return isAirlockError(e) ? e.code : 'other';
      }
      return 'ok';
    };
    expect(codeOf(() => parseProvenanceEnvelope(tampered, { keyId: signer.keyId, publicKey: signer.publicKey }))).toBe('E_PROVENANCE');
    const other = memorySigner('targets');
    expect(codeOf(() => parseProvenanceEnvelope(bytes, { keyId: other.keyId, publicKey: other.publicKey }))).toBe('E_PROVENANCE');
    // The right key id with another key's bytes: the signature check itself fails.
    expect(codeOf(() => parseProvenanceEnvelope(bytes, { keyId: signer.keyId, publicKey: other.publicKey }))).toBe('E_PROVENANCE');
    expect(ed.verify(new Uint8Array(Buffer.from(env.signatures[0].sig, 'base64')), specPae(env.payloadType, Buffer.from(JSON.stringify(forged))), signer.publicKey)).toBe(false);
  });
});
