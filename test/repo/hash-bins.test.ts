import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { allBinNames, binFor } from '../../lib/repo/hash-bins.js';
import { initRepository } from '../../lib/repo/init-repository.js';
import { LocalRepository } from '../../lib/repo/local-repository.js';
import { releaseToRepository, type ReleaseInput } from '../../lib/repo/release.js';
import { rotateKey } from '../../lib/repo/rotation.js';
import { Updater } from '../../lib/verify/index.js';
import { memorySigner } from '../support/memory-signer.js';
import { tufJsUpdater } from '../support/tufjs-client.js';
import { serveDirectory, type StaticServer } from '../support/static-http.js';

const layout = { bitLength: 4, namePrefix: 'bins' };
const options = { now: new Date(), expiryDays: DEFAULT_EXPIRY_DAYS, name: 'Bins', hashBins: { afterTargets: 3, layout } };
const signers = { targets: memorySigner('targets'), snapshot: memorySigner('snapshot'), timestamp: memorySigner('timestamp') };
const rootSigner = memorySigner('root');
let work: string;
let repoDir: string;
let server: StaticServer;

async function release(version: string, names: string[]): Promise<Awaited<ReturnType<typeof releaseToRepository>>> {
  const artifacts = [];
  for (const name of names) {
    const path = join(work, `${version}-${name}`);
    await writeFile(path, `${name} ${version}`);
    artifacts.push({ name, path });
  }
  const input: ReleaseInput = { project: 'big', version, commit: 'b'.repeat(40), branch: `release/${version}`, sourceDateEpoch: 1, artifacts, provenance: new TextEncoder().encode('{}') };
  return releaseToRepository(repoDir, join(work, 'staging'), input, signers, options);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'airlock-bins-'));
  repoDir = join(work, 'repository');
  await mkdir(join(work, 'staging'));
  await initRepository(repoDir, join(work, 'staging'), { ...signers, root: [rootSigner], rootThreshold: 1 }, options);
  server = await serveDirectory(repoDir);
});
afterAll(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

describe('hash bins (succinct delegations) past the configured number of targets', () => {
  it('stays flat while small', async () => {
    await release('1.0.0', ['a.tar.gz']);
    const current = await new LocalRepository(repoDir).current();
    expect(current.targets.signed.delegations).toBeUndefined();
    expect(Object.keys(current.targets.signed.targets)).toHaveLength(2);
  });

  it('moves every target into its bin when the repository grows past the line', async () => {
    await release('1.1.0', ['a.tar.gz', 'b.zip']);
    const repo = new LocalRepository(repoDir);
    const current = await repo.current();
    expect(current.targets.signed.targets).toEqual({});
    expect(current.targets.signed.delegations?.succinct_roles).toEqual({ keyids: [signers.targets.keyId], threshold: 1, bit_length: 4, name_prefix: 'bins' });
    for (const bin of allBinNames(layout)) expect(current.snapshot.signed.meta[`${bin}.json`]?.version, bin).toBe(1);
    const path = 'big/1.0.0/a.tar.gz';
    const bin = await repo.readDelegated(current.snapshot.signed, binFor(layout, path));
    expect(bin?.signed.targets[path]?.length).toBe('a.tar.gz 1.0.0'.length);
  });

  it('re-signs only the bins a later release touches', async () => {
    const before = await new LocalRepository(repoDir).current();
    const r = await release('1.2.0', ['c.zip']);
    const after = await new LocalRepository(repoDir).current();
    expect(after.targets.signed.version).toBe(before.targets.signed.version);
    const touched = new Set(r.targets.map((t) => binFor(layout, t.target)));
    const newFiles = r.files.filter((f) => /^metadata\/\d+\.bins-/.test(f)).map((f) => f.replace(/^metadata\/\d+\./, '').replace(/\.json$/, ''));
    expect(new Set(newFiles)).toEqual(touched);
    expect(await readdir(join(repoDir, 'metadata'))).toContain('timestamp.json');
  });

  it('tuf-js and airlock-verify find targets through the bins, old and new', async () => {
    const paths = ['big/1.0.0/a.tar.gz', 'big/1.1.0/b.zip', 'big/1.2.0/c.zip'];
    const { updater, dir } = await tufJsUpdater(server.url, join(repoDir, 'keys', 'root.json'));
    await updater.refresh();
    const ours = new Updater({ trustedRoot: await readFile(join(repoDir, 'keys', 'root.json')), sources: [server.url] });
    await ours.refresh();
    for (const p of paths) {
      const info = await updater.getTargetInfo(p);
      expect(await readFile(await updater.downloadTarget(info!, join(dir, 'x')), 'utf8')).toBe(`${p.split('/')[2]} ${p.split('/')[1]}`);
      const mine = await ours.getTargetInfo(p);
      await ours.downloadTarget(mine!, join(dir, 'y'));
      expect(await readFile(join(dir, 'y'), 'utf8')).toBe(`${p.split('/')[2]} ${p.split('/')[1]}`);
    }
    expect(await updater.getTargetInfo('big/9.9.9/none')).toBeUndefined();
    await rm(dir, { recursive: true, force: true });
  });

  it('follows a rotation of the targets key: every bin is re-signed and delegated to the new key', async () => {
    const newKey = memorySigner('targets');
    await rotateKey(repoDir, join(work, 'staging'), {
      role: 'targets',
      newKey,
      rootSigners: [rootSigner],
      online: { snapshot: [signers.snapshot], timestamp: [signers.timestamp] },
      now: new Date(),
      expiryDays: DEFAULT_EXPIRY_DAYS,
    });
    const repo = new LocalRepository(repoDir);
    const current = await repo.current();
    expect(current.targets.signed.delegations?.succinct_roles?.keyids).toEqual([newKey.keyId]);
    for (const bin of allBinNames(layout)) {
      const env = await repo.readDelegated(current.snapshot.signed, bin);
      expect(env?.signatures.map((x) => x.keyid), bin).toEqual([newKey.keyId]);
    }
    const { updater, dir } = await tufJsUpdater(server.url, join(repoDir, 'keys', 'root.json'));
    await updater.refresh();
    expect(await updater.getTargetInfo('big/1.2.0/c.zip')).toBeDefined();
    const ours = new Updater({ trustedRoot: await readFile(join(repoDir, 'metadata', '1.root.json')), sources: [server.url] });
    await ours.refresh();
    expect(await ours.getTargetInfo('big/1.0.0/a.tar.gz')).toBeDefined();
    await rm(dir, { recursive: true, force: true });
  });
});
