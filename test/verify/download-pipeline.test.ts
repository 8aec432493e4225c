// The target download byte pipeline on a large target: every hash on a worker while the
// main thread writes, no listener leak per back-pressure wait, and a refused large target
// leaves nothing behind; a file longer than listed is read one byte past its length, no further.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PARALLEL_DIGEST_MIN_BYTES } from '../../lib/core/digest-set.js';
import { fetchBytes, fetchTargetToFile } from '../../lib/verify/fetch-bounded.js';
import { DEFAULT_LIMITS, DirectorySource, Updater, type FetchRequest, type Source } from '../../lib/verify/index.js';
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

/** A source that counts the bytes it hands over (what the download took from the host). */
class CountingSource implements Source {
  readonly name: string;
  given = 0;
  constructor(private readonly inner: Source) {
    this.name = inner.name;
  }
  async *fetch(request: FetchRequest): AsyncIterable<Uint8Array> {
    for await (const chunk of this.inner.fetch(request)) {
      this.given += chunk.byteLength;
      yield chunk;
    }
  }
}

describe('bounded target reads', () => {
  const sha = (a: string, b: Uint8Array): string => createHash(a).update(b).digest('hex');

  for (const size of [3_000_000, PARALLEL_DIGEST_MIN_BYTES + 1_000_003]) {
    it(`refuses a ${size}-byte target served longer than listed after reading exactly length + 1 bytes, leaving no file`, async () => {
      const host = tmp();
      mkdirSync(join(host, 'targets'));
      const listed = randomBytes(size);
      // The host's file is the listed bytes and 5 MiB more: the hashes of the listed part match.
      writeFileSync(join(host, 'targets', 't.bin'), Buffer.concat([listed, randomBytes(5 << 20)]));
      const source = new CountingSource(new DirectorySource(host));
      const outDir = tmp();
      const err = await expectCode(
        fetchTargetToFile(
          { source, path: ['targets', 't.bin'], maxBytes: size, trustedLength: true, limits: DEFAULT_LIMITS },
          { length: size, hashes: { sha256: sha('sha256', listed), sha512: sha('sha512', listed) } },
          join(outDir, 't.bin'),
        ),
        'E_LENGTH',
      );
      expect(err).toBeDefined();
      expect(source.given).toBe(size + 1);
      expect(readdirSync(outDir)).toEqual([]);
    });
  }

  it('a whole small file read in many chunks keeps every chunk (chunks are reused only when the reader says so)', async () => {
    const host = tmp();
    const data = randomBytes(3 * (1 << 20) + 12_345);
    writeFileSync(join(host, 'm.json'), data);
    const bytes = await fetchBytes({ source: new DirectorySource(host), path: ['m.json'], maxBytes: data.length, trustedLength: false, limits: DEFAULT_LIMITS });
    expect(Buffer.from(bytes).equals(data)).toBe(true);
  });
});
