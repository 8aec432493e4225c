#!/usr/bin/env node
// Bundles the downstream verifier into ONE file, dist/airlock-verify.mjs, that runs with
// plain `node` and no node_modules: lib/verify + lib/core + the thin CLI, nothing else
// (minisign's VERIFY_ONLY: one source, a verify-only build). Fails the build when the
// bundle would import anything but node built-ins. Prints the size.
import { build } from 'esbuild';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'dist', 'airlock-verify.mjs');

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
