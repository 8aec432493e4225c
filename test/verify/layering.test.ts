// lib/verify imports only lib/core and node built-ins (docs/architecture.md "Rules of the house"), and
// so do the verifier's CLI files: the standalone bundle depends on it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot as REPO_ROOT } from '../support/e2e-cli.js';

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm), ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
}

function tsFiles(dir: string): string[] {
  return readdirSync(join(REPO_ROOT, dir)).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f));
}

describe('layering', () => {
  it('lib/verify imports only ./, ../core/ and node: modules', () => {
    for (const file of tsFiles('lib/verify')) {
      for (const spec of importsOf(join(REPO_ROOT, file))) {
        expect(/^(node:|\.\/|\.\.\/core\/)/.test(spec), `${file} imports ${spec}`).toBe(true);
      }
    }
  });

  it('the verifier CLI imports only lib/verify, lib/core, cli/run, its own cli/verify-* helpers and node: modules', () => {
    for (const file of ['cli/airlock-verify.ts', 'cli/verify-session.ts', 'cli/verify-progress.ts', ...tsFiles('cli/commands/verify')]) {
      for (const spec of importsOf(join(REPO_ROOT, file))) {
        expect(/^(node:|\.\/|(\.\.\/)+lib\/(verify|core)\/|(\.\.\/)+(run|verify-session|verify-progress)\.js$)/.test(spec), `${file} imports ${spec}`).toBe(true);
      }
    }
  });
});
