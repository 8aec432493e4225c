#!/usr/bin/env node
// Benchmark: airlock's S3 transport (lib/publish/s3-transport.ts, @aws-sdk/client-s3)
// against s3cmd, the standard client from Debian, in the same run, uploading the same
// file to the same Ceph RADOS Gateway on 127.0.0.1 (scripts/ceph-rgw.sh: mon + memstore
// OSD + radosgw; objects live in RAM, so the disk is out of the measurement).
//
//   node scripts/bench/upload-s3.mjs [--size-mib 256] [--runs 3] [--json] [--keep]
//   node scripts/bench/upload-s3.mjs --size-mib 4096 --runs 1 --only airlock-put,s3cmd-put
//                                                   (constant memory at 4 GiB; memstore needs ~3× in RAM)
//
// Contenders, each its own process under GNU time (`/usr/bin/time -f %e %M`), so peak
// RSS is the child's own; wall time includes connecting:
//   airlock-put      S3Transport.writeInPlace: multipart from 64 MiB, 16 MiB parts streamed
//                    from file ranges, 4 in flight
//   s3cmd-put        s3cmd put (multipart, 16 MiB chunks)
//   airlock-publish  what publishing one file costs: the put, then read back with SHA-256
//   airlock-digest   the read-back alone: GET and SHA-256
//   s3cmd-get        s3cmd get to /dev/null (compare with airlock-digest)
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchOptions, bestOf, bundleTs, must, option, randomPayload, repoRoot as repo, warmPageCache } from './common.mjs';

const KEY = 'bench/payload.bin';
const BUCKET = 'bench';

// --- child mode: one airlock contender in this process ---------------------------------
if (process.argv[2] === '--child') {
  const [, , , mode, file, bundle, envFile] = process.argv;
  const env = Object.fromEntries(readFileSync(envFile, 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const lib = await import(pathToFileURL(bundle).href);
  const host = { name: 'bench', url: `s3://${BUCKET}`, s3: { endpoint: env.S3_ENDPOINT, pathStyle: true } };
  const t = await lib.openTransport(host, { s3: { credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY } } });
  try {
    const { size } = (await import('node:fs')).statSync(file);
    if (mode === 'airlock-put') {
      await t.writeInPlace(file, KEY, { overwrite: true, length: size });
    } else if (mode === 'airlock-digest') {
      const d = await t.digest(KEY);
      if (!d || d.length !== size) throw new Error('the read-back did not find the whole file');
    } else if (mode === 'airlock-publish') {
      const { createHash } = await import('node:crypto');
      const { createReadStream } = await import('node:fs');
      const h = createHash('sha256');
      for await (const c of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(c);
      const item = { path: KEY, local: file, length: size, sha256: h.digest('hex'), stage: 'content', immutable: false, action: 'upload' };
      await lib.applyPublishPlan({ host: 'bench', leftovers: [], modeRepairs: [], modes: { file: 0o644, dir: 0o755 }, items: [item] }, t);
    } else {
      throw new Error(`unknown mode ${mode}`);
    }
  } finally {
    await t.close();
  }
  process.exit(0);
}

// --- parent ----------------------------------------------------------------------------
const { sizeMiB, runs, json: asJson, keep, log } = benchOptions({ sizeMiB: 256, runs: 3 });

for (const tool of ['/usr/bin/ceph-mon', '/usr/bin/ceph-osd', '/usr/bin/radosgw', '/usr/bin/s3cmd']) {
  if (spawnSync('test', ['-x', tool]).status !== 0) {
    process.stderr.write(`upload-s3: ${tool} is missing; install the packages in scripts/test-deps/s3.txt\n`);
    process.exit(3);
  }
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const work = join(repo, '.bench', 'upload-s3');
mkdirSync(work, { recursive: true });
const file = join(work, `payload-${sizeMiB}MiB.bin`);
await randomPayload(file, sizeMiB, log);

const bundle = await bundleTs(`export * from './lib/publish/index.ts';`, join(work, 'publish-bundle.mjs'), { external: ['ssh2', '@aws-sdk/client-s3'] });

const ceph = join(work, 'ceph');
rmSync(ceph, { recursive: true, force: true });
const script = join(repo, 'scripts', 'ceph-rgw.sh');
log('starting Ceph (mon, memstore OSD, radosgw) on 127.0.0.1');
// memstore holds every object in RAM: room for the payload twice (an upload replacing the last).
const memstore = String(Math.max(2048, sizeMiB * 3) * 1024 * 1024);
must('bash', [script, 'start', ceph, String(await freePort()), String(await freePort())], { env: { ...process.env, MEMSTORE_BYTES: memstore } });

const results = [];
try {
  const envFile = join(ceph, 's3.env');
  const env = Object.fromEntries(readFileSync(envFile, 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const hostPort = env.S3_ENDPOINT.replace('http://', '');
  const s3cfg = join(ceph, 's3cfg');
  writeFileSync(
    s3cfg,
    [
      '[default]',
      `access_key = ${env.AWS_ACCESS_KEY_ID}`,
      `secret_key = ${env.AWS_SECRET_ACCESS_KEY}`,
      `host_base = ${hostPort}`,
      `host_bucket = ${hostPort}`,
      'use_https = False',
      'signature_v2 = False',
      'multipart_chunk_size_mb = 16',
      'progress_meter = False',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const s3cmd = (...args) => ['s3cmd', '-c', s3cfg, '--no-check-md5', ...args];
  must(s3cmd('mb', `s3://${BUCKET}`)[0], s3cmd('mb', `s3://${BUCKET}`).slice(1));
  const clear = () => spawnSync(s3cmd()[0], s3cmd('del', `s3://${BUCKET}/${KEY}`).slice(1));
  const check = () => {
    const info = must(s3cmd()[0], s3cmd('info', `s3://${BUCKET}/${KEY}`).slice(1)).stdout;
    if (!new RegExp(`File size:\\s+${sizeMiB * 1024 * 1024}\\b`).test(info)) throw new Error('the gateway does not hold the whole file');
  };
  const self = fileURLToPath(import.meta.url);
  const child = (mode) => [process.execPath, self, '--child', mode, file, bundle, envFile];
  const only = option('--only', undefined)?.split(',');
  const all = [
    { name: 'airlock-put', argv: child('airlock-put'), before: clear },
    { name: 's3cmd-put', argv: s3cmd('put', file, `s3://${BUCKET}/${KEY}`), before: clear },
    { name: 'airlock-publish', argv: child('airlock-publish'), before: clear },
    { name: 'airlock-digest', argv: child('airlock-digest') },
    { name: 's3cmd-get', argv: s3cmd('get', `s3://${BUCKET}/${KEY}`, '-') },
  ];
  const contenders = only ? all.filter((c) => only.includes(c.name)) : all;

  log('warming the page cache');
  warmPageCache(file);
  for (const c of contenders) {
    const best = bestOf(c.name, c.argv, runs, { before: c.before, check });
    const row = { name: c.name, seconds: best.seconds, mibPerSecond: sizeMiB / best.seconds, peakRssMiB: best.maxRssKiB / 1024 };
    results.push(row);
    log(`${c.name.padEnd(16)} ${row.seconds.toFixed(2).padStart(7)} s ${row.mibPerSecond.toFixed(0).padStart(6)} MiB/s  peak RSS ${row.peakRssMiB.toFixed(0).padStart(5)} MiB`);
  }
} finally {
  spawnSync('bash', [script, 'stop', ceph]);
}

const byName = Object.fromEntries(results.map((r) => [r.name, r]));
const baseline = byName['s3cmd-put']?.mibPerSecond ?? Number.NaN;
const putRatio = (byName['airlock-put']?.mibPerSecond ?? Number.NaN) / baseline;
for (const r of results) r.throughputVsS3cmdPut = r.mibPerSecond / baseline;
const report = { file: { sizeMiB }, runs, node: process.version, gateway: 'Ceph RGW (memstore) on loopback', putThroughputRatio: putRatio, results };
if (asJson) {
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} else {
  process.stdout.write(`\n${sizeMiB} MiB file to Ceph RGW over loopback, best of ${runs}; "vs s3cmd put" is throughput (goal: airlock-put ≥ 0.8)\n`);
  process.stdout.write(`${'contender'.padEnd(16)} ${'seconds'.padStart(8)} ${'MiB/s'.padStart(7)} ${'peak RSS MiB'.padStart(13)} ${'vs s3cmd put'.padStart(13)}\n`);
  for (const r of results) {
    process.stdout.write(`${r.name.padEnd(16)} ${r.seconds.toFixed(2).padStart(8)} ${r.mibPerSecond.toFixed(0).padStart(7)} ${r.peakRssMiB.toFixed(0).padStart(13)} ${r.throughputVsS3cmdPut.toFixed(2).padStart(13)}\n`);
  }
}
rmSync(ceph, { recursive: true, force: true });
if (!keep) rmSync(work, { recursive: true, force: true });
