import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Updater } from '../../lib/verify/index.js';
import { RepoSimulator } from '../support/tuf-repo-simulator.js';
import { serveDirectory, type StaticServer } from '../support/static-http.js';
import { tufJsClient } from '../support/tufjs-client.js';
import { snapshotDir } from '../support/verify-clients.js';
import { expectCode } from '../support/error-codes.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'airlock-verify-test-'));

describe('Updater', () => {
  let sim: RepoSimulator;
  let host: StaticServer;

  beforeAll(async () => {
    sim = new RepoSimulator();
    sim.addTarget('demo/1.0.0/demo-1.0.0.tar.gz', 'tarball bytes', 'targets', { airlock: { project: 'demo', version: '1.0.0' } });
    sim.addTarget('demo/1.0.0/notes.txt', 'notes');
    sim.publish();
    host = await serveDirectory(sim.hostDir);
  });
  afterAll(async () => {
    await host.close();
    sim.cleanup();
  });

  for (const kind of ['directory', 'http'] as const) {
    it(`downloads a target from a ${kind} and keeps trusted state`, async () => {
      const state = tmp();
      const out = join(tmp(), 'out.tgz');
      const source = kind === 'http' ? host.url : sim.hostDir;
      const updater = new Updater({ trustedRoot: sim.trustedRoot, stateDir: state, sources: [source] });
      await updater.refresh();
      const info = await updater.getTargetInfo('demo/1.0.0/demo-1.0.0.tar.gz');
      expect(info).toMatchObject({ path: 'demo/1.0.0/demo-1.0.0.tar.gz', length: 13, custom: { airlock: { project: 'demo' } } });
      expect(await updater.downloadTarget(info!, out)).toEqual({ transferred: true });
      expect(readFileSync(out, 'utf8')).toBe('tarball bytes');
      expect(await updater.downloadTarget(info!, out)).toEqual({ transferred: false });
      await updater.verifyLocalFile(info!, out);
      expect(Object.keys(snapshotDir(state))).toEqual(['pinned-root.sha256', 'root.json', 'snapshot.json', 'targets.json', 'timestamp.json']);
      expect(await updater.getTargetInfo('demo/1.0.0/absent')).toBeUndefined();
    });
  }

  it('refuses a local file with other bytes (E_HASH) or length (E_LENGTH)', async () => {
    const updater = new Updater({ trustedRoot: sim.trustedRoot, sources: [sim.hostDir] });
    const info = (await updater.getTargetInfo('demo/1.0.0/notes.txt'))!;
    const f = join(tmp(), 'notes.txt');
    writeFileSync(f, 'nOtes');
    await expectCode(updater.verifyLocalFile(info, f), 'E_HASH');
    writeFileSync(f, 'notes!');
    await expectCode(updater.verifyLocalFile(info, f), 'E_LENGTH');
  });

  it('follows root rotations and a new timestamp key, across runs with one state', async () => {
    const s = new RepoSimulator();
    s.addTarget('a/1/a.txt', 'a');
    s.publish();
    const state = tmp();
    await new Updater({ trustedRoot: s.trustedRoot, stateDir: state, sources: [s.hostDir] }).refresh();
    s.rotateKeys('root', 2, 2);
    s.rotateKeys('timestamp');
    s.addTarget('a/2/a.txt', 'a2');
    s.publish();
    const u = new Updater({ stateDir: state, sources: [s.hostDir] });
    await u.refresh();
    expect(u.trusted!.root.version).toBe(3);
    expect(await u.getTargetInfo('a/2/a.txt')).toBeDefined();
    expect(JSON.parse(readFileSync(join(state, 'root.json'), 'utf8')).signed.version).toBe(3);
    s.cleanup();
  });

  it('searches delegations: path patterns, terminating roles, hash prefixes, succinct bins', async () => {
    const s = new RepoSimulator();
    s.delegate('targets', { name: 'proj-a', paths: ['a/*/*'], terminating: true });
    s.delegate('targets', { name: 'other', paths: ['a/*/*', 'b/*'] });
    s.delegate('proj-a', { name: 'nested', paths: ['a/2/*'] });
    s.delegate('targets', { name: 'hashed', path_hash_prefixes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'] });
    s.addTarget('a/1/x', 'x1', 'proj-a');
    s.addTarget('a/2/y', 'y2', 'nested');
    s.addTarget('a/3/z', 'z', 'other'); // behind the terminating proj-a: never reachable
    s.addTarget('b/q', 'q', 'other');
    s.addTarget('c/hashed', 'h', 'hashed');
    s.publish();
    const u = new Updater({ trustedRoot: s.trustedRoot, sources: [s.hostDir] });
    expect((await u.getTargetInfo('a/1/x'))?.length).toBe(2);
    expect((await u.getTargetInfo('a/2/y'))?.length).toBe(2);
    expect(await u.getTargetInfo('a/3/z')).toBeUndefined();
    expect((await u.getTargetInfo('b/q'))?.length).toBe(1);
    expect((await u.getTargetInfo('c/hashed'))?.length).toBe(1);
    s.cleanup();

    const bins = new RepoSimulator();
    const names = bins.delegateSuccinct('targets', 4, 'bins');
    const { succinctRoleFor } = await import('../../lib/verify/delegations.js');
    const succinct = bins.targets.get('targets')!.delegations!.succinct_roles!;
    for (const p of ['p/1/a', 'p/1/b', 'p/2/c']) bins.addTarget(p, p, succinctRoleFor(succinct, p));
    bins.publish();
    expect(names).toHaveLength(16);
    const ub = new Updater({ trustedRoot: bins.trustedRoot, sources: [bins.hostDir] });
    for (const p of ['p/1/a', 'p/1/b', 'p/2/c']) expect((await ub.getTargetInfo(p))?.length).toBe(p.length);
    const fetchedBins = readdirSync(bins.path('metadata')).length;
    expect(fetchedBins).toBeGreaterThan(3);
    bins.cleanup();
  });

  it('tuf-js reads the simulator the same way (the simulator is a real TUF repository)', async () => {
    const client = tufJsClient(sim.trustedRoot, host.url);
    expect((await client.fetch('demo/1.0.0/demo-1.0.0.tar.gz'))?.toString()).toBe('tarball bytes');
  });

  it('reads a repository without consistent snapshots (plain file names), as tuf-js does', async () => {
    const s = new RepoSimulator({ consistentSnapshot: false });
    s.addTarget('p/1/f.txt', 'plain names');
    s.publish();
    s.addTarget('p/2/f.txt', 'second');
    s.publish();
    const h = await serveDirectory(s.hostDir);
    try {
      expect(readdirSync(s.path('metadata')).sort()).toEqual(['1.root.json', 'snapshot.json', 'targets.json', 'timestamp.json']);
      const u = new Updater({ trustedRoot: s.trustedRoot, sources: [h.url] });
      const out = join(tmp(), 'f');
      await u.downloadTarget((await u.getTargetInfo('p/2/f.txt'))!, out);
      expect(readFileSync(out, 'utf8')).toBe('second');
      expect((await tufJsClient(s.trustedRoot, h.url).fetch('p/2/f.txt'))?.toString()).toBe('second');
    } finally {
      await h.close();
      s.cleanup();
    }
  });

  it('skips a mirror that fails and warns', async () => {
    const warnings: string[] = [];
    const u = new Updater({ trustedRoot: sim.trustedRoot, sources: [join(tmp(), 'nothing-here'), sim.hostDir], onWarning: (w) => warnings.push(w) });
    const out = join(tmp(), 'x');
    await u.downloadTarget((await u.getTargetInfo('demo/1.0.0/notes.txt'))!, out);
    expect(existsSync(out)).toBe(true);
    expect(warnings.some((w) => w.includes('E_NOT_FOUND'))).toBe(true);
  });
});
