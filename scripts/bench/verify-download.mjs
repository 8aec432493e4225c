#!/usr/bin/env node
// Benchmark: a verified download by airlock-verify (dist/airlock-verify.mjs) of one large
// target from a directory host, against `openssl dgst -sha256` of the same file, and
// against `openssl dgst -sha256` + `cp` (what a careful user does by hand), and against
// A B A B with medians. The target lists sha256 alone, as airlock's releases do
// (lib/core/tuf-targets.ts listedHashes). A second target of the same bytes lists sha256
// and sha512, as airlock's releases did before and other repositories do: airlock-verify
// checks both, and is paired with the same work by hand (`openssl dgst` of both digests
// + `cp`). Also: the verifier's cold start (`--help` from an empty directory) against
// `node -e 0`.
//
//   npm run build && node scripts/bench/verify-download.mjs [--size-mib 1024] [--runs 5] [--json] [--keep]
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
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
  // The repository is written by the test suite's simulator, independent of lib/repo, in
  // a process of its own: the simulator holds the targets' bytes, and 2 GiB held by this
  // process while the commands run doubled the verifier's system time (on this VM a
  // page-cache page costs more the less memory is free; openssl, writing nothing, never
  // noticed).
  const host = join(work, 'host');
  const root = join(work, 'root.json');
  const sim = await bundleTs(`export { RepoSimulator } from './test/support/tuf-repo-simulator.ts';`, join(work, 'sim.mjs'));
  const build = `
    import { readFileSync, writeFileSync } from 'node:fs';
    const { RepoSimulator } = await import(${JSON.stringify(pathToFileURL(sim).href)});
    const repoSim = new RepoSimulator({ hostDir: ${JSON.stringify(host)} });
    const bytes = readFileSync(${JSON.stringify(payload)});
    repoSim.addTarget('bench/1.0/payload.bin', bytes, 'targets', undefined, ['sha256']);
    repoSim.addTarget('bench/1.0/payload-both.bin', bytes, 'targets', undefined, ['sha256', 'sha512']);
    repoSim.publish();
    writeFileSync(${JSON.stringify(root)}, repoSim.trustedRoot);
    process.stdout.write(JSON.stringify([repoSim.targetFile('bench/1.0/payload.bin'), repoSim.targetFile('bench/1.0/payload-both.bin')]));
  `;
  const [hostTarget, bothTarget] = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', build], { encoding: 'utf8', maxBuffer: 1 << 20 }));
  // The 3 GiB just written go to disk before the first timing, not during it: the
  // kernel's writeback threads took CPU from whichever command ran while they flushed.
  execFileSync('sync');
  const hostFile = join(host, hostTarget);
  const out = join(work, 'out.bin');
  const q = JSON.stringify;
  const node = q(process.execPath);
  const downloadOf = (target) => `rm -f ${q(out)} && ${node} ${q(verifier)} download ${target} --from ${q(host)} --root ${q(root)} -o ${q(out)} > /dev/null`;
  const download = downloadOf('bench/1.0/payload.bin');
  const downloadBoth = downloadOf('bench/1.0/payload-both.bin');
  // Before every run: no output, and the host file in the page cache. Pages idle for a
  // while can be paged out behind the benchmark's back (a VM's proactive reclaim, e.g.
  // DAMON), and then whichever command runs first pays for reading the disk.
  const fresh = (file) => () => {
    rmSync(out, { force: true });
    warmPageCache(file);
  };
  const bothFile = join(host, bothTarget);
  results.push({ name: 'airlock-verify download / openssl dgst -sha256', ...paired(download, `openssl dgst -sha256 ${q(hostFile)} > /dev/null`, { runs, before: fresh(hostFile) }) });
  results.push({ name: 'airlock-verify download / openssl dgst -sha256 + cp', ...paired(download, `rm -f ${q(out)} && openssl dgst -sha256 ${q(hostFile)} > /dev/null && cp ${q(hostFile)} ${q(out)}`, { runs, before: fresh(hostFile) }) });
  // sha256 and sha512 listed: the same work by hand is both digests, and the copy.
  results.push({ name: 'download, sha256+sha512 listed / openssl dgst -sha256', ...paired(downloadBoth, `openssl dgst -sha256 ${q(bothFile)} > /dev/null`, { runs, before: fresh(bothFile) }) });
  results.push({ name: 'download, sha256+sha512 listed / openssl sha256 + sha512 + cp', ...paired(downloadBoth, `rm -f ${q(out)} && openssl dgst -sha256 ${q(bothFile)} > /dev/null && openssl dgst -sha512 ${q(bothFile)} > /dev/null && cp ${q(bothFile)} ${q(out)}`, { runs, before: fresh(bothFile) }) });
  const empty = join(work, 'empty');
  mkdirSync(empty);
  results.push({ name: 'airlock-verify --help (cold start) / node -e 0', ...paired(`cd ${q(empty)} && ${node} ${q(verifier)} --help > /dev/null`, `cd ${q(empty)} && ${node} -e 0`, { runs: Math.max(runs, 20) }) });
} finally {
  if (!keep) rmSync(work, { recursive: true, force: true });
}

if (json) {
  process.stdout.write(`${JSON.stringify({ sizeMiB, results }, null, 2)}\n`);
} else {
  console.log(`target ${sizeMiB} MiB (sha256 listed, or sha256 + sha512 where named); paired runs, medians; ratio = median of A/B per round`);
  for (const r of results) {
    console.log(`${r.name.padEnd(64)} ratio ${String(r.ratio).padStart(5)}   A ${r.a.seconds}s ${r.a.peakRssMiB} MiB   B ${r.b.seconds}s ${r.b.peakRssMiB} MiB`);
  }
}
