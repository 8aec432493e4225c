// What every verifier command shares: where the trusted state is, which root starts
// it, which mirrors to read, and how warnings reach the user.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AirlockError, fromSystemError } from '../lib/core/errors.js';
import { Updater, type Limits } from '../lib/verify/index.js';
import { note, printable } from './run.js';

export interface SessionOptions {
  from?: string[];
  root?: string;
  state?: string;
  json?: boolean;
  limits?: Partial<Limits>;
}

/** The default --state: $AIRLOCK_VERIFY_STATE, else $XDG_STATE_HOME/airlock-verify, else ~/.local/state/airlock-verify. */
export function defaultStateDir(): string {
  if (process.env.AIRLOCK_VERIFY_STATE) return process.env.AIRLOCK_VERIFY_STATE;
  const base = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'airlock-verify');
}

export async function readRootFile(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    throw fromSystemError(err, `reading the root ${path}`);
  }
}

/**
 * Messages quote what the host sent (key ids, role names, target paths, JSON field
 * names); a host that is not trusted must not be able to move the cursor, rewrite
 * earlier lines or fake a "verified" line, so a message is kept to one printable line.
 */
export function printableLine(message: string): string {
  return printable(message, { oneLine: true });
}

/** The same error, its message (and a bug's stack) made printable: the one way errors reach the terminal. */
export function printableError(err: unknown): unknown {
  if (err instanceof Error) {
    err.message = printableLine(err.message);
    if (err.stack !== undefined) err.stack = err.stack.split('\n').map(printableLine).join('\n');
  }
  return err;
}

export function warn(message: string): void {
  note(`warning: ${printableLine(message)}`);
}

/**
 * An Updater for the command line: --state DIR keeps trusted metadata there (started
 * from --root when DIR is new); --root alone starts a fresh state that is not kept;
 * neither uses the default state, which `init` must have pinned.
 */
export async function openUpdater(opts: SessionOptions): Promise<Updater> {
  const from = opts.from ?? [];
  if (from.length === 0) throw new AirlockError('E_USAGE', 'give the host with --from URL_OR_DIR (repeat it for mirrors)');
  const trustedRoot = opts.root === undefined ? undefined : await readRootFile(opts.root);
  const stateDir = opts.state ?? (trustedRoot === undefined ? defaultStateDir() : undefined);
  return new Updater({ trustedRoot, stateDir, sources: from, limits: opts.limits, onWarning: warn });
}
