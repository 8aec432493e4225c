// The arena of the attack suite (TUF's list of attacks, docs/threat-model.md): a
// simulated repository served on loopback HTTP, and two clients that have already
// trusted it once — airlock-verify (the built bundle, with a --state directory) and
// tuf-js (with its own metadata directory). A test then makes the host hostile and
// asserts both refuse, airlock-verify with its stable code, and that airlock-verify's
// trusted state did not change.
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { ErrorCode } from '../../lib/core/errors.js';
import { Updater } from '../../lib/verify/index.js';
import { RepoSimulator, type SimulatorOptions } from './tuf-repo-simulator.js';
import { tufJsClient, type TufJsClient } from './tufjs-client.js';
import { runVerifyCli, snapshotDir, type CliResult } from './verify-clients.js';
import { serveDirectory, type StaticServer } from './static-http.js';

export const TARGET = 'demo/1.0.0/demo-1.0.0.tar.gz';

export function tempDir(prefix = 'airlock-attack-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface Arena {
  sim: RepoSimulator;
  host: StaticServer;
  rootFile: string;
  /** airlock-verify's --state, trusted after one good refresh. */
  state: string;
  tuf: TufJsClient;
  /** Runs the bundle with --state and --from the loopback host (plus `from` mirrors before it if given). */
  airlock(args: string[], options?: { from?: string[] }): Promise<CliResult>;
  close(): Promise<void>;
}

export interface RefusalCheck {
  /** The target downloaded; without it, a refresh. */
  target?: string;
  /** airlock-verify's stable code (or any of several where the order of checks decides). */
  code: ErrorCode | ErrorCode[];
  /** Extra CLI flags (limits). */
  args?: string[];
  /** tuf-js config overrides (its caps and timeouts). */
  tufConfig?: Record<string, unknown>;
  /**
   * What tuf-js's refusal must say (tested against "ErrorClass: message"), so it is seen
   * to refuse for the right reason; it wraps some errors in a RuntimeError with the
   * inner message pasted in.
   */
  tuf?: RegExp;
  /** State files the specification lets change before the refusal (TUF §5.3.8: each newer root). */
  stateMayChange?: string[];
}

/** Runs `attack` in a fresh arena and always tears it down. */
export async function inArena(setup: ((sim: RepoSimulator) => void) | undefined, attack: (a: Arena) => Promise<void>, options: SimulatorOptions = {}): Promise<void> {
  const a = await arena(setup, options);
  try {
    await attack(a);
  } finally {
    await a.close();
  }
}

export async function arena(setup: (sim: RepoSimulator) => void = () => undefined, options: SimulatorOptions = {}): Promise<Arena> {
  const sim = new RepoSimulator(options);
  sim.addTarget(TARGET, 'the real release tarball, version 1.0.0');
  setup(sim);
  sim.publish();
  const host = await serveDirectory(sim.hostDir);
  const rootFile = join(tempDir(), 'root.json');
  writeFileSync(rootFile, sim.trustedRoot);
  const state = join(tempDir(), 'state');
  const airlock = (args: string[], opts: { from?: string[] } = {}): Promise<CliResult> =>
    runVerifyCli([...args, ...[...(opts.from ?? []), host.url].flatMap((f) => ['--from', f]), '--state', state]);
  // The good first run, in-process (the same library the bundle runs): fast, so that
  // short expiries in freeze tests are still current when the attack starts.
  await new Updater({ trustedRoot: sim.trustedRoot, stateDir: state, sources: [host.url] }).refresh();
  const tuf = tufJsClient(sim.trustedRoot, host.url);
  await tuf.fetch();
  return {
    sim,
    host,
    rootFile,
    state,
    tuf,
    airlock,
    close: async () => {
      await host.close();
      sim.cleanup();
    },
  };
}

/** Both clients refuse what the host now serves; airlock-verify's state is unchanged and no output is left. */
export async function expectBothRefuse(a: Arena, check: RefusalCheck): Promise<CliResult> {
  const before = snapshotDir(a.state);
  const out = tempDir('airlock-attack-out-');
  const args = check.target === undefined ? ['refresh', ...(check.args ?? [])] : ['download', check.target, '--out-dir', out, ...(check.args ?? [])];
  const r = await a.airlock(args);
  expect(r.code, r.stderr).toBe(1);
  expect(([] as string[]).concat(check.code), r.stderr).toContain(r.errorCode);
  const after = snapshotDir(a.state);
  for (const f of check.stateMayChange ?? []) {
    delete before[f];
    delete after[f];
  }
  expect(after, 'trusted state unchanged after a refusal').toEqual(before);
  expect(readdirSync(out), 'nothing (partial or not) under the output name').toEqual([]);
  let tufError: unknown;
  try {
    // A client with other config cannot be brought to the same trusted state once the
    // host is hostile, so it starts from a copy of the arena client's trusted metadata.
    const client = check.tufConfig ? await a.tuf.copy(check.tufConfig) : a.tuf;
    await client.fetch(check.target);
  } catch (err) {
    tufError = err;
  }
  expect(tufError, 'tuf-js must refuse too').toBeInstanceOf(Error);
  if (check.tuf) expect(`${(tufError as Error).constructor.name}: ${(tufError as Error).message}`).toMatch(check.tuf);
  return r;
}
