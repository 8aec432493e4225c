// A terminal copy whose metadata was edited by hand (security review), built CLI: a
// targets.json re-indented — the same metadata, not the bytes airlock wrote — makes
// `airlock refresh` and its dry run refuse with E_REPOSITORY_DAMAGED (exit 3) before any
// passphrase is read (the passphrase descriptor given is not open: reading it would be
// E_PASSPHRASE_SOURCE), and status too; with the bytes restored, refresh signs.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metadataFileName } from '../../lib/core/tuf-metadata.js';
import { LocalRepository } from '../../lib/repo/local-repository.js';
import { terminalPaths, type TerminalPaths } from '../../lib/terminal/home.js';
import { ensureBuilt, runAirlock } from '../support/e2e-cli.js';
import { TEST_PASSPHRASE } from '../support/keys-fixtures.js';

let work: string;
let paths: TerminalPaths;
let passFile: string;
const SLOW = 180_000;

const airlock = (args: string[], fds: Record<number, string> = {}) => runAirlock(args, { env: { AIRLOCK_HOME: paths.home }, fds });

beforeAll(async () => {
  await ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'airlock-hand-edited-'));
  paths = terminalPaths(join(work, 'home'));
  await mkdir(paths.home, { recursive: true, mode: 0o700 });
  passFile = join(work, 'pass');
  await writeFile(passFile, `${TEST_PASSPHRASE}\n`, { mode: 0o600 });
  const init = airlock(['init', '--name', 'Edited', '--json', '--passphrase-fd', '3'], { 3: passFile });
  expect(init.status, init.stderr).toBe(0);
}, SLOW);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('a hand-edited metadata file in the terminal copy', () => {
  it('is refused on reading, before any passphrase, by refresh, its dry run and status', async () => {
    const cur = await new LocalRepository(paths.repository).current();
    const file = join(paths.repository, 'metadata', metadataFileName('targets', cur.targets.signed.version));
    const saved = await readFile(file);
    const host = join(work, 'host');
    await writeFile(file, `${JSON.stringify(JSON.parse(saved.toString('utf8')), null, 2)}\n`);
    try {
      // fd 3 is named but not open: a passphrase read would fail E_PASSPHRASE_SOURCE.
      for (const args of [['refresh', '--resign', 'targets', '--to', host, '--json', '--passphrase-fd', '3'], ['refresh', '--dry-run', '--to', host, '--json', '--passphrase-fd', '3'], ['status', '--json']]) {
        const r = airlock(args);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe('E_REPOSITORY_DAMAGED');
        expect(r.status).toBe(3);
        expect(r.stderr).toContain(file);
      }
    } finally {
      await writeFile(file, saved);
    }
    expect(await readFile(file)).toEqual(saved);
    const fine = airlock(['refresh', '--resign', 'targets', '--to', host, '--json', '--passphrase-fd', '3'], { 3: passFile });
    expect(fine.status, fine.stderr).toBe(0);
  }, SLOW);
});
