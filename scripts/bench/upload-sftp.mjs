#!/usr/bin/env node
// Benchmark: airlock's SFTP transport (lib/publish, ssh2, publish key through a Signer)
// against OpenSSH's own `sftp` client, in the same run, to the same OpenSSH sshd on
// 127.0.0.1 configured with the host-side lines `airlock host add` prints (chroot,
// ForceCommand internal-sftp). Needs root (sshd's ChrootDirectory) and openssh-server.
//
//   sudo node scripts/bench/upload-sftp.mjs [--size-mib 256] [--runs 3] [--json] [--keep]
//
// Contenders, each its own process under GNU time (`/usr/bin/time -f %e %M`), so peak
// RSS is the child's own; wall time includes connecting and authenticating:
//   airlock-put      Transport.put: pipelined WRITEs, fsync@openssh.com
//   airlock-publish  what publishing one file costs: put + read back and SHA-256 + rename
//   airlock-digest   the read-back alone: pipelined READs, SHA-256
//   sftp-put         OpenSSH sftp -b: put
//   sftp-get         OpenSSH sftp -b: get to /dev/null (compare with airlock-digest)
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomFillSync, sign as cryptoSign, createPrivateKey, createPublicKey } from 'node:crypto';
import { chmodSync, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');

function signerFrom(pemFile) {
  const privateKey = createPrivateKey(readFileSync(pemFile));
  const der = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return {
    role: 'publish',
    keyId: 'bench',
    tufKey: undefined,
    publicKey: new Uint8Array(der.subarray(der.length - 32)),
    createdAt: new Date('2026-01-01T00:00:00Z'),
    async sign(req) {
      return new Uint8Array(cryptoSign(null, req.message, privateKey));
    },
  };
}

// --- child mode: one airlock contender in this process ---------------------------------
if (process.argv[2] === '--child') {
  const [, , , mode, file, bundle, url, hostKey, keyFile] = process.argv;
  const lib = await import(pathToFileURL(bundle).href);
  const t = await lib.openTransport({ name: 'bench', url, hostKey }, { publishSigner: signerFrom(keyFile) });
  try {
    if (mode === 'airlock-put') {
      await t.put(file, 'bench/payload.bin');
    } else if (mode === 'airlock-digest') {
      const d = await t.digest('bench/payload.bin');
      if (!d) throw new Error('nothing to read back');
    } else if (mode === 'airlock-publish') {
      const { createHash } = await import('node:crypto');
      const { createReadStream } = await import('node:fs');
      const h = createHash('sha256');
      let length = 0;
      for await (const c of createReadStream(file, { highWaterMark: 1 << 20 })) {
        h.update(c);
        length += c.length;
      }
      const plan = { host: 'bench', leftovers: [], items: [{ path: 'bench/payload.bin', local: file, length, sha256: h.digest('hex'), stage: 'content', immutable: false, action: 'upload' }] };
      await lib.applyPublishPlan(plan, t);
    } else {
      throw new Error(`unknown mode ${mode}`);
    }
  } finally {
    await t.close();
  }
  process.exit(0);
}

// --- parent ----------------------------------------------------------------------------
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const sizeMiB = Number(opt('--size-mib', '256'));
const runs = Number(opt('--runs', '3'));
const asJson = args.includes('--json');
const keep = args.includes('--keep');

function log(msg) {
  if (!asJson) process.stderr.write(`${msg}\n`);
}
function must(cmd, argv, options = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', ...options });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed: ${r.stderr}`);
  return r;
}

if (process.getuid?.() !== 0) {
  process.stderr.write('upload-sftp: run as root (sshd needs a root-owned ChrootDirectory)\n');
  process.exit(3);
}

const work = join(repo, '.bench', 'upload-sftp');
mkdirSync(work, { recursive: true });
const file = join(work, `payload-${sizeMiB}MiB.bin`);
if (!existsSync(file) || statSync(file).size !== sizeMiB * 1024 * 1024) {
  log(`writing ${sizeMiB} MiB of pseudo-random data to ${file}`);
  const out = createWriteStream(file);
  const chunk = Buffer.alloc(16 << 20);
  for (let left = sizeMiB * 1024 * 1024; left > 0; left -= chunk.length) {
    randomFillSync(chunk);
    const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
    if (!out.write(piece)) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r, j) => out.end((e) => (e ? j(e) : r())));
}

// One bundle of lib/publish so the child needs neither a build nor a TS loader; ssh2 stays
// external (resolved from node_modules) because it loads optional native helpers.
const bundle = join(work, 'publish-bundle.mjs');
const esbuild = await import('esbuild');
await esbuild.build({
  stdin: { contents: `export * from './lib/publish/index.ts';`, resolveDir: repo, loader: 'ts' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['ssh2'],
  outfile: bundle,
  logLevel: 'error',
});
const { authorizedKeysLine, sshdMatchBlock } = await import(pathToFileURL(bundle).href);

// sshd: own host key, chroot under /run (every component root-owned, not group/world-writable).
mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
const base = join('/run', `airlock-bench-sshd-${process.pid}`);
rmSync(base, { recursive: true, force: true });
const etc = join(base, 'etc');
const chroot = join(base, 'chroot');
const tree = join(chroot, 'www');
mkdirSync(etc, { recursive: true, mode: 0o700 });
mkdirSync(join(tree, 'bench'), { recursive: true, mode: 0o755 });
chmodSync(base, 0o755);
chmodSync(chroot, 0o755);
must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(etc, 'host_ed25519')]);
const hostKey = readFileSync(join(etc, 'host_ed25519.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
// airlock's publish key (a throwaway, on disk only for this benchmark) and a key for OpenSSH's sftp.
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const airlockKey = join(etc, 'airlock-publish.pem');
writeFileSync(airlockKey, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
const der = publicKey.export({ format: 'der', type: 'spki' });
const clientKey = join(etc, 'sftp_client');
must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', clientKey]);
writeFileSync(
  join(etc, 'authorized_keys'),
  `${authorizedKeysLine(new Uint8Array(der.subarray(der.length - 32)))}\n${authorizedKeysLine(Buffer.from(readFileSync(`${clientKey}.pub`, 'utf8').split(' ')[1], 'base64').subarray(19))}\n`,
  { mode: 0o600 },
);
const port = await new Promise((r) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => r(p));
  });
});
writeFileSync(
  join(etc, 'sshd_config'),
  [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(etc, 'host_ed25519')}`,
    `PidFile ${join(etc, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(etc, 'authorized_keys')}`,
    'StrictModes no',
    'UsePAM no',
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'Subsystem sftp internal-sftp',
    sshdMatchBlock({ user: 'root', chroot }),
  ].join('\n'),
);
const sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(etc, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
await new Promise((resolveStart, reject) => {
  let text = '';
  const timer = setTimeout(() => reject(new Error(`sshd did not start:\n${text}`)), 10_000);
  sshd.stderr.on('data', (d) => {
    text += d;
    if (text.includes('Server listening')) {
      clearTimeout(timer);
      resolveStart();
    }
  });
});
const url = `sftp://root@127.0.0.1:${port}/www`;
const knownHosts = join(etc, 'known_hosts');
writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostKey}\n`);
const sftpArgs = (batch) => ['sftp', '-q', '-b', batch, '-i', clientKey, '-P', String(port), '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'IdentityAgent=none', 'root@127.0.0.1'];
const putBatch = join(work, 'put.batch');
writeFileSync(putBatch, `put ${file} /www/bench/payload.bin\n`);
const getBatch = join(work, 'get.batch');
writeFileSync(getBatch, 'get /www/bench/payload.bin /dev/null\n');
const self = fileURLToPath(import.meta.url);
const child = (mode) => [process.execPath, self, '--child', mode, file, bundle, url, hostKey, airlockKey];
const remote = join(tree, 'bench', 'payload.bin');
const clear = () => rmSync(remote, { force: true });

const contenders = [
  { name: 'airlock-put', argv: child('airlock-put'), before: clear },
  { name: 'sftp-put', argv: sftpArgs(putBatch), before: clear },
  { name: 'airlock-publish', argv: child('airlock-publish'), before: clear },
  { name: 'airlock-digest', argv: child('airlock-digest') },
  { name: 'sftp-get', argv: sftpArgs(getBatch) },
];

log('warming the page cache');
must('sh', ['-c', 'cat "$1" > /dev/null', 'sh', file]);

const results = [];
try {
  for (const c of contenders) {
    let best;
    for (let i = 0; i < runs; i++) {
      c.before?.();
      const r = spawnSync('/usr/bin/time', ['-f', '%e %M', ...c.argv], { encoding: 'utf8', cwd: repo, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 24 });
      if (r.status !== 0) throw new Error(`${c.name} failed: ${r.stderr}`);
      if (!existsSync(remote) || statSync(remote).size !== sizeMiB * 1024 * 1024) throw new Error(`${c.name}: the host does not hold the whole file`);
      const [seconds, maxRssKiB] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
      if (!best || seconds < best.seconds) best = { seconds, maxRssKiB };
    }
    const row = { name: c.name, seconds: best.seconds, mibPerSecond: sizeMiB / best.seconds, peakRssMiB: best.maxRssKiB / 1024 };
    results.push(row);
    log(`${c.name.padEnd(16)} ${row.seconds.toFixed(2).padStart(7)} s ${row.mibPerSecond.toFixed(0).padStart(6)} MiB/s  peak RSS ${row.peakRssMiB.toFixed(0).padStart(5)} MiB`);
  }
} finally {
  sshd.kill('SIGTERM');
  rmSync(base, { recursive: true, force: true });
}

const byName = Object.fromEntries(results.map((r) => [r.name, r]));
for (const r of results) r.timeVsSftpPut = r.seconds / byName['sftp-put'].seconds;
const report = { file: { sizeMiB }, runs, node: process.version, transport: 'loopback', results };
if (asJson) {
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} else {
  process.stdout.write(`\n${sizeMiB} MiB file over loopback, best of ${runs}; "vs sftp put" < 1 means faster than OpenSSH sftp\n`);
  process.stdout.write(`${'contender'.padEnd(16)} ${'seconds'.padStart(8)} ${'MiB/s'.padStart(7)} ${'peak RSS MiB'.padStart(13)} ${'vs sftp put'.padStart(12)}\n`);
  for (const r of results) {
    process.stdout.write(`${r.name.padEnd(16)} ${r.seconds.toFixed(2).padStart(8)} ${r.mibPerSecond.toFixed(0).padStart(7)} ${r.peakRssMiB.toFixed(0).padStart(13)} ${r.timeVsSftpPut.toFixed(2).padStart(12)}\n`);
  }
}
if (!keep) rmSync(work, { recursive: true, force: true });
