// The one import parser of the architecture tests. It reads TypeScript sources with the
// TypeScript compiler's parser (not regular expressions), so comments and strings that
// look like imports are not imports, and it tells run-time imports from type-only ones:
// `import type …`, `export type … from`, an import whose every named binding is
// `type X`, and `typeof import('…')` are erased by the compiler — they load nothing at
// run time. Layer rules (what a lib README's "May import" line allows) count both kinds,
// except where a README allows a *type* only; closures (what a program loads) follow
// run-time imports only.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

export const root = resolve(import.meta.dirname, '../..');

export interface Import {
  /** The specifier as written: 'node:fs', 'ssh2', '../core/errors.js'. */
  spec: string;
  typeOnly: boolean;
}

export function importsOf(file: string): Import[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: Import[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings;
      const everyNameType = named !== undefined && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly) && clause?.name === undefined;
      // `import './x.js'` (no clause) runs the module: a run-time import.
      out.push({ spec: node.moduleSpecifier.text, typeOnly: clause !== undefined && (clause.isTypeOnly || everyNameType) });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      const named = node.exportClause;
      const everyNameType = named !== undefined && ts.isNamedExports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
      out.push({ spec: node.moduleSpecifier.text, typeOnly: node.isTypeOnly || everyNameType });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      out.push({ spec: node.moduleReference.expression.text, typeOnly: node.isTypeOnly });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] !== undefined && ts.isStringLiteralLike(node.arguments[0])) {
      out.push({ spec: node.arguments[0].text, typeOnly: false });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push({ spec: node.argument.literal.text, typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** The .ts file a relative specifier names (`./x.js` → `x.ts`, a directory → its index.ts). */
export function resolveSource(from: string, spec: string): string {
  const base = resolve(dirname(from), spec);
  for (const candidate of [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  throw new Error(`${relative(root, from)}: cannot resolve ${spec}`);
}

/** Where an import leads: 'node', 'package:NAME', 'lib/AREA', 'cli/commands', 'cli', 'test' … */
export function layerOf(from: string, spec: string): string {
  if (spec.startsWith('node:')) return 'node';
  if (!spec.startsWith('.')) return `package:${spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]}`;
  return layerOfFile(resolve(dirname(from), spec));
}

export function layerOfFile(file: string): string {
  const parts = relative(root, file).split(sep);
  if (parts[0] === 'lib') return `lib/${parts[1]}`;
  if (parts[0] === 'cli') return parts.length > 2 && parts[1] === 'commands' ? 'cli/commands' : 'cli';
  return parts[0]!;
}

/** Every .ts file under `dir` (relative to the repository), absolute paths, sorted. */
export function sourcesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
    }
  };
  if (existsSync(join(root, dir))) walk(join(root, dir));
  return out;
}

/** Every source file a program loads from `entries`, following run-time imports only (recursive). */
export function runtimeClosure(entries: readonly string[]): { files: string[]; packages: string[] } {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const stack = entries.map((e) => resolve(root, e));
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const { spec, typeOnly } of importsOf(file)) {
      if (typeOnly) continue;
      if (spec.startsWith('.')) stack.push(resolveSource(file, spec));
      else packages.add(layerOf(file, spec));
    }
  }
  return { files: [...seen].map((f) => relative(root, f)).sort(), packages: [...packages].sort() };
}
