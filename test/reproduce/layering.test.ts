// "The reproduce path needs no keystore and no secrets": nothing `airlock reproduce`
// loads at run time — lib/reproduce, the command, and everything they import in turn —
// comes from lib/keys, lib/repo or lib/publish. Type-only imports (erased at build)
// do not count.
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

/** Relative specifiers a file imports at run time (`import type` and `export type` skipped). */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(import|export)(\s+type\b)?[^'";]*?from\s*['"]([^'"]+)['"]/g)) {
    if (!m[2] && m[3]!.startsWith('.')) out.push(m[3]!);
  }
  for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) if (m[1]!.startsWith('.')) out.push(m[1]!);
  return out;
}

/** Every source file reachable from `entries` through run-time imports. */
function closure(entries: string[]): string[] {
  const seen = new Set<string>();
  const stack = entries.map((e) => resolve(root, e));
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of runtimeImports(file)) stack.push(resolve(dirname(file), spec).replace(/\.js$/, '.ts'));
  }
  return [...seen].map((f) => relative(root, f)).sort();
}

describe('what airlock reproduce loads', () => {
  it('reaches lib/reproduce, lib/builder, lib/verify and lib/core, never keys, repo or publish', () => {
    const files = closure(['lib/reproduce/index.ts', 'cli/commands/reproduce.ts']);
    expect(files).toContain('lib/builder/build-release.ts');
    expect(files).toContain('lib/verify/updater.ts');
    expect(files.filter((f) => /^lib\/(keys|repo|publish)\//.test(f))).toEqual([]);
  });

  it('the check sees a run-time import and ignores a type-only one', () => {
    const files = closure(['lib/builder/provenance-envelope.ts']);
    expect(files).toContain('lib/builder/dsse.ts');
    // provenance-envelope.ts and dsse.ts import the Signer type only.
    expect(files).not.toContain('lib/keys/signer.ts');
    expect(closure(['cli/commands/release.ts'])).toContain('lib/keys/keystore.ts');
  });
});
