#!/usr/bin/env node
// Benchmark: what a release costs on a large repository, and what a fresh client fetches
// from one (issue 19; results in docs/performance.md). For each size the benchmark builds
// its own repository: an archive of N small targets (10 files a version, 100 versions a
// project) imported with `airlock import` into a new terminal, published to a directory
// host. Then, on that repository:
//   import         time and peak RSS of the import (one process)
//   publish        time of the first publish of the whole repository
//   release        time and peak RSS of `airlock release` of one artifact (+ its
//                  provenance), published to the same host; metadata bytes re-signed and
//                  uploaded by it (the host's metadata/ before and after)
//   airlock-verify a fresh `airlock-verify download` of one target over loopback HTTP:
//                  metadata bytes fetched, as a fraction of the host's metadata — all of
//                  it, and the current set (every version snapshot lists, root, timestamp)
//   tuf-js         the same fetch by tuf-js
//   status         time of `airlock status`
//
//   node scripts/bench/scale.mjs [--sizes 1000,10000,100000] [--huge] [--batch N] [--work DIR] [--keep] [--json]
//                                [--only import,publish,release,fetch,status]
//
// --huge adds 1,000,000 targets (tens of minutes and several GB of disk). --only runs
// some phases of each size: `--only import --keep` builds and keeps the repository, and a
// later `--only publish,release,fetch,status` on the same --work measures the rest of it
// (a phase left out is reported as not measured). Every airlock run is its own process
// under GNU time, so wall time and peak RSS are the child's own; the load average is
// recorded beside each phase.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, normalize, resolve, sep } from 'node:path';
import { must, option, repoRoot, timedShell } from './common.mjs';

const FILES_PER_VERSION = 10;
const VERSIONS_PER_PROJECT = 100;
const PASSPHRASE = 'scale benchmark passphrase, not a secret';
const airlockBin = join(repoRoot, 'dist', 'cli', 'airlock.js');
const verifierBin = join(repoRoot, 'dist', 'airlock-verify.mjs');

const sizes = (option('--sizes', '1000,10000,100000') ?? '').split(',').filter(Boolean).map(Number);
if (process.argv.includes('--huge') && !sizes.includes(1_000_000)) sizes.push(1_000_000);
const batch = option('--batch', undefined);
const workRoot = resolve(option('--work', join(tmpdir(), 'airlock-scale')));
const keep = process.argv.includes('--keep');
const json = process.argv.includes('--json');
const PHASES = ['import', 'publish', 'release', 'fetch', 'status'];
const only = new Set((option('--only', PHASES.join(',')) ?? '').split(',').filter(Boolean));
for (const p of only) if (!PHASES.includes(p)) throw new Error(`--only takes ${PHASES.join(',')}`);
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const log = (m) => process.stderr.write(`${m}\n`);

function sh(s) {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `airlock ARGS` as one shell command, passphrase on fd 3, home in the environment. */
function airlockCmd(home, args, { passphrase = false } = {}) {
  const pass = passphrase ? ` --passphrase-fd 3 3<${sh(join(home, '..', 'pass'))}` : '';
  return `AIRLOCK_HOME=${sh(home)} ${sh(process.execPath)} ${sh(airlockBin)} ${args.map(sh).join(' ')}${pass} > /dev/null`;
}

/** N targets as DIR/<project>/<version>/<file> + release.json; kept between runs (a marker says it is whole). */
function makeArchive(dir, n) {
  // Beside the archive, not in it (a file there is not a project: import refuses it).
  const marker = `${dir}.complete`;
  if (existsSync(marker)) return;
  rmSync(dir, { recursive: true, force: true });
  log(`writing an archive of ${n} targets to ${dir}`);
  let left = n;
  for (let p = 0; left > 0; p++) {
    for (let v = 0; v < VERSIONS_PER_PROJECT && left > 0; v++) {
      const d = join(dir, `project${p}`, `1.${v}.0`);
      mkdirSync(d, { recursive: true });
      for (let f = 0; f < FILES_PER_VERSION && left > 0; f++, left--) writeFileSync(join(d, `file-${f}.bin`), `project${p} 1.${v}.0 file-${f} ${'x'.repeat(48)}\n`);
      writeFileSync(join(d, 'release.json'), JSON.stringify({ commit: (p * 1000 + v).toString(16).padStart(40, '0'), branch: `release/1.${v}`, date: '2024-05-01T12:00:00Z' }));
    }
  }
  writeFileSync(marker, '');
}

/** A git project whose recipe makes one file: the release that adds one target (+ its provenance). */
function makeSource(dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const recipe = { project: 'added', version: '9.9.9', steps: [{ name: 'one file', run: ['sh', '-c', 'echo one target > "$AIRLOCK_OUT/added-9.9.9.txt"'] }], artifacts: ['added-9.9.9.txt'] };
  writeFileSync(join(dir, 'airlock.recipe.json'), `${JSON.stringify(recipe, null, 2)}\n`);
  const env = { ...process.env, GIT_AUTHOR_NAME: 'Bench', GIT_AUTHOR_EMAIL: 'bench@example.org', GIT_COMMITTER_NAME: 'Bench', GIT_COMMITTER_EMAIL: 'bench@example.org', GIT_CONFIG_GLOBAL: '/dev/null' };
  must('git', ['init', '-q', '-b', 'main', dir], { env });
  must('git', ['-C', dir, 'add', '-A'], { env });
  must('git', ['-C', dir, 'commit', '-q', '-m', 'one target'], { env });
  must('git', ['-C', dir, 'branch', 'release/9.9.9'], { env });
  return { branch: 'release/9.9.9', commit: must('git', ['-C', dir, 'rev-parse', 'release/9.9.9']).stdout.trim() };
}

/** name → size of every file in `dir` (metadata/ is flat). */
function listing(dir) {
  const out = new Map();
  for (const name of readdirSync(dir)) out.set(name, statSync(join(dir, name)).size);
  return out;
}

const sum = (values) => [...values].reduce((a, b) => a + b, 0);

/** The metadata a client can need now: root versions, timestamp, the snapshot it names, and what that snapshot lists. */
function currentMetadataBytes(metaDir, files) {
  const ts = JSON.parse(readFileSync(join(metaDir, 'timestamp.json'), 'utf8'));
  const snapName = `${ts.signed.meta['snapshot.json'].version}.snapshot.json`;
  const snap = JSON.parse(readFileSync(join(metaDir, snapName), 'utf8'));
  let bytes = files.get('timestamp.json') + files.get(snapName);
  for (const [name, meta] of Object.entries(snap.signed.meta)) bytes += files.get(`${meta.version}.${name}`) ?? 0;
  for (const [name, size] of files) if (/^\d+\.root\.json$/.test(name)) bytes += size;
  return bytes;
}

/** A loopback static server over `dir` that counts the bytes it sends under /metadata/ and /targets/. */
async function countingServer(dir) {
  const root = resolve(dir);
  const counts = { metadata: 0, targets: 0, requests: 0 };
  const server = createServer((req, res) => {
    counts.requests++;
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = normalize(join(root, path));
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    const body = readFileSync(file);
    if (path.startsWith('/metadata/')) counts.metadata += body.length;
    else if (path.startsWith('/targets/')) counts.targets += body.length;
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, counts, reset: () => Object.assign(counts, { metadata: 0, targets: 0, requests: 0 }), close: () => new Promise((r) => server.close(r)) };
}

/** Runs a child without blocking this process (the server lives here). */
function runAsync(argv) {
  return new Promise((resolvePromise, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolvePromise(Number(process.hrtime.bigint() - started) / 1e9) : reject(new Error(`${argv.join(' ')} exited ${code}: ${stderr}`))));
  });
}

async function tufJsFetch(serverUrl, rootBytes, target, dir) {
  const { Updater } = await import('tuf-js');
  mkdirSync(join(dir, 'metadata'), { recursive: true });
  mkdirSync(join(dir, 'targets'), { recursive: true });
  writeFileSync(join(dir, 'metadata', 'root.json'), rootBytes);
  const started = process.hrtime.bigint();
  const updater = new Updater({ metadataDir: join(dir, 'metadata'), metadataBaseUrl: `${serverUrl}/metadata`, targetDir: join(dir, 'targets'), targetBaseUrl: `${serverUrl}/targets` });
  await updater.refresh();
  const info = await updater.getTargetInfo(target);
  if (!info) throw new Error(`tuf-js does not find ${target}`);
  await updater.downloadTarget(info, join(dir, 'targets', 'out'));
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** A phase under GNU time, with the load average before it. */
function phase(n, name, cmd) {
  const loadBefore = load();
  log(`[${n}] ${name} (load ${loadBefore})`);
  const r = timedShell(cmd);
  log(`[${n}] ${name}: ${r.seconds} s, ${r.peakRssMiB} MiB`);
  return { ...r, load: loadBefore };
}

async function measure(n) {
  const dir = join(workRoot, String(n));
  const archive = join(workRoot, `archive-${n}`);
  const home = join(dir, 'home');
  const host = join(dir, 'host');
  const result = { targets: n };
  if (only.has('import')) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'pass'), `${PASSPHRASE}\n`);
    chmodSync(join(dir, 'pass'), 0o600);
    makeArchive(archive, n);
    log(`[${n}] init`);
    timedShell(airlockCmd(home, ['init', '--name', 'Scale'], { passphrase: true }));
    const imported = phase(n, 'import', airlockCmd(home, ['import', archive, ...(batch ? ['--batch', batch] : [])], { passphrase: true }));
    result.import = { ...imported, targetsPerSecond: Math.round(n / imported.seconds) };
  } else if (!existsSync(home)) throw new Error(`${home} holds no imported repository: run with --only import --keep first`);
  try {
    if (only.has('publish')) result.publish = phase(n, 'publish', airlockCmd(home, ['publish', '--to', host]));
    if (only.has('release')) {
      if (!existsSync(join(host, 'metadata'))) throw new Error(`${host} is not published: run the publish phase first`);
      const src = makeSource(join(dir, 'source'));
      const before = listing(join(host, 'metadata'));
      const released = phase(n, 'release', airlockCmd(home, ['release', '--source', join(dir, 'source'), '--branch', src.branch, '--commit', src.commit, '--to', host], { passphrase: true }));
      const after = listing(join(host, 'metadata'));
      const changed = [...after].filter(([name]) => !before.has(name) || name === 'timestamp.json');
      result.release = { ...released, metadataResigned: { files: changed.length, bytes: sum(changed.map(([, s]) => s)) } };
      log(`[${n}] release re-signed ${result.release.metadataResigned.bytes} metadata bytes in ${changed.length} files`);
    }
    if (only.has('status')) result.status = phase(n, 'status', airlockCmd(home, ['status', '--json']));
    if (only.has('fetch')) {
      const after = listing(join(host, 'metadata'));
      const allBytes = sum(after.values());
      const currentBytes = currentMetadataBytes(join(host, 'metadata'), after);
      result.metadataOnHost = { files: after.size, bytes: allBytes, currentBytes };
      const target = 'project0/1.0.0/file-0.bin';
      const fraction = (b) => ({ ofAll: Number(((100 * b) / allBytes).toFixed(3)), ofCurrent: Number(((100 * b) / currentBytes).toFixed(3)) });
      const server = await countingServer(host);
      try {
        const out = join(dir, 'verify-out');
        rmSync(join(dir, 'verify-state'), { recursive: true, force: true });
        rmSync(out, { force: true });
        const verifySeconds = await runAsync([process.execPath, verifierBin, 'download', target, '--from', server.url, '--root', join(host, 'keys', 'root.json'), '--state', join(dir, 'verify-state'), '-o', out]);
        result.verify = { seconds: verifySeconds, metadataBytes: server.counts.metadata, percent: fraction(server.counts.metadata) };
        server.reset();
        rmSync(join(dir, 'tufjs'), { recursive: true, force: true });
        const tufSeconds = await tufJsFetch(server.url, readFileSync(join(host, 'keys', 'root.json')), target, join(dir, 'tufjs'));
        result.tufjs = { seconds: tufSeconds, metadataBytes: server.counts.metadata, percent: fraction(server.counts.metadata) };
      } finally {
        await server.close();
      }
    }
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

function machine() {
  const mem = /MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1];
  return { nproc: Number(spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()), memGiB: Number((Number(mem) / 1024 / 1024).toFixed(1)), node: process.version, load: load() };
}

const MiB = (b) => (b / 1024 / 1024).toFixed(2);
const m0 = machine();
const results = [];
for (const n of sizes) {
  results.push(await measure(n));
  log(`result ${JSON.stringify(results.at(-1))}`);
}
const NA = 'not measured';
const timed = (p) => (p ? `${p.seconds} (${p.peakRssMiB}) @${p.load.split(' ')[0]}` : NA);
if (json) process.stdout.write(`${JSON.stringify({ machine: { ...m0, loadAtEnd: load() }, phases: [...only], results })}\n`);
else {
  process.stdout.write(`machine: ${m0.nproc} cores, ${m0.memGiB} GiB, node ${m0.node}, load ${m0.load} at start, ${load()} at end\n`);
  process.stdout.write('targets | import s (RSS MiB) @load | targets/s | publish s @load | release s (RSS MiB) @load | metadata re-signed | verify fetch % all/current | tuf-js fetch % all/current | status s\n');
  for (const r of results) {
    process.stdout.write(
      `${r.targets} | ${timed(r.import)} | ${r.import?.targetsPerSecond ?? NA} | ${r.publish ? `${r.publish.seconds} @${r.publish.load.split(' ')[0]}` : NA} | ${timed(r.release)} | ${r.release ? `${MiB(r.release.metadataResigned.bytes)} MiB in ${r.release.metadataResigned.files} files` : NA} | ${r.verify ? `${r.verify.percent.ofAll}/${r.verify.percent.ofCurrent}` : NA} | ${r.tufjs ? `${r.tufjs.percent.ofAll}/${r.tufjs.percent.ofCurrent}` : NA} | ${r.status?.seconds ?? NA}\n`,
    );
  }
}
