// Property tests (fast-check): malformed, oversized and type-confused metadata and
// signatures, fed to the parser and to each step of the trusted set. Whatever comes
// in, the only failure is an AirlockError, and nothing whose signed part changed is
// ever accepted.
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalString } from '../../lib/core/canonical-json.js';
import { AirlockError } from '../../lib/core/errors.js';
import { parseMetadata, type MetadataType } from '../../lib/core/tuf-metadata.js';
import { fetchBytes } from '../../lib/verify/fetch-bounded.js';
import { DEFAULT_LIMITS } from '../../lib/verify/limits.js';
import { DirectorySource } from '../../lib/verify/source.js';
import { TrustedMetadataSet } from '../../lib/verify/trusted-metadata-set.js';
import { RepoSimulator } from '../support/tuf-repo-simulator.js';

const RUNS = { numRuns: Number(process.env.AIRLOCK_PROPERTY_RUNS ?? 150) };

const sim = new RepoSimulator();
sim.delegate('targets', { name: 'proj', paths: ['p/*'] });
sim.addTarget('p/x', 'x', 'proj');
sim.addTarget('a/b', 'b');
sim.publish();
const files = {
  root: sim.trustedRoot,
  timestamp: sim.read('metadata/timestamp.json'),
  snapshot: sim.read(sim.snapshotFile()),
  targets: sim.read(sim.targetsFile('targets')),
};

type Step = 'root' | 'timestamp' | 'snapshot' | 'targets';
const decode = (b: Uint8Array): unknown => JSON.parse(Buffer.from(b).toString());
const encode = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

/** A trusted set brought to just before `step`, then fed `bytes` for it. */
function feed(step: Step, bytes: Uint8Array): void {
  const set = new TrustedMetadataSet(files.root);
  if (step === 'root') {
    set.updateRoot(bytes);
    return;
  }
  if (step === 'timestamp') {
    set.updateTimestamp(bytes);
    return;
  }
  set.updateTimestamp(files.timestamp);
  if (step === 'snapshot') {
    // 'state' skips the listing's hash check, so the parser and signatures are what is tested.
    set.updateSnapshot(bytes, 'state');
    return;
  }
  set.updateSnapshot(files.snapshot);
  set.updateTargets(bytes, 'state');
}

/** Every path inside a JSON value, as lists of keys. */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

function mutate(doc: unknown, path: (string | number)[], action: 'replace' | 'delete' | 'add', value: unknown, key: string): unknown {
  const copy = structuredClone(doc);
  if (path.length === 0) return action === 'replace' ? value : copy;
  const parent = path.slice(0, -1).reduce<any>((o, k) => o[k], copy); // eslint-disable-line @typescript-eslint/no-explicit-any
  const last = path[path.length - 1]!;
  if (action === 'replace') parent[last] = value;
  else if (action === 'delete') Array.isArray(parent) ? parent.splice(Number(last), 1) : delete parent[last];
  else if (parent[last] && typeof parent[last] === 'object' && !Array.isArray(parent[last])) parent[last][key] = value;
  else parent[last] = value;
  return copy;
}

/** JSON values, including the awkward ones: huge and fractional numbers, -0, deep nesting, odd keys. */
const awkward = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(-0, 1.5, 2 ** 53, -1, 0, Number.MAX_SAFE_INTEGER + 2, '', '\u0000', '\ud800', '__proto__', 'constructor', []),
  fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'toString', 'keyid', 'sig', 'sha256'), fc.jsonValue({ maxDepth: 1 })),
);

function expectOnlyAirlockError(fn: () => void): 'accepted' | 'refused' {
  try {
    fn();
    return 'accepted';
  } catch (err) {
    if (!(err instanceof AirlockError)) throw new Error(`not an AirlockError: ${String((err as Error)?.stack ?? err)}`);
    return 'refused';
  }
}

describe('properties of the parser and the trusted set', () => {
  it('arbitrary bytes: parsing throws only AirlockError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom<MetadataType>('root', 'timestamp', 'snapshot', 'targets'), (bytes, type) => {
        expect(expectOnlyAirlockError(() => parseMetadata(bytes, type))).toBe('refused');
      }),
      RUNS,
    );
  });

  for (const step of ['root', 'timestamp', 'snapshot', 'targets'] as const) {
    it(`${step}: any change to the signed part is refused, and only with an AirlockError`, () => {
      const original = decode(step === 'root' ? nextRoot() : files[step]) as { signed: unknown; signatures: unknown };
      const signedPaths = paths(original.signed).map((p) => ['signed', ...p]);
      fc.assert(
        fc.property(fc.nat(), fc.constantFrom('replace', 'delete', 'add') as fc.Arbitrary<'replace' | 'delete' | 'add'>, awkward, fc.string({ maxLength: 8 }), (i, action, value, key) => {
          const path = signedPaths[i % signedPaths.length]!;
          const changed = mutate(original, path, action, value, key) as { signed: unknown };
          let same = false;
          try {
            same = canonicalString(changed.signed) === canonicalString(original.signed);
          } catch {
            same = false;
          }
          fc.pre(!same);
          expect(expectOnlyAirlockError(() => feed(step, encode(changed)))).toBe('refused');
        }),
        RUNS,
      );
    });
  }

  it('type-confused or forged signatures are refused with an AirlockError', () => {
    const original = decode(files.timestamp) as { signed: unknown };
    const sig = fc.record({ keyid: fc.oneof(fc.constantFrom(sim.keys.timestamp[0]!.keyid), fc.string()), sig: fc.oneof(fc.stringMatching(/^[0-9a-f]{128}$/), awkward) });
    fc.assert(
      fc.property(fc.oneof(fc.array(sig, { maxLength: 4 }), awkward), (signatures) => {
        expect(expectOnlyAirlockError(() => feed('timestamp', encode({ signed: original.signed, signatures })))).toBe('refused');
      }),
      RUNS,
    );
  });

  it('text-level damage (truncation, insertion) is refused with an AirlockError', () => {
    const text = Buffer.from(files.snapshot).toString();
    fc.assert(
      fc.property(fc.nat({ max: text.length }), fc.string({ maxLength: 6 }), fc.nat({ max: 4 }), (at, insert, drop) => {
        const damaged = text.slice(0, at) + insert + text.slice(at + drop);
        fc.pre(damaged !== text);
        const outcome = expectOnlyAirlockError(() => feed('snapshot', new TextEncoder().encode(damaged)));
        // White space outside strings leaves the signed part as it was: that may pass.
        if (outcome === 'accepted') expect(canonicalString((JSON.parse(damaged) as { signed: unknown }).signed)).toBe(canonicalString((decode(files.snapshot) as { signed: unknown }).signed));
      }),
      RUNS,
    );
  });

  it('oversized: a file is read only up to its cap, then refused while streaming', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-cap-'));
    const source = new DirectorySource(dir);
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 70_000 }), fc.nat({ max: 70_000 }), fc.boolean(), async (size, cap, trustedLength) => {
        writeFileSync(join(dir, 'f'), Buffer.alloc(size, 0x61));
        try {
          const bytes = await fetchBytes({ source, path: ['f'], maxBytes: cap, trustedLength, limits: DEFAULT_LIMITS });
          expect(size).toBeLessThanOrEqual(cap);
          expect(bytes.length).toBe(size);
        } catch (err) {
          expect(err).toBeInstanceOf(AirlockError);
          expect((err as AirlockError).code).toBe(trustedLength ? 'E_LENGTH' : 'E_TOO_LARGE');
          expect(size).toBeGreaterThan(cap);
        }
      }),
      { numRuns: 60 },
    );
  });
});

/** A valid 2.root.json (the same keys), for mutating the root step. */
function nextRoot(): Uint8Array {
  const s = new RepoSimulator();
  s.rotateRoot();
  files.root = s.trustedRoot;
  return s.rootHistory[1]!;
}
