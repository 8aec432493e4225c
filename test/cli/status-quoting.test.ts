// `airlock status`'s WARNING line as a user pastes it (security review), built CLI: an
// unfinished import of an archive whose path holds spaces, quotes, `$` and a backquote
// names the command to run again quoted so that sh reads back exactly that path; one
// whose path holds a newline or an escape sequence stays one line, shows the path
// escaped and offers no command to paste.
import { spawnSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { importArchive } from '../../lib/repo/import.js';
import { importJournalPath } from '../../lib/repo/import-journal.js';
import type { TerminalPaths } from '../../lib/terminal/home.js';
import { initCliTerminal, type CliTerminal } from '../support/cli-terminal.js';
import { writeArchive } from '../support/import-archive.js';
import { memorySigner } from '../support/memory-signer.js';

let work: string;
let paths: TerminalPaths;
let airlock: CliTerminal['airlock'];
const SLOW = 180_000;

/** Moves the archive's first batch into the copy and stops before signing: status warns of it. */
async function interruptedImport(archive: string, project: string): Promise<string> {
  await writeArchive(archive, [{ project, version: '1.0.0', files: { 'a.txt': 'a\n', 'b.txt': 'b\n' } }]);
  const journal = await importJournalPath(join(paths.home, 'imports'), archive);
  const signers = { targets: memorySigner('targets'), snapshot: memorySigner('snapshot'), timestamp: memorySigner('timestamp') };
  await expect(
    importArchive(paths.repository, paths.staging, archive, signers, { now: new Date(), expiryDays: DEFAULT_EXPIRY_DAYS, batchTargets: 2, compat: 'tuf', name: 'Quoting', journal, onBatch: () => { throw new Error('interrupted'); } }),
  ).rejects.toThrow('interrupted');
  return journal.source;
}

beforeAll(async () => {
  ({ work, paths, airlock } = await initCliTerminal('Quoting'));
}, SLOW);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('airlock status, an unfinished import of an archive with an awkward path', () => {
  it('quotes the command to run again so that sh reads back that path', async () => {
    const source = await interruptedImport(join(work, `my "archive" it's $HOME \`id\`; touch pwned`), 'quoted');
    const r = airlock(['status']);
    expect(r.status, r.stderr).toBe(0);
    const warnings = r.stdout.split('\n').filter((l) => l.startsWith('WARNING: an unfinished import'));
    expect(warnings).toHaveLength(1);
    const command = /run `(airlock import .*)` again to finish it$/.exec(warnings[0]!)?.[1];
    expect(command).toBeDefined();
    // Pasted into sh, the command is these three words and runs nothing else.
    const sh = spawnSync('sh', ['-c', `set -- ${command}; printf '%s\\0' "$@"`], { cwd: work, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/nonexistent' } });
    expect(sh.status, sh.stderr).toBe(0);
    expect(sh.stdout.split('\0').slice(0, -1)).toEqual(['airlock', 'import', source]);
  }, SLOW);

  it('keeps the warning on one line and offers no command when the path holds a newline or an escape sequence', async () => {
    const source = await interruptedImport(join(work, 'evil\nrm -rf ~ \u001b[2J'), 'escaped');
    const r = airlock(['status']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('\u001b');
    expect(r.stdout.split('\n').some((l) => l.startsWith('rm -rf'))).toBe(false);
    const warning = r.stdout.split('\n').find((l) => l.startsWith('WARNING: an unfinished import') && l.includes('evil'));
    expect(warning).toContain(`${join(work, 'evil')}\\nrm -rf ~ \\x1b[2J'`);
    expect(warning).toContain('run `airlock import` again on that archive');
    expect(warning).not.toMatch(/`airlock import '/);
    // A release directory made by hand is no release, reported apart, its name escaped too.
    await mkdir(join(paths.repository, 'releases', 'handmade', '1.0\u001b[2J'), { recursive: true });
    const hand = airlock(['status']);
    expect(hand.stdout).not.toContain('\u001b');
    expect(hand.stdout).toContain("WARNING: 1 release directory in the copy that no signed metadata lists");
    expect(hand.stdout).toContain("'releases/handmade/1.0\\x1b[2J'");
    expect((airlock(['status', '--json']).json as { unsignedReleaseDirectories: string[] }).unsignedReleaseDirectories).toEqual(['handmade/1.0\u001b[2J']);
    // --json carries the path as it is.
    expect((airlock(['status', '--json']).json as { unfinishedImports: { source: string }[] }).unfinishedImports.map((i) => i.source)).toContain(source);
  }, SLOW);
});
