// `airlock import DIR` through the built CLI, on a terminal made by `airlock init`: a bad layout is refused before a passphrase is read or a byte written; --dry-run
// leaves the home byte-identical; an archive of a few releases, imported in batches into
// a repository that crosses into hash bins and published to a directory host, is
// downloaded and verified by airlock-verify and by tuf-js; a re-run imports nothing.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig, writeConfig } from '../../lib/terminal/config.js';
import { terminalPaths, type TerminalPaths } from '../../lib/terminal/home.js';
import { ensureBuilt, runAirlock, treeDigest } from '../support/e2e-cli.js';
import { archiveOf, writeArchive } from '../support/import-archive.js';
import { TEST_PASSPHRASE } from '../support/keys-fixtures.js';
import { serveDirectory, type StaticServer } from '../support/static-http.js';
import { tufJsClient } from '../support/tufjs-client.js';
import { runVerifyCli } from '../support/verify-clients.js';

let work: string;
let paths: TerminalPaths;
let passFile: string;
let server: StaticServer | undefined;
const SLOW = 180_000;

const airlock = (args: string[], withPassphrase = true) => runAirlock([...args, ...(withPassphrase ? ['--passphrase-fd', '3'] : []), '--json'], { env: { AIRLOCK_HOME: paths.home }, fds: withPassphrase ? { 3: passFile } : {} });

beforeAll(async () => {
  await ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'airlock-import-cli-'));
  paths = terminalPaths(join(work, 'home'));
  await mkdir(paths.home, { recursive: true, mode: 0o700 });
  passFile = join(work, 'pass');
  await writeFile(passFile, `${TEST_PASSPHRASE}\n`, { mode: 0o600 });
  const init = airlock(['init', '--name', 'Import']);
  expect(init.status, init.stderr).toBe(0);
  // Few targets before bins, so the import crosses into them.
  await writeConfig(paths, { ...(await readConfig(paths)), hashBins: { afterTargets: 4, bitLength: 3 } });
}, SLOW);

afterAll(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

describe('airlock import', () => {
  it('refuses a bad layout before a passphrase is read or a byte written (E_IMPORT_LAYOUT)', async () => {
    const bad = join(work, 'bad');
    await writeArchive(bad, archiveOf(1, 3, 1));
    // The last release lacks its record: found by the walk, before the first batch.
    await rm(join(bad, 'proj0', '1.2.0', 'release.json'));
    const before = await treeDigest(paths.home);
    const r = airlock(['import', bad], false);
    expect(r.status, r.stderr).toBe(2);
    expect(r.code).toBe('E_IMPORT_LAYOUT');
    expect(await treeDigest(paths.home)).toEqual(before);
  });

  it('--dry-run prints the plan and leaves the terminal home byte-identical', async () => {
    const archive = join(work, 'archive');
    await writeArchive(archive, archiveOf(2, 3, 2));
    const before = await treeDigest(paths.home);
    const r = airlock(['import', archive, '--batch', '4', '--dry-run'], false);
    expect(r.status, r.stderr).toBe(0);
    expect(r.json.plan).toMatchObject({ kind: 'import', releases: 6, targets: 12, projects: 2, batches: 3, compat: 'tuf' });
    expect(r.json.plan.keys.map((k: { role: string }) => k.role)).toEqual(['targets', 'snapshot', 'timestamp']);
    expect(await treeDigest(paths.home)).toEqual(before);
  });

  it('imports the archive in batches; published, airlock-verify and tuf-js download and verify its targets', async () => {
    const archive = join(work, 'archive');
    const r = airlock(['import', archive, '--batch', '4']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ ok: true, releases: 6, targets: 12, batches: 3 });

    const host = join(work, 'host');
    const pub = airlock(['publish', '--to', host], false);
    expect(pub.status, pub.stderr).toBe(0);
    server = await serveDirectory(host);
    const rootFile = join(host, 'keys', 'root.json');
    const target = 'proj1/1.2.0/file-1.txt';
    const cwd = await mkdtemp(join(work, 'dl-'));
    const v = await runVerifyCli(['download', target, '--from', server.url, '--root', rootFile, '-o', join(cwd, 'out')]);
    expect(v.code, v.stderr).toBe(0);
    expect(await readFile(join(cwd, 'out'), 'utf8')).toBe('project 1 version 2 file 1\n');

    const client = tufJsClient(await readFile(rootFile), server.url);
    try {
      expect((await client.download('proj0/1.0.0/file-0.txt')).toString()).toBe('project 0 version 0 file 0\n');
      expect((await client.download(target)).toString()).toBe('project 1 version 2 file 1\n');
    } finally {
      await client.remove();
    }
  }, SLOW);

  it('a re-run of a finished import asks nothing and imports nothing', async () => {
    const before = await treeDigest(paths.home);
    const r = airlock(['import', join(work, 'archive')], false);
    expect(r.status, r.stderr).toBe(0);
    expect(r.json.plan).toMatchObject({ releases: 0, importedTargets: 12 });
    expect(await treeDigest(paths.home)).toEqual(before);
  });
});
