#!/usr/bin/env node
// Benchmark: signing one large artifact in every format as `airlock release` does it,
// against the tools a maintainer would run by hand, in sequence, on the same file.
//
//   node scripts/bench/sign-release.mjs [--size-mib 1024] [--runs 5] [--json] [--keep]
//
// airlock's side is what a release does with the artifact, in one process:
//   sign     the one read of the artifact, hashing it for every format (SHA-256, SHA-512,
//            BLAKE2b-512, the OpenPGP hash state), then releaseToRepository into a fresh
//            repository with those digests: the artifact linked into place, the TUF
//            targets (sha256 + sha512), .asc, .minisig, .sha512, .sshsig, SHA256SUMS and
//            its signatures, snapshot, timestamp, committed (one fsync batch);
//   release  the same, but the read is the build's copy of the artifact out of its
//            output directory (takeArtifact: read, hash, write the copy, fsync it), as
//            `airlock release` does after the recipe's steps — a copy the tools below
//            never make, so it is shown apart;
//   unlock   `sign` plus one keystore unlock (scrypt at the production cost, 2^17·8·1 =
//            128 MiB): what sets the peak RSS of a real `airlock release`.
// The reference is `gpg --detach-sign` + `minisign -S` + `openssl dgst -sha256` run one
// after the other (each reads the file). Paired runs, A B A B, medians (common.mjs).
//
// Each contender is its own process under GNU time, so wall time and peak RSS are the
// child's own. The file is pseudo-random and read once before timing (page cache).
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchOptions, bundleTs, must, paired, randomPayload, repoRoot as repo, warmPageCache } from './common.mjs';

// --- child mode: one airlock release in this process ------------------------------------
if (process.argv[2] === '--child') {
  const [, , , mode, outDir, name, runDir, bundle] = process.argv;
  const m = await import(pathToFileURL(bundle).href);
  if (mode === 'unlock') {
    const { scryptSync, randomBytes } = await import('node:crypto');
    scryptSync('bench passphrase', randomBytes(16), 64, { N: 2 ** 17, r: 8, p: 1, maxmem: 256 * 1024 * 1024 });
  }
  const options = { now: new Date(), expiryDays: m.DEFAULT_EXPIRY_DAYS, name: 'Bench Releases' };
  const signers = {
    targets: m.memorySigner('targets'),
    snapshot: m.memorySigner('snapshot'),
    timestamp: m.memorySigner('timestamp'),
    pgp: m.memorySigner('pgp'),
    minisign: m.memorySigner('minisign'),
    ssh: m.memorySigner('ssh'),
  };
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const repoDir = join(runDir, 'repository');
  const staging = join(runDir, 'staging');
  await m.initRepository(repoDir, staging, { root: [m.memorySigner('root')], rootThreshold: 1, ...signers }, options);
  let artifact;
  if (mode === 'release') {
    const taken = await m.takeArtifact(outDir, name, join(runDir, 'artifacts'));
    if (taken === undefined || 'problem' in taken) throw new Error('no artifact');
    artifact = { name, path: taken.path, content: taken.content };
  } else {
    artifact = { name, path: join(outDir, name), content: await m.readContentDigests(join(outDir, name)) };
  }
  await m.releaseToRepository(
    repoDir,
    staging,
    { project: 'bench', version: '1.0.0', commit: 'a'.repeat(40), branch: 'release/1.0.0', sourceDateEpoch: 1768478400, artifacts: [artifact], provenance: new TextEncoder().encode('{}') },
    signers,
    options,
  );
  process.exit(0);
}

// --- parent: set up, run the pairs, report ---------------------------------------------
const { sizeMiB, runs, json: asJson, keep, log } = benchOptions({ sizeMiB: 1024, runs: 5 });

const work = join(repo, '.bench', 'sign-release');
const outDir = join(work, 'out');
mkdirSync(outDir, { recursive: true });
const name = `payload-${sizeMiB}MiB.bin`;
const file = join(outDir, name);
await randomPayload(file, sizeMiB, log);

// One bundle of what the child runs, so it needs neither a build nor a TS loader. The
// test suite's in-memory signer stands in for the keystore (timed separately, above).
const bundle = await bundleTs(
  `export { takeArtifact } from './lib/builder/build-dirs.ts';
export { readContentDigests } from './lib/core/content-digests.ts';
export { releaseToRepository } from './lib/repo/release.ts';
export { initRepository } from './lib/repo/init-repository.ts';
export { DEFAULT_EXPIRY_DAYS } from './lib/repo/expiry.ts';
export { memorySigner } from './test/support/memory-signer.ts';`,
  join(work, 'release-bundle.mjs'),
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

const q = JSON.stringify;
const runDir = join(work, 'run');
const airlock = (mode) => `${q(process.execPath)} ${q(fileURLToPath(import.meta.url))} --child ${mode} ${q(outDir)} ${q(name)} ${q(runDir)} ${q(bundle)}`;
const byHand = [
  `gpg --homedir ${q(gnupg)} --batch --yes --digest-algo SHA256 --armor --output ${q(`${file}.gpg.asc`)} --detach-sign ${q(file)}`,
  `minisign -S -s ${q(miniKey)} -m ${q(file)} -x ${q(`${file}.minisign.minisig`)}`,
  `openssl dgst -sha256 ${q(file)} > /dev/null`,
].join(' && ');
// Every run starts from the same state: no repository, the payload in the page cache.
const before = () => {
  rmSync(runDir, { recursive: true, force: true });
  warmPageCache(file);
};

log('warming the page cache');
warmPageCache(file);
const results = [
  { name: 'sign: one read + every format / gpg + minisign + openssl dgst', ...paired(airlock('sign'), byHand, { runs, before }) },
  { name: 'release: build copy (read, write, fsync) + every format / same', ...paired(airlock('release'), byHand, { runs, before }) },
  { name: 'unlock: sign + keystore scrypt (128 MiB) / same', ...paired(airlock('unlock'), byHand, { runs, before }) },
];

const report = { file: { sizeMiB }, runs, node: process.version, results };
if (asJson) {
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} else {
  process.stdout.write(`\n${sizeMiB} MiB artifact; paired runs (A B A B), medians; ratio = median of A/B per round, < 1 is faster\n`);
  for (const r of results) {
    process.stdout.write(`${r.name.padEnd(66)} ratio ${String(r.ratio).padStart(5)}   A ${r.a.seconds}s ${r.a.peakRssMiB} MiB   B ${r.b.seconds}s ${r.b.peakRssMiB} MiB\n`);
  }
}
must('gpgconf', ['--homedir', gnupg, '--kill', 'gpg-agent']);
if (!keep) rmSync(work, { recursive: true, force: true });
