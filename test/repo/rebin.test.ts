// Issue 19.3: bins sized like PEP 458 and re-binned when they outgrow their size. The
// size limit is lowered here so that a few releases cross it; a client that trusted the
// old layout (tuf-js, and airlock-verify's Updater with its state directory) refreshes
// and finds a target that moved bins, and a fresh client does too.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metadataFileName } from '../../lib/core/tuf-metadata.js';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { allBinNames, binFor, bitLengthFor, layoutOf, rebinnedLayout, type BinLayout } from '../../lib/repo/hash-bins.js';
import { initRepository } from '../../lib/repo/init-repository.js';
import { LocalRepository } from '../../lib/repo/local-repository.js';
import { releaseToRepository, type ReleaseInput } from '../../lib/repo/release.js';
import { metadataEdit } from '../../lib/repo/transaction.js';
import { Updater } from '../../lib/verify/index.js';
import { memorySigner } from '../support/memory-signer.js';
import { tufJsClient, type TufJsClient } from '../support/tufjs-client.js';
import { serveDirectory, type StaticServer } from '../support/static-http.js';

const MAX_BIN_BYTES = 2500;
const hashBins = { afterTargets: 2, layout: { bitLength: 1, namePrefix: 'bins' }, maxBinBytes: MAX_BIN_BYTES };
const options = { now: new Date(), expiryDays: DEFAULT_EXPIRY_DAYS, name: 'Rebin', hashBins };
const signers = { targets: memorySigner('targets'), snapshot: memorySigner('snapshot'), timestamp: memorySigner('timestamp') };
let work: string;
let repoDir: string;
let server: StaticServer;

async function release(version: string): Promise<void> {
  const path = join(work, `${version}.tar.gz`);
  await writeFile(path, `app ${version}\n`);
  const input: ReleaseInput = { project: 'app', version, commit: 'a'.repeat(40), branch: `release/${version}`, sourceDateEpoch: 1, artifacts: [{ name: 'app.tar.gz', path }], provenance: new TextEncoder().encode('{}') };
  await releaseToRepository(repoDir, join(work, 'staging'), input, signers, options);
}

async function layoutNow(): Promise<BinLayout | undefined> {
  return layoutOf((await new LocalRepository(repoDir).current()).targets.signed.delegations);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'airlock-rebin-'));
  repoDir = join(work, 'repository');
  await mkdir(join(work, 'staging'));
  await initRepository(repoDir, join(work, 'staging'), { ...signers, root: [memorySigner('root')], rootThreshold: 1 }, options);
  server = await serveDirectory(repoDir);
});
afterAll(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

describe('bin sizing', () => {
  it('chooses 2^k bins for ~50–100 KB of metadata each, PEP 458 style', () => {
    expect(bitLengthFor(0, 8)).toBe(8);
    // 1,000,000 targets at ~600 bytes: 2^13 bins of ~73 KB.
    expect(bitLengthFor(600e6, 1)).toBe(13);
    expect(rebinnedLayout({ bitLength: 8, namePrefix: 'bins' }, Array(256).fill(90 * 1024), 'bins')).toBeUndefined();
    expect(rebinnedLayout({ bitLength: 8, namePrefix: 'bins' }, Array(256).fill(110 * 1024), 'bins')).toEqual({ bitLength: 9, namePrefix: 'bins9' });
  });
});

describe('re-binning when the bins outgrow their size', () => {
  let tufjs: TufJsClient;
  const stateDir = (): string => join(work, 'verify-state');
  const ours = async (): Promise<Updater> => {
    const u = new Updater({ trustedRoot: await readFile(join(repoDir, 'keys', 'root.json')), stateDir: stateDir(), sources: [server.url] });
    await u.refresh();
    return u;
  };
  const download = async (u: Updater, path: string): Promise<string> => {
    const info = await u.getTargetInfo(path);
    expect(info, path).toBeDefined();
    const out = join(work, 'dl');
    await u.downloadTarget(info!, out);
    return readFile(out, 'utf8');
  };

  it('a new targets version delegates to more bins under a new prefix; clients on the old layout follow', async () => {
    await release('1.0.0');
    await release('1.1.0');
    const first = await layoutNow();
    expect(first).toEqual({ bitLength: 1, namePrefix: 'bins' });

    // Clients that trust the first layout, with its bins in their state.
    tufjs = tufJsClient(await readFile(join(repoDir, 'keys', 'root.json')), server.url);
    expect((await tufjs.download('app/1.0.0/app.tar.gz')).toString()).toBe('app 1.0.0\n');
    expect(await download(await ours(), 'app/1.0.0/app.tar.gz')).toBe('app 1.0.0\n');

    const repo = new LocalRepository(repoDir);
    let version = 2;
    while ((await layoutNow())?.namePrefix === 'bins' && version < 20) {
      const before = await repo.current();
      const lengths = allBinNames(first!).map((b) => before.snapshot.signed.meta[metadataFileName(b)]!.length ?? 0);
      const edit = metadataEdit(before, before.root.signed, { paths: [`app/1.${version}.0/app.tar.gz`], forced: [] }, hashBins);
      // The plan says it before any key is touched: the next layout and every one of its bins.
      expect(edit.next !== undefined).toBe(lengths.reduce((a, b) => a + b, 0) / 2 > MAX_BIN_BYTES);
      await release(`1.${version++}.0`);
    }
    const after = await repo.current();
    const next = layoutOf(after.targets.signed.delegations)!;
    expect(next).toEqual({ bitLength: 2, namePrefix: 'bins2' });
    expect(after.targets.signed.targets).toEqual({});
    // Every target lives in its new bin; the old bins stay listed in snapshot (a client
    // refuses a snapshot that drops a file), and nothing delegates to them.
    const all = Array.from({ length: version - 1 }, (_, i) => `app/1.${i}.0/app.tar.gz`);
    for (const p of all) {
      const bin = await repo.readDelegated(after.snapshot.signed, binFor(next, p));
      expect(bin?.signed.targets[p], p).toBeDefined();
    }
    for (const b of allBinNames(first!)) expect(after.snapshot.signed.meta[`${b}.json`], b).toBeDefined();
    expect(allBinNames(next).every((b) => after.snapshot.signed.meta[`${b}.json`]?.version === 1)).toBe(true);

    // The old clients refresh onto the new layout and download a target that moved bins, and a new one.
    // Released (and downloaded) under the first layout: its bin is another role now.
    const moved = 'app/1.1.0/app.tar.gz';
    expect([binFor(first!, moved).startsWith('bins-'), binFor(next, moved).startsWith('bins2-')]).toEqual([true, true]);
    const newest = all.at(-1)!;
    for (const p of [moved, 'app/1.0.0/app.tar.gz', newest]) {
      const expected = `app ${p.split('/')[1]}\n`;
      expect((await tufjs.download(p)).toString()).toBe(expected);
      expect(await download(await ours(), p)).toBe(expected);
    }
    // Fresh clients too.
    const fresh = tufJsClient(await readFile(join(repoDir, 'keys', 'root.json')), server.url);
    expect((await fresh.download(moved)).toString()).toBe(`app ${moved.split('/')[1]}\n`);
    await fresh.remove();
    const freshOurs = new Updater({ trustedRoot: await readFile(join(repoDir, 'keys', 'root.json')), sources: [server.url] });
    await freshOurs.refresh();
    expect(await download(freshOurs, newest)).toBe(`app ${newest.split('/')[1]}\n`);
    await tufjs.remove();
  }, 180_000);
});
