#!/usr/bin/env node
// Bundles the downstream verifier into ONE file, dist/airlock-verify.mjs, that runs with
// plain `node` and no node_modules: lib/verify + lib/core + the thin CLI, nothing else
// (minisign's VERIFY_ONLY: one source, a verify-only build). Fails the build when the
// bundle would import anything but node built-ins. Prints the size.
//
// Cold start: an ES module's imports all load before its first line runs, and one file
// can't split them, so `airlock-verify --help` paid for node:crypto, the stream classes
// (named imports from node:fs touch its lazy createReadStream getter) and more — a
// quarter of `node -e 0` again. The built-ins in LAZY are bundled as small forwarders
// that load the real module on first call, so only a command that checks something
// loads them. A name the forwarder can't stand for (a class, a value other than
// `constants`) fails this build, not a user's run.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'dist', 'airlock-verify.mjs');

const LAZY = ['node:crypto', 'node:events', 'node:fs', 'node:fs/promises', 'node:os', 'node:stream', 'node:stream/promises'];

/** ES module source that stands for built-in `name`: functions and `constants`, loaded on first use. */
function lazyBuiltin(name) {
  const real = createRequire(import.meta.url)(name);
  const lines = [
    "import { createRequire } from 'node:module';",
    'let loaded;',
    `const load = () => (loaded ??= createRequire(import.meta.url)(${JSON.stringify(name)}));`,
  ];
  for (const key of Object.keys(real).sort()) {
    // Lower-case functions only: a forwarder can't be a class (`new`, instanceof).
    if (typeof real[key] === 'function' && /^[a-z][A-Za-z0-9]*$/.test(key)) lines.push(`export function ${key}(...args) { return load().${key}(...args); }`);
  }
  if (real.constants !== undefined) lines.push('export const constants = new Proxy({}, { get: (_, k) => load().constants[k], has: (_, k) => k in load().constants });');
  return lines.join('\n');
}

const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    const filter = new RegExp(`^(${LAZY.map((n) => n.replace('/', '\\/')).join('|')})$`);
    b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'lazy-builtin' }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({ contents: lazyBuiltin(args.path), loader: 'js' }));
  },
};

await mkdir(dirname(outfile), { recursive: true });
const result = await build({
  entryPoints: [join(root, 'cli', 'airlock-verify.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Readable output: users may want to audit what checks their downloads.
  minify: false,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  plugins: [lazyBuiltins],
  // Written below under a temporary name and renamed, so a test running the bundle
  // while another build runs never sees half a file. The entry's `#!` line is kept.
  write: false,
});

const external = Object.values(result.metafile.outputs)
  .flatMap((o) => o.imports)
  .filter((i) => i.external && !i.path.startsWith('node:'));
if (external.length > 0) {
  console.error(`bundle-verifier: the verifier must import only node: built-ins, found ${external.map((i) => i.path).join(', ')}`);
  process.exit(1);
}
const forbidden = Object.keys(result.metafile.inputs).filter((p) => /^(lib\/(keys|build|repo|publish|reproduce)\/|node_modules\/)/.test(p));
if (forbidden.length > 0) {
  console.error(`bundle-verifier: the verifier bundle must not contain ${forbidden.join(', ')}`);
  process.exit(1);
}
const tmp = `${outfile}.${randomBytes(6).toString('hex')}.tmp`;
await writeFile(tmp, result.outputFiles[0].contents, { mode: 0o755 });
await chmod(tmp, 0o755);
await rename(tmp, outfile);
const { size } = await stat(outfile);
console.log(`dist/airlock-verify.mjs: ${(size / 1024).toFixed(1)} KiB (${size} bytes)`);
