// A terminal copy whose metadata was edited by hand (security review), built CLI: a
// targets.json re-indented — the same metadata, not the bytes airlock wrote — makes
// `airlock refresh` and its dry run refuse with E_REPOSITORY_DAMAGED (exit 3) before any
// passphrase is read (the passphrase descriptor given is not open: reading it would be
// E_PASSPHRASE_SOURCE), and status too; with the bytes restored, refresh signs.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metadataFileName } from '../../lib/core/tuf-metadata.js';
import { LocalRepository } from '../../lib/repo/local-repository.js';
import type { TerminalPaths } from '../../lib/terminal/home.js';
import { initCliTerminal, type CliTerminal } from '../support/cli-terminal.js';

let work: string;
let paths: TerminalPaths;
let passFile: string;
let airlock: CliTerminal['airlock'];
const SLOW = 180_000;

beforeAll(async () => {
  ({ work, paths, passFile, airlock } = await initCliTerminal('Edited'));
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
