#!/usr/bin/env node
// Benchmark: the first publish of a whole repository (issue 19) to a directory host,
// against the reference — `cp -a` of the same tree followed by `sync -f` (one syncfs) —
// paired A B A B in the same run, so the ratio survives a shared machine's load. The
// repository is built once by the benchmark: N small targets (10 files a version) in an
// archive, `airlock import`ed into a new terminal, kept under --work between runs.
//
//   node scripts/bench/publish-tree.mjs [--targets 10000] [--runs 2] [--work DIR] [--airlock dist/cli/airlock.js] [--prepare] [--json]
//
// --prepare only builds the repository. --airlock runs another build (e.g. a copy of an older dist/) against the same tree.
// Each publish is its own process under GNU time: wall time and peak RSS are its own.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { option, paired, repoRoot, timedShell } from './common.mjs';

const n = Number(option('--targets', '10000'));
const runs = Number(option('--runs', '2'));
const workRoot = resolve(option('--work', join(tmpdir(), 'airlock-publish-tree')));
const airlockBin = resolve(option('--airlock', join(repoRoot, 'dist', 'cli', 'airlock.js')));
const json = process.argv.includes('--json');
const log = (m) => process.stderr.write(`${m}\n`);
const sh = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

const dir = join(workRoot, String(n));
const home = join(dir, 'home');
const pass = join(dir, 'pass');
const airlock = (args, { passphrase = false } = {}) =>
  `AIRLOCK_HOME=${sh(home)} ${sh(process.execPath)} ${sh(airlockBin)} ${args.map(sh).join(' ')}${passphrase ? ` --passphrase-fd 3 3<${sh(pass)}` : ''} > /dev/null`;

/** The terminal with N imported targets; built once (a marker says it is whole). */
function buildRepository() {
  if (existsSync(join(dir, 'repository.complete'))) return;
  rmSync(dir, { recursive: true, force: true });
  const archive = join(dir, 'archive');
  log(`building a repository of ${n} targets in ${dir}`);
  for (let left = n, v = 0; left > 0; v++) {
    const d = join(archive, `project${Math.floor(v / 100)}`, `1.${v % 100}.0`);
    mkdirSync(d, { recursive: true });
    for (let f = 0; f < 10 && left > 0; f++, left--) writeFileSync(join(d, `file-${f}.bin`), `file ${v}/${f} ${'x'.repeat(48)}\n`);
    writeFileSync(join(d, 'release.json'), JSON.stringify({ commit: v.toString(16).padStart(40, '0'), branch: 'main', date: '2024-05-01T12:00:00Z' }));
  }
  writeFileSync(pass, 'publish benchmark passphrase, not a secret\n');
  chmodSync(pass, 0o600);
  timedShell(airlock(['init', '--name', 'PublishBench'], { passphrase: true }));
  const imported = timedShell(airlock(['import', archive], { passphrase: true }));
  log(`import: ${imported.seconds} s`);
  rmSync(archive, { recursive: true, force: true });
  writeFileSync(join(dir, 'repository.complete'), '');
}

buildRepository();
if (process.argv.includes('--prepare')) process.exit(0);
const host = join(dir, 'host');
const copy = join(dir, 'copy');
const result = paired(airlock(['publish', '--to', host]), `cp -a ${sh(join(home, 'repository'))} ${sh(copy)} && sync -f ${sh(copy)}`, {
  runs,
  // Every round starts from an empty host and no memory of an earlier publish to it.
  before: () => {
    for (const d of [host, copy, join(home, 'publish-cache')]) rmSync(d, { recursive: true, force: true });
  },
});
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const out = { targets: n, runs, publish: result.a, cpSync: result.b, ratio: result.ratio, load };
if (json) process.stdout.write(`${JSON.stringify(out)}\n`);
else {
  process.stdout.write(`first publish of ${n} targets to a directory host: ${result.a.seconds} s (peak RSS ${result.a.peakRssMiB} MiB)\n`);
  process.stdout.write(`cp -a + sync -f of the same tree: ${result.b.seconds} s; ratio ${result.ratio}× (median of ${runs} pairs, load ${out.load})\n`);
}
