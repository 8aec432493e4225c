// Driving the built `airlock` through the trust lifecycle as a release manager and root
// key holders would: a terminal home, root keystores on "separate media" (directories),
// passphrase files (0600) and, where a command takes several passphrases on one fd,
// that fd. No standard input and no TTY, as in CI.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runAirlock, type AirlockRun } from './e2e-cli.js';

/** Writes a passphrase file only its owner can read: one line per passphrase. */
export async function passphraseFile(dir: string, name: string, ...lines: string[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${lines.join('\n')}\n`, { mode: 0o600 });
  return path;
}

/** Runs `airlock ARGS --json` with AIRLOCK_HOME=home; `fd3` is a file opened as the child's fd 3. */
export function airlock(home: string, args: string[], options: { env?: NodeJS.ProcessEnv; fd3?: string } = {}): AirlockRun {
  return runAirlock([...args, '--json'], { env: { AIRLOCK_HOME: home, ...options.env }, fds: options.fd3 === undefined ? {} : { 3: options.fd3 } });
}
