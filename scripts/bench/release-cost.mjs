#!/usr/bin/env node
// Benchmark: what adding ONE target costs on a repository that already holds many
// (issue 19.1: a release must cost what it changes, not what the repository holds).
//
//   node scripts/bench/release-cost.mjs [--targets 10000] [--runs 3] [--tree DIR] [--json] [--keep]
//
// Builds a repository of --targets targets (1,000 versions of a project, each target a
// small file under targets/ and releases/, hard-linked as a release makes them; hash
// bins as the default configuration sizes them), and a directory host that already
// holds all of it (with the digest cache warm, as after any earlier publish). Then,
// --runs times: one `releaseToRepository` of one artifact (TUF, .asc, .minisig,
// SHA256SUMS — what `airlock release` does after the build) and one `publish` to the
// host, each its own process under GNU time (wall time and peak RSS are the child's).
//
// --tree DIR bundles the code of another checkout (e.g. a worktree at an older commit)
// to measure before and after on the same machine; the numbers quoted in
// lib/repo/README.md come from it.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleTs, option, repoRoot } from './common.mjs';

const ROLES = ['root', 'targets', 'snapshot', 'timestamp', 'pgp', 'minisign'];

// --- child mode: one step in this process -------------------------------------------------
if (process.argv[2] === '--child') {
  const [, , , step, work, bundle, arg] = process.argv;
  const m = await import(pathToFileURL(bundle).href);
  const keys = JSON.parse(readFileSync(join(work, 'keys.json'), 'utf8'));
  const s = Object.fromEntries(ROLES.map((r) => [r, m.pemSigner(r, keys[r])]));
  const signers = { targets: s.targets, snapshot: s.snapshot, timestamp: s.timestamp, pgp: s.pgp, minisign: s.minisign };
  const options = { now: new Date(), expiryDays: m.DEFAULT_EXPIRY_DAYS, name: 'Bench' };
  const repoDir = join(work, 'repository');
  const staging = join(work, 'staging');
  const host = [{ name: 'host', url: join(work, 'host') }];
  const cache = join(work, 'publish-cache');
  if (step === 'build') {
    const n = Number(arg);
    await m.initRepository(repoDir, staging, { ...signers, root: [s.root], rootThreshold: 1 }, options);
    const tx = await m.RepositoryTransaction.open(repoDir, staging, { now: options.now, expiryDays: options.expiryDays });
    const additions = {};
    const { createHash } = await import('node:crypto');
    const { linkSync } = await import('node:fs');
    for (let i = 0; i < n; i++) {
      const version = `0.${Math.floor(i / 10)}.0`;
      const name = `file-${i % 10}.tar.gz`;
      const bytes = `artifact ${i}\n`;
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const sha512 = createHash('sha512').update(bytes).digest('hex');
      const rel = join(tx.stagingDir, 'releases', 'history', version);
      const tgt = join(tx.stagingDir, 'targets', 'history', version);
      mkdirSync(rel, { recursive: true });
      mkdirSync(tgt, { recursive: true });
      writeFileSync(join(rel, name), bytes);
      linkSync(join(rel, name), join(tgt, `${sha256}.${name}`));
      const custom = { airlock: { project: 'history', version, commit: 'c'.repeat(40), branch: `release/${version}`, sourceDateEpoch: 1, provenance: `history/${version}/history-${version}.intoto.jsonl` } };
      additions[`history/${version}/${name}`] = { length: bytes.length, hashes: { sha256, sha512 }, custom };
    }
    tx.addTargets(additions);
    await tx.commit({ targets: [s.targets], snapshot: [s.snapshot], timestamp: [s.timestamp] });
  } else if (step === 'release') {
    const artifact = join(work, `app-${arg}.tar.gz`);
    writeFileSync(artifact, `app ${arg}\n`);
    const input = { project: 'app', version: arg, commit: 'a'.repeat(40), branch: `release/${arg}`, sourceDateEpoch: 1, artifacts: [{ name: 'app.tar.gz', path: artifact }], provenance: new TextEncoder().encode('{}') };
    await m.releaseToRepository(repoDir, staging, input, signers, options);
  } else if (step === 'publish') {
    const [r] = await m.publish(repoDir, host, { digestCacheDir: cache });
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    if (arg) writeFileSync(arg, JSON.stringify({ uploaded: r.uploaded, skipped: r.skipped }));
  }
  process.exit(0);
}

// --- parent --------------------------------------------------------------------------------
const targets = Number(option('--targets', '10000'));
const runs = Number(option('--runs', '3'));
const tree = resolve(option('--tree', repoRoot));
const json = process.argv.includes('--json');
const log = (line) => !json && console.error(line);
const work = join(tmpdir(), `airlock-bench-release-cost-${process.pid}`);
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

const bundle = await bundleTs(
  `
import { createPrivateKey } from 'node:crypto';
import { tufKeyFor } from './lib/core/key-type.js';
import { tufKeyId } from './lib/core/tuf-key.js';
import { rawPublicKeyOf, softwareKeyHandle } from './lib/keys/software-key.js';
export { initRepository } from './lib/repo/init-repository.js';
export { RepositoryTransaction } from './lib/repo/transaction.js';
export { releaseToRepository } from './lib/repo/release.js';
export { DEFAULT_EXPIRY_DAYS } from './lib/repo/expiry.js';
export { publish } from './lib/publish/publish.js';
export function pemSigner(role: any, pem: string): any {
  const privateKey = createPrivateKey(pem);
  const raw = rawPublicKeyOf(privateKey, 'ed25519');
  const tufKey = tufKeyFor('ed25519', raw);
  const handle = softwareKeyHandle(privateKey, 'ed25519');
  return { role, keyId: tufKeyId(tufKey), tufKey, keyType: 'ed25519', publicKey: raw, createdAt: new Date('2026-01-01T00:00:00Z'), async sign(r: any) { return handle.signRaw(r.message); }, async close() {} };
}
`,
  // Next to this checkout's node_modules, where the external packages resolve from.
  join(repoRoot, 'node_modules', '.cache', 'airlock-bench', `release-cost-${process.pid}.mjs`),
  { resolveDir: tree, external: ['ssh2', '@aws-sdk/client-s3', 'pkcs11js'] },
);
const keys = Object.fromEntries(ROLES.map((r) => [r, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' })]));
writeFileSync(join(work, 'keys.json'), JSON.stringify(keys), { mode: 0o600 });

function step(name, arg = '') {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, import.meta.filename, '--child', name, work, bundle, arg], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${name} failed: ${r.stderr}`);
  const [seconds, kib] = r.stderr.trim().split('\n').at(-1).split(' ').map(Number);
  return { seconds, peakRssMiB: Math.round(kib / 1024) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
try {
  log(`building a repository of ${targets} targets (${tree})`);
  const build = step('build', String(targets));
  // The host already holds the history, and an earlier publish has warmed the digest cache.
  cpSync(join(work, 'repository'), join(work, 'host'), { recursive: true, filter: (src) => !src.endsWith('.airlock-manifest') });
  const seed = step('publish');
  log(`built in ${build.seconds} s; seeding publish ${seed.seconds} s`);
  const release = [];
  const publish = [];
  for (let i = 0; i < runs; i++) {
    release.push(step('release', `2.0.${i}`));
    publish.push(step('publish', join(work, 'publish.json')));
    log(`run ${i + 1}: release ${release.at(-1).seconds} s / ${release.at(-1).peakRssMiB} MiB, publish ${publish.at(-1).seconds} s / ${publish.at(-1).peakRssMiB} MiB`);
  }
  const uploaded = JSON.parse(readFileSync(join(work, 'publish.json'), 'utf8'));
  const result = {
    tree,
    targets,
    runs,
    release: { seconds: median(release.map((r) => r.seconds)), peakRssMiB: Math.max(...release.map((r) => r.peakRssMiB)) },
    publish: { seconds: median(publish.map((r) => r.seconds)), peakRssMiB: Math.max(...publish.map((r) => r.peakRssMiB)), ...uploaded },
  };
  if (json) console.log(JSON.stringify(result));
  else console.log(`${targets} targets: release of one target ${result.release.seconds} s (peak ${result.release.peakRssMiB} MiB), publish ${result.publish.seconds} s (peak ${result.publish.peakRssMiB} MiB, ${uploaded.uploaded} uploaded, ${uploaded.skipped} skipped); medians of ${runs}`);
} finally {
  rmSync(bundle, { force: true });
  if (!process.argv.includes('--keep')) rmSync(work, { recursive: true, force: true });
}
