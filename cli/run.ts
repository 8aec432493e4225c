// The one top-level catch of both CLIs: maps AirlockError codes to exit codes and
// prints a one-line message (or a JSON object with --json). Anything else is a bug and
// says so, with its stack, because only a bug can get there.
import { AirlockError, errorCodeOf, EXIT, exitCodeOf, type ExitCode } from '../lib/core/errors.js';

export interface OutputOptions {
  json?: boolean;
}

// Terminal control: C0 controls but tab and newline (and carriage return where asked),
// DEL, the C1 range, whose CSI (U+009B) some terminals obey like ESC [, and the line
// separators and bidirectional overrides that make text read other than it is.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
const CONTROL_KEEP_CR = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
const CONTROL_ONE_LINE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/**
 * Text for a person's terminal. Much of what airlock prints comes from others: commit
 * subjects and authors, recipe field and step names, build output, host messages. An
 * escape sequence in one could move the cursor and overwrite what the release manager
 * reads before confirming (a commit's signature status, the commit id) or drive the
 * terminal itself (OSC 52 writes the clipboard). Controls are shown as \xNN instead.
 */
export function printable(text: string, opts: { keepCarriageReturn?: boolean; oneLine?: boolean } = {}): string {
  const pattern = opts.oneLine ? CONTROL_ONE_LINE : opts.keepCarriageReturn ? CONTROL_KEEP_CR : CONTROL;
  return text.replace(pattern, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** Writes one result: JSON for machines, text lines for people. */
export function emit(opts: OutputOptions, result: unknown, text: () => string | string[]): void {
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    const t = text();
    const lines = Array.isArray(t) ? t : [t];
    if (lines.length > 0) process.stdout.write(`${printable(lines.join('\n'))}\n`);
  }
}

/** Progress and warnings go to stderr so stdout stays parseable. */
export function note(message: string): void {
  process.stderr.write(`${printable(message)}\n`);
}

export function reportError(err: unknown, json: boolean): ExitCode {
  if (err instanceof AirlockError) {
    if (json) {
      process.stdout.write(`${JSON.stringify({ ok: false, error: { code: err.code, message: err.message, details: err.details } })}\n`);
    }
    process.stderr.write(`error ${err.code}: ${printable(err.message)}\n`);
    return exitCodeOf(err);
  }
  const e = err as Error;
  if (json) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: { code: errorCodeOf(err), message: String(e?.message ?? err) } })}\n`);
  }
  process.stderr.write(`internal error (this is a bug in airlock; please report it):\n${printable(e?.stack ?? String(err))}\n`);
  return exitCodeOf(err);
}

/**
 * Wraps a command action: awaits it, sets the exit code from its result (0 unless it
 * returns another) or from the error it throws.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const opts = args.find((a) => typeof a === 'object' && a !== null && !Array.isArray(a) && 'json' in (a as object)) as
      | OutputOptions
      | undefined;
    try {
      const code = await fn(...args);
      process.exitCode = typeof code === 'number' ? code : EXIT.ok;
    } catch (err) {
      process.exitCode = reportError(err, Boolean(opts?.json) || process.argv.includes('--json'));
    }
  };
}

/**
 * Commander's own usage errors (unknown option or command, missing required option, an
 * invalid value, no command at all) keep the error contract of every other failure:
 * `error E_USAGE: …` on stderr, `{"ok":false,"error":{…}}` on stdout with --json, exit 2.
 * Help and --version asked for exit 0. Install with `program.configureOutput(USAGE_OUTPUT)`
 * so commander prints nothing of its own but the help text.
 */
export function usageExit(err: { exitCode: number; code: string; message: string }): never {
  if (err.exitCode === 0) process.exit(EXIT.ok);
  // Help shown because a command was left out (`airlock`, `airlock key`) arrives as commander.help with exit code 1.
  const message = err.code === 'commander.help' ? 'a command is required (the list is above)' : `${err.message.replace(/^error: /, '').trim()}; see --help`;
  process.exit(reportError(new AirlockError('E_USAGE', message), process.argv.includes('--json')));
}

/** Commander's output: help as usual, its error lines replaced by usageExit's. */
export const USAGE_OUTPUT = { outputError: (): void => {} };
