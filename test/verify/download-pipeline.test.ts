// The target download byte pipeline on a large target: hashes on two threads, a deep
// write queue, no listener leak per back-pressure wait, and a refused large target
// leaves nothing behind.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PARALLEL_DIGEST_MIN_BYTES } from '../../lib/core/digest-set.js';
import { Updater } from '../../lib/verify/index.js';
import { expectCode } from '../support/error-codes.js';
import { serveDirectory, type StaticServer } from '../support/static-http.js';
import { RepoSimulator } from '../support/tuf-repo-simulator.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'airlock-verify-pipeline-'));

describe('target download pipeline', () => {
  let sim: RepoSimulator;
  let host: StaticServer;
  const big = randomBytes(PARALLEL_DIGEST_MIN_BYTES + 3_000_017);

  beforeAll(async () => {
    sim = new RepoSimulator();
    sim.addTarget('big/1.0/big.bin', big);
    // Listed with the right sha256 and a wrong sha512: only the worker's hash can refuse it.
    sim.addTarget('big/1.0/wrong-sha512.bin', big);
    const entry = sim.targets.get('targets')!.targets['big/1.0/wrong-sha512.bin']!;
    entry.hashes = { sha256: entry.hashes.sha256!, sha512: '0'.repeat(128) };
    sim.publish();
    host = await serveDirectory(sim.hostDir);
  });
  afterAll(async () => {
    await host.close();
    sim.cleanup();
  });

  for (const kind of ['directory', 'http'] as const) {
    it(`downloads a large target from a ${kind} byte for byte, with no listener-leak warning`, async () => {
      const warnings: string[] = [];
      const onWarning = (w: Error): void => {
        warnings.push(w.name);
      };
      process.on('warning', onWarning);
      try {
        const out = join(tmp(), 'big.bin');
        const updater = new Updater({ trustedRoot: sim.trustedRoot, stateDir: tmp(), sources: [kind === 'http' ? host.url : sim.hostDir] });
        await updater.refresh();
        const info = await updater.requireTargetInfo('big/1.0/big.bin');
        expect(Object.keys(info.hashes).sort()).toEqual(['sha256', 'sha512']);
        expect(await updater.downloadTarget(info, out)).toEqual({ transferred: true });
        expect(readFileSync(out).equals(big)).toBe(true);
        // Warnings are emitted on the next tick.
        await new Promise((r) => setImmediate(r));
        expect(warnings).not.toContain('MaxListenersExceededWarning');
      } finally {
        process.off('warning', onWarning);
      }
    });
  }

  it('never replaces a file that appears at the output name while the target streams in (no check-then-rename race)', async () => {
    const dir = tmp();
    const out = join(dir, 'big.bin');
    const updater = new Updater({ trustedRoot: sim.trustedRoot, stateDir: tmp(), sources: [sim.hostDir] });
    await updater.refresh();
    const info = await updater.requireTargetInfo('big/1.0/big.bin');
    // The name is free when the download starts; someone else's file lands there mid-transfer.
    const planted = (): void => {
      if (!existsSync(out)) writeFileSync(out, 'unrelated');
    };
    const err = await expectCode(updater.downloadTarget(info, out, { onProgress: planted, replace: false }), 'E_OUTPUT_EXISTS');
    expect(err.details).toMatchObject({ path: out });
    expect(readFileSync(out, 'utf8')).toBe('unrelated');
    expect(readdirSync(dir)).toEqual(['big.bin']);
    // Found before the transfer it is refused too; replaced only when replacing is asked for (the default, and --force).
    await expectCode(updater.downloadTarget(info, out, { replace: false }), 'E_OUTPUT_EXISTS');
    expect(await updater.downloadTarget(info, out)).toEqual({ transferred: true });
    expect(readFileSync(out).equals(big)).toBe(true);
  });

  it('refuses a large target whose sha512 (hashed on the worker) does not match, leaving no file', async () => {
    const dir = tmp();
    const updater = new Updater({ trustedRoot: sim.trustedRoot, stateDir: tmp(), sources: [sim.hostDir] });
    await updater.refresh();
    const info = await updater.requireTargetInfo('big/1.0/wrong-sha512.bin');
    const err = await expectCode(updater.downloadTarget(info, join(dir, 'out.bin')), 'E_HASH');
    expect(err.details).toMatchObject({ algorithm: 'sha512' });
    expect(readdirSync(dir)).toEqual([]);
  });
});
