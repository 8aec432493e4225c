// A terminal made by the built CLI for tests that run `airlock` as a user does: a fresh
// $AIRLOCK_HOME (0700) in a temporary directory, a passphrase file (0600), `airlock init`.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { terminalPaths, type TerminalPaths } from '../../lib/terminal/home.js';
import { ensureBuilt, runAirlock, type AirlockRun } from './e2e-cli.js';
import { TEST_PASSPHRASE } from './keys-fixtures.js';

export interface CliTerminal {
  /** The temporary directory holding it all: remove it after the tests. */
  work: string;
  paths: TerminalPaths;
  /** Holds the passphrase: give it as a descriptor (`{ 3: passFile }` with --passphrase-fd 3). */
  passFile: string;
  /** `airlock ARGS` against this terminal; `fds` maps descriptor numbers to files opened read-only. */
  airlock: (args: string[], fds?: Record<number, string>) => AirlockRun;
}

export async function initCliTerminal(name: string): Promise<CliTerminal> {
  await ensureBuilt();
  const work = await mkdtemp(join(tmpdir(), `airlock-${name.toLowerCase()}-`));
  const paths = terminalPaths(join(work, 'home'));
  await mkdir(paths.home, { recursive: true, mode: 0o700 });
  const passFile = join(work, 'pass');
  await writeFile(passFile, `${TEST_PASSPHRASE}\n`, { mode: 0o600 });
  const airlock = (args: string[], fds: Record<number, string> = {}): AirlockRun => runAirlock(args, { env: { AIRLOCK_HOME: paths.home }, fds });
  const init = airlock(['init', '--name', name, '--json', '--passphrase-fd', '3'], { 3: passFile });
  expect(init.status, init.stderr).toBe(0);
  return { work, paths, passFile, airlock };
}
