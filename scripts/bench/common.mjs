// What the benchmarks do alike: options, an incompressible payload kept between runs,
// one esbuild bundle of the TypeScript under test (so a child needs neither a build nor
// a TS loader), a throwaway Signer, and each contender timed as its own process under
// GNU time (`/usr/bin/time -f '%e %M'`), so wall time and peak RSS are the child's own.
import { spawnSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, randomFillSync, sign as cryptoSign } from 'node:crypto';
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The value after `--name` on the command line, or `fallback`. */
export function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : process.argv[i + 1];
}

/**
 * The options every benchmark takes — `--size-mib N`, `--runs N`, `--json` (the report as
 * JSON on stdout), `--keep` (leave the work directory) — with this script's defaults, and
 * `log`, a progress line on stderr that --json keeps quiet.
 */
export function benchOptions({ sizeMiB, runs }) {
  const json = process.argv.includes('--json');
  return {
    sizeMiB: Number(option('--size-mib', String(sizeMiB))),
    runs: Number(option('--runs', String(runs))),
    json,
    keep: process.argv.includes('--keep'),
    log: (msg) => {
      if (!json) process.stderr.write(`${msg}\n`);
    },
  };
}

export function must(cmd, argv, options = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', ...options });
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed: ${r.error?.message ?? r.stderr}`);
  return r;
}

/** Writes `sizeMiB` of pseudo-random (incompressible) bytes to `file`, unless it already holds that many. */
export async function randomPayload(file, sizeMiB, log = () => undefined) {
  if (existsSync(file) && statSync(file).size === sizeMiB * 1024 * 1024) return;
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

/** Reads `file` once, so every contender reads it from the page cache. */
export function warmPageCache(file) {
  must('sh', ['-c', 'cat "$1" > /dev/null', 'sh', file]);
}

/** Bundles `contents` (TypeScript, imports relative to the repository, or to `resolveDir`: another checkout) into one .mjs. */
export async function bundleTs(contents, outfile, { external = [], resolveDir = repoRoot } = {}) {
  const esbuild = await import('esbuild');
  await esbuild.build({
    stdin: { contents, resolveDir, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external,
    outfile,
    logLevel: 'error',
  });
  return outfile;
}

/** A Signer (lib/keys/signer.ts) for `role` over an Ed25519 private KeyObject: keys made for the benchmark only. */
export function benchSigner(role, privateKey = generateKeyPairSync('ed25519').privateKey) {
  const der = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return {
    role,
    keyId: 'bench',
    tufKey: undefined,
    publicKey: new Uint8Array(der.subarray(der.length - 32)),
    createdAt: new Date('2026-01-01T00:00:00Z'),
    async sign(req) {
      return new Uint8Array(cryptoSign(null, req.message, privateKey));
    },
  };
}

/**
 * Runs `argv` `runs` times under GNU time (`before` each run, `check` after) and returns
 * the fastest: { seconds, maxRssKiB }.
 */
export function bestOf(name, argv, runs, { before, check } = {}) {
  let best;
  for (let i = 0; i < runs; i++) {
    before?.();
    const r = spawnSync('/usr/bin/time', ['-f', '%e %M', ...argv], { encoding: 'utf8', cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`${name} failed: ${r.stderr}`);
    check?.();
    const [seconds, maxRssKiB] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
    if (!best || seconds < best.seconds) best = { seconds, maxRssKiB };
  }
  return best;
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** One run of `cmd` (a shell command) under GNU time: { seconds, peakRssMiB }. */
export function timedShell(cmd, { cwd = repoRoot } = {}) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', 'sh', '-c', cmd], { encoding: 'utf8', cwd, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  const [seconds, kib] = r.stderr.trim().split('\n').at(-1).split(' ').map(Number);
  return { seconds, peakRssMiB: Math.round(kib / 1024) };
}

/**
 * Paired timing: one warm-up of each, then `runs` rounds of A then B (A B A B …), so
 * both see the same drift of a shared machine. Returns each side's median seconds and
 * peak RSS, and the median of the per-round ratios A/B — the figure to quote.
 */
export function paired(a, b, { runs = 5, before } = {}) {
  before?.();
  timedShell(a);
  before?.();
  timedShell(b);
  const as = [];
  const bs = [];
  for (let i = 0; i < runs; i++) {
    before?.();
    as.push(timedShell(a));
    before?.();
    bs.push(timedShell(b));
  }
  return {
    a: { seconds: median(as.map((r) => r.seconds)), peakRssMiB: Math.max(...as.map((r) => r.peakRssMiB)) },
    b: { seconds: median(bs.map((r) => r.seconds)), peakRssMiB: Math.max(...bs.map((r) => r.peakRssMiB)) },
    ratio: Number(median(as.map((r, i) => r.seconds / Math.max(bs[i].seconds, 0.001))).toFixed(2)),
    rounds: runs,
  };
}
