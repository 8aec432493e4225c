#!/usr/bin/env node
// Benchmark: airlock's streaming release signers (lib/repo/compat) against gpg and
// minisign on one large file: wall time, throughput, ratios and peak RSS of each.
//
//   node scripts/bench/sign-release.mjs [--size-mib 1024] [--runs 1] [--openpgpjs] [--json] [--keep]
//
// Each contender runs as its own process under GNU time (`/usr/bin/time -f %e %M`), so
// peak RSS is the child's own. The file is pseudo-random (incompressible) and read once
// before timing, so every contender reads from the page cache. Contenders:
//   airlock-release   writeReleaseSignatures: .asc + .minisig + SHA256SUMS, one read pass
//   airlock-openpgp   the detached OpenPGP signature alone (SHA-256, streamed)
//   airlock-minisign  the minisign signature alone (BLAKE2b-512, streamed)
//   gpg               gpg --detach-sign --armor, Ed25519 key, --digest-algo SHA256
//   minisign          minisign -S (prehashed)
//   sha256sum         hashing alone, for scale
//   openpgpjs         openpgp.js 6 sign({detached}) of a stream (only with --openpgpjs:
//                     it holds the whole file in memory)
import { createReadStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchSigner, bestOf, bundleTs, must, option, randomPayload, repoRoot as repo, warmPageCache } from './common.mjs';

// --- child mode: one contender in this process ---------------------------------------
if (process.argv[2] === '--child') {
  const [, , , mode, file, bundle] = process.argv;
  await child(mode, file, bundle);
  process.exit(0);
}

async function child(mode, file, bundle) {
  const compat = await import(pathToFileURL(bundle).href);
  const dir = dirname(file);
  const name = file.slice(dir.length + 1);
  const pgp = benchSigner('pgp');
  const minisign = benchSigner('minisign');
  const date = new Date();
  if (mode === 'airlock-release') {
    await compat.writeReleaseSignatures({ dir, files: [name], project: 'bench', version: '1', pgp, minisign, date });
  } else if (mode === 'airlock-openpgp') {
    const { createHash } = await import('node:crypto');
    const pending = compat.beginDetachedSignature(pgp, date);
    const h = createHash('sha256');
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk);
    writeFileSync(`${file}.bench.asc`, await pending.finish(h, { kind: 'bench', name }));
  } else if (mode === 'airlock-minisign') {
    const { createHash } = await import('node:crypto');
    const h = createHash('blake2b512');
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk);
    const comment = compat.releaseTrustedComment({ timestamp: date, file: name, project: 'bench', version: '1' });
    writeFileSync(`${file}.bench.minisig`, await compat.minisignSignature(minisign, new Uint8Array(h.digest()), comment, { kind: 'bench', name }));
  } else if (mode === 'openpgpjs') {
    const openpgp = await import('openpgp');
    const { privateKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'bench' }], format: 'object' });
    const { Readable } = await import('node:stream');
    const message = await openpgp.createMessage({ binary: Readable.toWeb(createReadStream(file, { highWaterMark: 1 << 20 })) });
    const sig = await openpgp.sign({ message, signingKeys: privateKey, detached: true });
    let text = '';
    for await (const part of sig) text += part;
    writeFileSync(`${file}.bench.openpgpjs.asc`, text);
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
}

// --- parent: set up, run every contender, report ---------------------------------------
const sizeMiB = Number(option('--size-mib', '1024'));
const runs = Number(option('--runs', '1'));
const asJson = process.argv.includes('--json');
const withOpenpgpjs = process.argv.includes('--openpgpjs');
const keep = process.argv.includes('--keep');

function log(msg) {
  if (!asJson) process.stderr.write(`${msg}\n`);
}

const work = join(repo, '.bench', 'sign-release');
mkdirSync(work, { recursive: true });
const file = join(work, `payload-${sizeMiB}MiB.bin`);
await randomPayload(file, sizeMiB, log);

// One bundle of lib/repo/compat so the child needs neither a build nor a TS loader.
const bundle = await bundleTs(
  `export * from './lib/repo/compat/index.ts';
export { beginDetachedSignature } from './lib/repo/compat/openpgp-sign.ts';
export { minisignSignature, releaseTrustedComment } from './lib/repo/compat/minisign.ts';`,
  join(work, 'compat-bundle.mjs'),
);

// gpg: an Ed25519 signing key without passphrase in a throwaway home.
const gnupg = join(work, 'gnupg');
rmSync(gnupg, { recursive: true, force: true });
mkdirSync(gnupg, { mode: 0o700 });
must('gpg', ['--homedir', gnupg, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', 'bench <bench@example.org>', 'ed25519', 'sign', 'never']);
// minisign: a key pair without password (-W).
const miniKey = join(work, 'minisign.key');
const miniPub = join(work, 'minisign.pub');
rmSync(miniKey, { force: true });
rmSync(miniPub, { force: true });
must('minisign', ['-G', '-W', '-f', '-p', miniPub, '-s', miniKey]);

const contenders = [
  { name: 'airlock-release', argv: [process.execPath, fileURLToPath(import.meta.url), '--child', 'airlock-release', file, bundle] },
  { name: 'airlock-openpgp', argv: [process.execPath, fileURLToPath(import.meta.url), '--child', 'airlock-openpgp', file, bundle] },
  { name: 'airlock-minisign', argv: [process.execPath, fileURLToPath(import.meta.url), '--child', 'airlock-minisign', file, bundle] },
  { name: 'gpg', argv: ['gpg', '--homedir', gnupg, '--batch', '--yes', '--digest-algo', 'SHA256', '--armor', '--output', `${file}.gpg.asc`, '--detach-sign', file] },
  { name: 'minisign', argv: ['minisign', '-S', '-s', miniKey, '-m', file, '-x', `${file}.minisign.minisig`] },
  { name: 'sha256sum', argv: ['sha256sum', file] },
];
if (withOpenpgpjs) contenders.push({ name: 'openpgpjs', argv: [process.execPath, fileURLToPath(import.meta.url), '--child', 'openpgpjs', file, bundle] });

log('warming the page cache');
warmPageCache(file);

const results = [];
for (const c of contenders) {
  const best = bestOf(c.name, c.argv, runs);
  const row = { name: c.name, seconds: best.seconds, mibPerSecond: sizeMiB / best.seconds, peakRssMiB: best.maxRssKiB / 1024 };
  results.push(row);
  log(`${c.name.padEnd(18)} ${row.seconds.toFixed(2).padStart(7)} s ${row.mibPerSecond.toFixed(0).padStart(6)} MiB/s  peak RSS ${row.peakRssMiB.toFixed(0).padStart(6)} MiB`);
}

// Correctness is the tests' job (test/repo/compat); here only speed and memory.
const byName = Object.fromEntries(results.map((r) => [r.name, r]));
for (const r of results) {
  r.timeVsGpg = r.seconds / byName.gpg.seconds;
  r.timeVsMinisign = r.seconds / byName.minisign.seconds;
}
const report = { file: { sizeMiB }, runs, node: process.version, results };
if (asJson) {
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} else {
  process.stdout.write(`\n${sizeMiB} MiB file, best of ${runs}; time ratio < 1 means faster than the reference\n`);
  process.stdout.write(`${'contender'.padEnd(18)} ${'seconds'.padStart(8)} ${'MiB/s'.padStart(7)} ${'peak RSS MiB'.padStart(13)} ${'vs gpg'.padStart(7)} ${'vs minisign'.padStart(12)}\n`);
  for (const r of results) {
    process.stdout.write(
      `${r.name.padEnd(18)} ${r.seconds.toFixed(2).padStart(8)} ${r.mibPerSecond.toFixed(0).padStart(7)} ${r.peakRssMiB.toFixed(0).padStart(13)} ${r.timeVsGpg.toFixed(2).padStart(7)} ${r.timeVsMinisign.toFixed(2).padStart(12)}\n`,
    );
  }
}
must('gpgconf', ['--homedir', gnupg, '--kill', 'gpg-agent']);
if (!keep) rmSync(work, { recursive: true, force: true });
