#!/usr/bin/env node
// Benchmark: a verified download by airlock-verify (dist/airlock-verify.mjs) of one large
// target from a directory host, against `openssl dgst -sha256` of the same file, and
// against `openssl dgst -sha256` + `cp` (what a careful user does by hand), and against
// the same work by hand (`openssl dgst` of both listed digests + `cp`), paired
// A B A B with medians. The target lists sha256 and sha512, as airlock's releases do,
// so airlock-verify checks both. Also: the verifier's cold start (`--help` from an
// empty directory) against `node -e 0`.
//
//   npm run build && node scripts/bench/verify-download.mjs [--size-mib 1024] [--runs 5] [--json] [--keep]
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchOptions, bundleTs, paired, randomPayload, repoRoot as repo, warmPageCache } from './common.mjs';

const { sizeMiB, runs, json, keep } = benchOptions({ sizeMiB: 1024, runs: 5 });
const verifier = join(repo, 'dist/airlock-verify.mjs');

const work = join(tmpdir(), `airlock-bench-verify-${process.pid}`);
mkdirSync(work, { recursive: true });
const results = [];
try {
  const payload = join(work, 'payload.bin');
  await randomPayload(payload, sizeMiB);
  // The repository is written by the test suite's simulator, independent of lib/repo.
  const sim = await import(pathToFileURL(await bundleTs(`export { RepoSimulator } from './test/support/tuf-repo-simulator.ts';`, join(work, 'sim.mjs'))).href);
  const host = join(work, 'host');
  const repoSim = new sim.RepoSimulator({ hostDir: host });
  repoSim.addTarget('bench/1.0/payload.bin', readFileSync(payload));
  repoSim.publish();
  const root = join(work, 'root.json');
  writeFileSync(root, repoSim.trustedRoot);
  const hostFile = join(host, repoSim.targetFile('bench/1.0/payload.bin'));
  const out = join(work, 'out.bin');
  const q = JSON.stringify;
  const node = q(process.execPath);
  warmPageCache(hostFile);
  const download = `rm -f ${q(out)} && ${node} ${q(verifier)} download bench/1.0/payload.bin --from ${q(host)} --root ${q(root)} -o ${q(out)} > /dev/null`;
  const removeOut = () => rmSync(out, { force: true });
  results.push({ name: 'airlock-verify download / openssl dgst -sha256', ...paired(download, `openssl dgst -sha256 ${q(hostFile)} > /dev/null`, { runs, before: removeOut }) });
  results.push({ name: 'airlock-verify download / openssl dgst -sha256 + cp', ...paired(download, `rm -f ${q(out)} && openssl dgst -sha256 ${q(hostFile)} > /dev/null && cp ${q(hostFile)} ${q(out)}`, { runs, before: removeOut }) });
  // The same work by hand: both listed digests, and the copy.
  results.push({ name: 'airlock-verify download / openssl sha256 + sha512 + cp', ...paired(download, `rm -f ${q(out)} && openssl dgst -sha256 ${q(hostFile)} > /dev/null && openssl dgst -sha512 ${q(hostFile)} > /dev/null && cp ${q(hostFile)} ${q(out)}`, { runs, before: removeOut }) });
  const empty = join(work, 'empty');
  mkdirSync(empty);
  results.push({ name: 'airlock-verify --help (cold start) / node -e 0', ...paired(`cd ${q(empty)} && ${node} ${q(verifier)} --help > /dev/null`, `cd ${q(empty)} && ${node} -e 0`, { runs: Math.max(runs, 10) }) });
} finally {
  if (!keep) rmSync(work, { recursive: true, force: true });
}

if (json) {
  process.stdout.write(`${JSON.stringify({ sizeMiB, results }, null, 2)}\n`);
} else {
  console.log(`target ${sizeMiB} MiB (sha256 + sha512 listed); paired runs, medians; ratio = median of A/B per round`);
  for (const r of results) {
    console.log(`${r.name.padEnd(56)} ratio ${String(r.ratio).padStart(5)}   A ${r.a.seconds}s ${r.a.peakRssMiB} MiB   B ${r.b.seconds}s ${r.b.peakRssMiB} MiB`);
  }
}
