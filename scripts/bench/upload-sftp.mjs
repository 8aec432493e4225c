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
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchOptions, benchSigner, bestOf, bundleTs, must, randomPayload, repoRoot as repo, warmPageCache } from './common.mjs';

// --- child mode: one airlock contender in this process ---------------------------------
if (process.argv[2] === '--child') {
  const [, , , mode, file, bundle, url, hostKey, keyFile] = process.argv;
  const lib = await import(pathToFileURL(bundle).href);
  const t = await lib.openTransport({ name: 'bench', url, hostKey }, { publishSigner: benchSigner('publish', createPrivateKey(readFileSync(keyFile))) });
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
const { sizeMiB, runs, json: asJson, keep, log } = benchOptions({ sizeMiB: 256, runs: 3 });

if (process.getuid?.() !== 0) {
  process.stderr.write('upload-sftp: run as root (sshd needs a root-owned ChrootDirectory)\n');
  process.exit(3);
}

const work = join(repo, '.bench', 'upload-sftp');
mkdirSync(work, { recursive: true });
const file = join(work, `payload-${sizeMiB}MiB.bin`);
await randomPayload(file, sizeMiB, log);

// One bundle of lib/publish, and of the tests' sshd (the same configuration the publishing
// tests run), so the child needs neither a build nor a TS loader; ssh2 stays external
// (resolved from node_modules) because it loads optional native helpers.
const bundle = await bundleTs(
  `export * from './lib/publish/index.ts';
export { startSshd, stopSshd } from './test/support/publish-sshd.ts';`,
  join(work, 'publish-bundle.mjs'),
  { external: ['ssh2'] },
);
const { authorizedKeysLine, startSshd, stopSshd } = await import(pathToFileURL(bundle).href);

// airlock's publish key (a throwaway, on disk only for this benchmark) and a key for OpenSSH's sftp.
const keys = join(work, 'keys');
rmSync(keys, { recursive: true, force: true });
mkdirSync(keys, { mode: 0o700 });
const { privateKey } = generateKeyPairSync('ed25519');
const airlockKey = join(keys, 'airlock-publish.pem');
writeFileSync(airlockKey, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
const clientKey = join(keys, 'sftp_client');
must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', clientKey]);
const clientRaw = Buffer.from(readFileSync(`${clientKey}.pub`, 'utf8').split(' ')[1], 'base64').subarray(19);
// sshd: own host key, chroot under /run (every component root-owned, not group/world-writable).
const sshd = await startSshd({ publishKey: benchSigner('publish', privateKey).publicKey, extraAuthorizedKeys: [authorizedKeysLine(clientRaw)] });
const { port, hostKey, url, tree } = sshd;
mkdirSync(join(tree, 'bench'), { mode: 0o755 });
const knownHosts = join(keys, 'known_hosts');
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
warmPageCache(file);

const results = [];
try {
  for (const c of contenders) {
    const best = bestOf(c.name, c.argv, runs, {
      before: c.before,
      check: () => {
        if (!existsSync(remote) || statSync(remote).size !== sizeMiB * 1024 * 1024) throw new Error(`${c.name}: the host does not hold the whole file`);
      },
    });
    const row = { name: c.name, seconds: best.seconds, mibPerSecond: sizeMiB / best.seconds, peakRssMiB: best.maxRssKiB / 1024 };
    results.push(row);
    log(`${c.name.padEnd(16)} ${row.seconds.toFixed(2).padStart(7)} s ${row.mibPerSecond.toFixed(0).padStart(6)} MiB/s  peak RSS ${row.peakRssMiB.toFixed(0).padStart(5)} MiB`);
  }
} finally {
  await stopSshd(sshd);
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
