// Bundles test/support/build-child.ts into one .mjs with esbuild, so a child process can
// run the real lib/builder code with plain `node` (no TypeScript loader in the child).
import { build } from 'esbuild';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export async function bundleBuildChild(outDir: string): Promise<string> {
  const outfile = join(outDir, 'build-child.mjs');
  await build({
    entryPoints: [fileURLToPath(new URL('./build-child.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'silent',
    // tar-stream is CommonJS and requires node built-ins.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return outfile;
}
