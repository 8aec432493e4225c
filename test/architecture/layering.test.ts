// The layers of docs/architecture.md, enforced with one import parser (imports.ts):
// - every lib area imports only what its README's "May import" line allows — the table
//   below encodes those lines, and a test checks the table against the READMEs, so
//   neither can change alone;
// - nothing in lib/ imports cli/; no cli/commands file imports another;
// - what a program loads at run time (recursively, type-only imports erased): the
//   verifier only lib/verify, lib/core and node built-ins; `airlock reproduce` no
//   keystore, repository or publishing code.
// Type-only imports count for the layer rules (a layer must not lean on another's types
// either), except the types a README names (`Signer`); they do not count for what a
// program loads, since the compiler erases them.
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureBundle } from '../support/verify-clients.js';
import { importsOf, layerOf, layerOfFile, resolveSource, root, runtimeClosure, sourcesUnder } from './imports.js';

interface MayImport {
  /** Other lib areas, any file, any kind of import. */
  layers: readonly string[];
  /** npm packages. */
  packages: readonly string[];
  /** Single files of other areas that may be imported for their types only. */
  types?: readonly string[];
}

/** Each lib/*\/README.md "May import" line (node built-ins are open to every area). */
const MAY_IMPORT: Record<string, MayImport> = {
  'lib/core': { layers: [], packages: [] },
  'lib/verify': { layers: ['lib/core'], packages: [] },
  'lib/keys': { layers: ['lib/core'], packages: ['pkcs11js'] },
  'lib/builder': { layers: ['lib/core', 'lib/verify'], packages: ['tar-stream'], types: ['lib/keys/signer.ts'] },
  'lib/publish': { layers: ['lib/core'], packages: ['ssh2', '@aws-sdk/client-s3'], types: ['lib/keys/signer.ts'] },
  'lib/repo': { layers: ['lib/core', 'lib/keys', 'lib/verify'], packages: [] },
  'lib/reproduce': { layers: ['lib/core', 'lib/verify', 'lib/builder'], packages: ['tar-stream'] },
  'lib/terminal': { layers: ['lib/core', 'lib/keys', 'lib/verify', 'lib/builder', 'lib/repo', 'lib/publish'], packages: [] },
};

const libAreas = (): string[] =>
  readdirSync(join(root, 'lib'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => `lib/${e.name}`)
    .sort();

/** The lib areas and packages a README's "May import" paragraph allows (the part before "Never"). */
function readmeMayImport(area: string): { areas: string[]; packages: string[]; never: string[] } | undefined {
  const file = join(root, area, 'README.md');
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  const m = /\**May import:?\**:?([\s\S]*?)(?:\n\s*\n|$)/.exec(text);
  if (!m) return undefined;
  const [allowed, never = ''] = m[1]!.split(/\b[Nn]ever\b/);
  const ticked = (s: string): string[] => [...s.matchAll(/`([^`]+)`/g)].map((x) => x[1]!);
  const areaOf = (t: string): string | undefined => /^lib\/[a-z]+/.exec(t)?.[0];
  return {
    areas: [...new Set(ticked(allowed!).map(areaOf).filter((a): a is string => a !== undefined && a !== area))].sort(),
    packages: ticked(allowed!).filter((t) => /^(@[a-z0-9-]+\/)?[a-z0-9][a-z0-9._-]*$/.test(t) && !t.endsWith('.ts')).sort(),
    never: ticked(never).map(areaOf).filter((a): a is string => a !== undefined),
  };
}

function violations(area: string, rule: MayImport): string[] {
  const bad: string[] = [];
  for (const file of sourcesUnder(area)) {
    for (const { spec, typeOnly } of importsOf(file)) {
      const layer = layerOf(file, spec);
      if (layer === 'node' || layer === area || rule.layers.includes(layer)) continue;
      if (layer.startsWith('package:') && rule.packages.includes(layer.slice('package:'.length))) continue;
      if (typeOnly && spec.startsWith('.') && rule.types?.includes(relative(root, resolveSource(file, spec)))) continue;
      bad.push(`${relative(root, file)} → ${spec}${typeOnly ? ' (type)' : ''}`);
    }
  }
  return bad;
}

describe('lib areas import only what their README allows', () => {
  it('every lib area has a README with a "May import" line, and a rule here', () => {
    for (const area of libAreas()) {
      expect(readmeMayImport(area), `${area}/README.md needs a "May import:" paragraph`).toBeDefined();
      expect(Object.keys(MAY_IMPORT), `${area} needs an entry in MAY_IMPORT`).toContain(area);
    }
  });

  it('the rules here say what the READMEs say', () => {
    for (const area of libAreas()) {
      const readme = readmeMayImport(area)!;
      const rule = MAY_IMPORT[area]!;
      const ruleAreas = [...new Set([...rule.layers, ...(rule.types ?? []).map((t) => /^lib\/[a-z]+/.exec(t)![0])])].sort();
      expect(readme.areas, `${area}/README.md "May import" names these lib areas`).toEqual(ruleAreas);
      expect(readme.packages, `${area}/README.md "May import" names these packages`).toEqual([...rule.packages].sort());
      for (const never of readme.never) expect(rule.layers, `${area}/README.md says never ${never}`).not.toContain(never);
    }
  });

  for (const [area, rule] of Object.entries(MAY_IMPORT)) {
    it(`${area} imports only node built-ins${rule.layers.length > 0 ? `, ${rule.layers.join(', ')}` : ''}${rule.packages.length > 0 ? `, ${rule.packages.join(', ')}` : ''}${rule.types ? ` and types of ${rule.types.join(', ')}` : ''}`, () => {
      expect(violations(area, rule)).toEqual([]);
    });
  }

  it('nothing in lib/ imports cli/', () => {
    const bad = sourcesUnder('lib').flatMap((f) => importsOf(f).filter((i) => layerOf(f, i.spec).startsWith('cli')).map((i) => `${relative(root, f)} → ${i.spec}`));
    expect(bad).toEqual([]);
  });
});

describe('commands stay thin', () => {
  const commandImports = (): string[] =>
    sourcesUnder('cli/commands').flatMap((f) => importsOf(f).filter((i) => i.spec.startsWith('.') && layerOfFile(resolveSource(f, i.spec)) === 'cli/commands').map((i) => `${relative(root, f)} → ${i.spec}`));

  it('no cli/commands file imports another (shared CLI code lives in cli/, logic in lib/)', () => {
    expect(commandImports()).toEqual([]);
  });
});

describe('what each program loads at run time', () => {
  it('airlock-verify: only lib/verify, lib/core, its own CLI files and node built-ins', () => {
    const { files, packages } = runtimeClosure(['cli/airlock-verify.ts']);
    expect(files).toContain('lib/verify/updater.ts');
    expect(files.filter((f) => !/^(lib\/(core|verify)\/|cli\/(commands\/verify\/)?[^/]+\.ts$)/.test(f))).toEqual([]);
    expect(packages).toEqual(['node']);
  });

  it('tree-shaking keeps the TUF builders (lib/core/tuf-*.ts) out of the verifier bundle', () => {
    const bundle = readFileSync(ensureBundle(), 'utf8');
    expect(bundle).toMatch(/function rootFromJSON\(/);
    for (const builder of ['buildRoot', 'nextTargets', 'nextSnapshot', 'nextTimestamp', 'metaFileFor', 'rootProblems', 'ecdsaP256TufKey']) {
      expect(bundle, builder).not.toMatch(new RegExp(`function ${builder}\\(`));
    }
  });

  it('airlock reproduce: lib/reproduce, lib/builder, lib/verify and lib/core, never keys, repo or publish', () => {
    const { files } = runtimeClosure(['lib/reproduce/index.ts', 'cli/commands/reproduce.ts']);
    expect(files).toContain('lib/builder/build-release.ts');
    expect(files).toContain('lib/verify/updater.ts');
    expect(files.filter((f) => /^lib\/(keys|repo|publish|terminal)\//.test(f))).toEqual([]);
  });
});

describe('the import parser', () => {
  const parse = (text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-imports-'));
    writeFileSync(join(dir, 'x.ts'), text);
    return importsOf(join(dir, 'x.ts')).map((i) => `${i.spec}${i.typeOnly ? ' type' : ''}`);
  };

  it('tells run-time imports from type-only ones, and ignores comments and strings', () => {
    expect(
      parse(`
        import type { A } from './a.js';
        import { type B, type C } from './b.js';
        import { type D, E } from './d.js';
        import F from './f.js';
        import './side-effect.js';
        export type { G } from './g.js';
        export { H } from './h.js';
        export * from './star.js';
        const x: typeof import('./typeof.js') = null!;
        async function y() { await import('./dynamic.js'); }
        // import { Z } from './comment.js';
        const s = "import { Q } from './string.js'";
      `),
    ).toEqual(['./a.js type', './b.js type', './d.js', './f.js', './side-effect.js', './g.js type', './h.js', './star.js', './typeof.js type', './dynamic.js']);
  });

  it('sees a forbidden import in the real tree, and follows run-time imports only', () => {
    expect(layerOf(join(root, 'lib/verify/x.ts'), '../keys/keystore.js')).toBe('lib/keys');
    expect(layerOf(join(root, 'lib/verify/x.ts'), '@aws-sdk/client-s3/dist')).toBe('package:@aws-sdk/client-s3');
    expect(violations('lib/verify', { layers: [], packages: [] }).length).toBeGreaterThan(0);
    // provenance-envelope.ts and dsse.ts import the Signer type only.
    const { files } = runtimeClosure(['lib/builder/provenance-envelope.ts']);
    expect(files).toContain('lib/builder/dsse.ts');
    expect(files).not.toContain('lib/keys/signer.ts');
    expect(runtimeClosure(['cli/commands/release.ts']).files).toContain(relative(root, resolve(root, 'lib/keys/keystore.ts')));
  });
});
