#!/usr/bin/env node
// Benchmark: airlock's streaming digests (lib/core/digest.ts) against `openssl dgst` and
// sha256sum, and its deterministic tar.gz (lib/builder/archive.ts) against GNU tar | gzip
// with the same normalisation, all measured in the same run on the same files.
//
//   npm run build && node scripts/bench/hash-archive.mjs [--size-mib 1024] [--tree-mib 256] [--runs 5] [--json] [--keep]
//
// Each contender runs as its own process under GNU time (`/usr/bin/time -f '%e %M'`), so
// the wall time and peak RSS are the child's own, paired with its reference A B A B
// (common.mjs `paired`, --runs rounds) and quoted as the median of the per-round ratios.
// The files are pseudo-random (incompressible, the worst case for gzip), and read once
// before timing so every contender reads from the page cache. Ratios are airlock's time
// over the reference's: below 1 is faster. Peak RSS staying flat as --size-mib grows
// shows constant memory.
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchOptions, option, paired, randomPayload, repoRoot as repo, warmPageCache } from './common.mjs';

if (process.argv[2] === '--child') {
  const [, , , mode, path, out] = process.argv;
  if (mode === 'airlock-hash') {
    const { hashFile } = await import(pathToFileURL(join(repo, 'dist/lib/core/digest.js')).href);
    await hashFile(path);
  } else if (mode === 'airlock-sha256') {
    const { hashOpenFile } = await import(pathToFileURL(join(repo, 'dist/lib/core/digest.js')).href);
    const { open } = await import('node:fs/promises');
    const fh = await open(path, 'r');
    await hashOpenFile(fh, ['sha256']);
    await fh.close();
  } else if (mode === 'airlock-tar') {
    const { writeDeterministicTarGz } = await import(pathToFileURL(join(repo, 'dist/lib/builder/archive.js')).href);
    await writeDeterministicTarGz({ root: path, prefix: 'tree/', exclude: [], mtime: 1700000000 }, out);
  }
  process.exit(0);
}

const treeMiB = Number(option('--tree-mib', '256'));
const { sizeMiB, runs, json, keep } = benchOptions({ sizeMiB: 1024, runs: 5 });

if (!existsSync(join(repo, 'dist/lib/core/digest.js'))) {
  console.error('run `npm run build` first');
  process.exit(3);
}
for (const tool of ['openssl', 'sha256sum', 'tar', 'gzip']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`${tool} is not installed`);
    process.exit(3);
  }
}

const work = join(tmpdir(), `airlock-bench-${process.pid}`);
mkdirSync(work, { recursive: true });

const node = JSON.stringify(process.execPath);
const self = JSON.stringify(fileURLToPath(import.meta.url));
const results = [];
const record = (group, name, reference, bytesMiB, cmd, refCmd, before) => {
  const r = paired(cmd, refCmd, { runs, before });
  results.push({ group, name, reference, ratio: r.ratio, seconds: r.a.seconds, referenceSeconds: r.b.seconds, mibPerSecond: Math.round(bytesMiB / Math.max(r.a.seconds, 0.001)), peakRssMiB: r.a.peakRssMiB, referencePeakRssMiB: r.b.peakRssMiB });
};

try {
  const big = join(work, 'big.bin');
  await randomPayload(big, sizeMiB);
  warmPageCache(big);
  const q = JSON.stringify(big);
  const openssl = `openssl dgst -sha256 ${q} > /dev/null`;
  record('hash', 'airlock sha256+sha512 (one pass)', 'openssl dgst -sha256', sizeMiB, `${node} ${self} --child airlock-hash ${q}`, openssl);
  record('hash', 'airlock sha256', 'openssl dgst -sha256', sizeMiB, `${node} ${self} --child airlock-sha256 ${q}`, openssl);
  record('hash', 'sha256sum', 'openssl dgst -sha256', sizeMiB, `sha256sum ${q} > /dev/null`, openssl);
  rmSync(big);

  // A source tree: many small files and a few large ones, as a project has.
  const tree = join(work, 'tree');
  let made = 0;
  for (let d = 0; made < treeMiB * 1024; d++) {
    mkdirSync(join(tree, `d${d}`), { recursive: true });
    for (let f = 0; f < 50; f++) {
      const kib = f === 0 ? 4096 : 16;
      const buf = Buffer.alloc(kib * 1024);
      randomFillSync(buf);
      const fd = openSync(join(tree, `d${d}`, `f${f}.bin`), 'w');
      writeSync(fd, buf);
      closeSync(fd);
      made += kib;
    }
  }
  spawnSync('sh', ['-c', `cat $(find ${JSON.stringify(tree)} -type f) > /dev/null`]);
  const out1 = join(work, 'airlock.tar.gz');
  const out2 = join(work, 'gnu.tar.gz');
  record(
    'archive',
    'airlock deterministic tar.gz',
    'GNU tar --sort=name … | gzip -n -9',
    treeMiB,
    `${node} ${self} --child airlock-tar ${JSON.stringify(tree)} ${JSON.stringify(out1)}`,
    `cd ${JSON.stringify(work)} && tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1700000000 --format=gnu -cf - tree | gzip -n -9 > ${JSON.stringify(out2)}`,
    () => rmSync(out1, { force: true }),
  );
} finally {
  if (!keep) rmSync(work, { recursive: true, force: true });
}

if (json) {
  process.stdout.write(`${JSON.stringify({ sizeMiB, treeMiB, runs, results }, null, 2)}\n`);
} else {
  console.log(`file ${sizeMiB} MiB, tree ${treeMiB} MiB; paired runs (A B A B), ${runs} rounds; ratio = median of A/B per round`);
  console.log('group    contender                         reference                              ratio   A s  B s  A MiB/s  A peak RSS MiB');
  for (const r of results) {
    console.log(`${r.group.padEnd(8)} ${r.name.padEnd(33)} ${r.reference.padEnd(38)} ${String(r.ratio).padStart(5)}  ${r.seconds}  ${r.referenceSeconds}  ${String(r.mibPerSecond).padStart(6)}  ${r.peakRssMiB}`);
  }
}
