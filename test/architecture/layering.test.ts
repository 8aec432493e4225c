// The layers of DESIGN.md and STYLE.md, enforced: lib/core depends on node built-ins
// only; lib/verify on lib/core only; keys/build/repo/publish never on each other's
// callers' layers in the wrong direction; the verifier CLI only on verify and core.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

function sourcesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) out.push(p);
    }
  };
  try {
    walk(join(root, dir));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return out;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]/g), ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)];
  return specs.map((m) => m[1]!);
}

/** The lib area (core, verify, …) or package a specifier resolves to, seen from `file`. */
function layerOf(file: string, spec: string): string {
  if (spec.startsWith('node:')) return 'node';
  if (!spec.startsWith('.')) return `package:${spec}`;
  const target = relative(root, resolve(dirname(file), spec)).split(sep);
  return target[0] === 'lib' ? `lib/${target[1]}` : target.slice(0, 2).join('/');
}

const allowed: Record<string, (layer: string) => boolean> = {
  'lib/core': (l) => l === 'node' || l === 'lib/core',
  'lib/verify': (l) => l === 'node' || l === 'lib/core' || l === 'lib/verify',
};
const neverImports: Record<string, string[]> = {
  'lib/keys': ['lib/builder', 'lib/repo', 'lib/publish', 'lib/reproduce'],
  'lib/builder': ['lib/repo', 'lib/publish', 'lib/reproduce'],
  'lib/publish': ['lib/builder', 'lib/repo', 'lib/reproduce'],
};

describe('layering', () => {
  for (const [area, ok] of Object.entries(allowed)) {
    it(`${area} imports only what it may`, () => {
      const bad = sourcesUnder(area).flatMap((f) => importsOf(f).filter((s) => !ok(layerOf(f, s))).map((s) => `${relative(root, f)} → ${s}`));
      expect(bad).toEqual([]);
    });
  }
  for (const [area, forbidden] of Object.entries(neverImports)) {
    it(`${area} does not import ${forbidden.join(', ')}`, () => {
      const bad = sourcesUnder(area).flatMap((f) => importsOf(f).filter((s) => forbidden.includes(layerOf(f, s))).map((s) => `${relative(root, f)} → ${s}`));
      expect(bad).toEqual([]);
    });
  }
  it('the verifier CLI reaches only lib/verify, lib/core and the shared CLI plumbing', () => {
    const files = [join(root, 'cli/airlock-verify.ts'), ...sourcesUnder('cli/commands/verify')].filter((f) => existsSync(f));
    const bad = files.flatMap((f) =>
      importsOf(f).filter((s) => {
        const l = layerOf(f, s);
        return !(l === 'node' || l === 'lib/core' || l === 'lib/verify' || l === 'package:commander' || l.startsWith('cli/'));
      }).map((s) => `${relative(root, f)} → ${s}`),
    );
    expect(bad).toEqual([]);
  });
  it('the layering check itself sees a forbidden import', () => {
    expect(layerOf(join(root, 'lib/verify/x.ts'), '../keys/keystore.js')).toBe('lib/keys');
    expect(allowed['lib/verify']!('lib/keys')).toBe(false);
  });
});
