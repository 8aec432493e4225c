// Driving the built `airlock` through the trust lifecycle as a release manager and root
// key holders would: a terminal home, root keystores on "separate media" (directories),
// passphrase files (0600) and, where a command takes several passphrases on one fd,
// that fd. No standard input and no TTY, as in CI.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { airlockBin } from './e2e-cli.js';

export interface AirlockRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The parsed --json result (the last JSON line of stdout), when there is one. */
  json: Record<string, any> | undefined;
  /** The E_CODE of a refusal. */
  code: string | undefined;
}

/** Writes a passphrase file only its owner can read: one line per passphrase. */
export async function passphraseFile(dir: string, name: string, ...lines: string[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${lines.join('\n')}\n`, { mode: 0o600 });
  return path;
}

/** Runs `airlock ARGS --json` with AIRLOCK_HOME=home; `fd3` is a file opened as the child's fd 3. */
export function airlock(home: string, args: string[], options: { env?: NodeJS.ProcessEnv; fd3?: string } = {}): AirlockRun {
  const fd = options.fd3 === undefined ? undefined : openSync(options.fd3, 'r');
  try {
    const r = spawnSync(process.execPath, [airlockBin, ...args, '--json'], {
      encoding: 'utf8',
      stdio: fd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe', fd],
      env: { PATH: process.env.PATH, HOME: process.env.HOME, AIRLOCK_HOME: home, ...options.env },
      timeout: 120_000,
    });
    const last = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
    const json = last === undefined ? undefined : (JSON.parse(last) as Record<string, any>);
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, json, code: json?.error?.code ?? /^error (E_[A-Z_]+):/m.exec(r.stderr)?.[1] };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
