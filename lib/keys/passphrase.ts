// Where a passphrase comes from, and the one object that holds it. Never argv, never an
// environment variable's value (docs/keys.md): a no-echo prompt on
// the terminal, or for automation a file descriptor (`--passphrase-fd N`, read up to the
// first newline, as gpg's option of that name does) or a file named by
// AIRLOCK_PASSPHRASE_FILE (first line; refused unless only its owner can read it).
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { inspect } from 'node:util';
import { ReadStream, WriteStream } from 'node:tty';
import { AirlockError } from '../core/errors.js';

/** Longest passphrase read from an fd or file; a longer "passphrase" is the wrong input. */
export const MAX_PASSPHRASE_BYTES = 1024;
/** Shortest passphrase accepted for a new key. */
export const MIN_NEW_PASSPHRASE_BYTES = 8;

export const PASSPHRASE_FILE_ENV = 'AIRLOCK_PASSPHRASE_FILE';

/**
 * Passphrase bytes in one Buffer that can be wiped. Strings cannot be zeroed, so the
 * bytes never become a string inside airlock; the object prints as `<redacted>`.
 * One Passphrase may unlock several keys; whoever read it wipes it when done.
 */
export class Passphrase {
  #bytes: Buffer | null;

  /** Takes ownership of `bytes` (they are wiped with the Passphrase). */
  constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }

  /** For tests and programmatic callers: a string cannot be wiped, so prefer fd or file. */
  static fromString(s: string): Passphrase {
    return new Passphrase(Buffer.from(s, 'utf8'));
  }

  get bytes(): Buffer {
    if (this.#bytes === null) throw new Error('Passphrase used after wipe()');
    return this.#bytes;
  }

  get length(): number {
    return this.bytes.length;
  }

  get wiped(): boolean {
    return this.#bytes === null;
  }

  equals(other: Passphrase): boolean {
    return this.bytes.equals(other.bytes);
  }

  wipe(): void {
    this.#bytes?.fill(0);
    this.#bytes = null;
  }

  toString(): string {
    return '<redacted>';
  }

  toJSON(): string {
    return '<redacted>';
  }

  [inspect.custom](): string {
    return 'Passphrase <redacted>';
  }
}

export interface PassphraseSource {
  /** `--passphrase-fd N`: read up to the first newline. */
  fd?: number;
  /** A file holding the passphrase on its first line; defaults to $AIRLOCK_PASSPHRASE_FILE. */
  file?: string;
}

/** The terminal a prompt uses; injectable so tests can run without one. */
export interface PromptTerminal {
  input: NodeJS.ReadStream | ReadStream;
  output: NodeJS.WriteStream | WriteStream;
  close(): void;
}

export interface ReadPassphraseOptions {
  /** Ask twice on a terminal (a new passphrase); fd and file are read once. */
  confirm?: boolean;
  /** The name of the env variable that may name a file (default AIRLOCK_PASSPHRASE_FILE). */
  fileEnv?: string;
  env?: NodeJS.ProcessEnv;
  /** How to reach the terminal; default: stdin if it is a TTY, else /dev/tty. */
  terminal?: () => PromptTerminal | null;
  /**
   * Checks a passphrase typed at the prompt (e.g. Keystore.verifyPassphrase): on
   * E_KEY_PASSPHRASE the prompt asks again, PROMPT_TRIES times in all, as gpg does. Not
   * run for an fd or a file: those cannot be asked again, and the unlock that follows
   * reports a wrong one.
   */
  check?: (passphrase: Passphrase) => Promise<void>;
}

/** Tries at an interactive passphrase prompt before the command gives up. */
export const PROMPT_TRIES = 3;

/**
 * Reads one passphrase: from `source.fd` if given, else from the file named by
 * `source.file` or the env variable, else by a no-echo prompt on the terminal.
 * No terminal and no fd/file: E_NO_TTY naming the two automation sources.
 */
export async function readPassphrase(source: PassphraseSource, prompt: string, opts: ReadPassphraseOptions = {}): Promise<Passphrase> {
  const env = opts.env ?? process.env;
  const fileEnv = opts.fileEnv ?? PASSPHRASE_FILE_ENV;
  if (source.fd !== undefined) return readFromFd(source.fd);
  const file = source.file ?? nonEmpty(env[fileEnv]);
  if (file !== undefined) return readFromFile(file, fileEnv);
  const terminal = (opts.terminal ?? openTerminal)();
  if (terminal === null) {
    throw new AirlockError(
      'E_NO_TTY',
      `no terminal to ask for the passphrase; pass --passphrase-fd N or set ${fileEnv} to a file only you can read`,
    );
  }
  try {
    for (let attempt = 1; ; attempt++) {
      const typed = await promptOnce(terminal, prompt, Boolean(opts.confirm));
      if (opts.check === undefined) return typed;
      try {
        await opts.check(typed);
        return typed;
      } catch (err) {
        typed.wipe();
        if (!(err instanceof AirlockError && err.code === 'E_KEY_PASSPHRASE') || attempt >= PROMPT_TRIES) throw err;
        const left = PROMPT_TRIES - attempt;
        terminal.output.write(`${err.message.split(';')[0]} — ${left} more ${left === 1 ? 'try' : 'tries'}\n`);
      }
    }
  } finally {
    terminal.close();
  }
}

async function promptOnce(terminal: PromptTerminal, prompt: string, confirm: boolean): Promise<Passphrase> {
  const first = await promptNoEcho(terminal, prompt);
  if (!confirm) return first;
  const second = await promptNoEcho(terminal, 'Repeat to confirm: ');
  const same = first.equals(second);
  second.wipe();
  if (!same) {
    first.wipe();
    throw new AirlockError('E_PASSPHRASE_SOURCE', 'the two passphrases differ; run the command again');
  }
  return first;
}

/** Refuses a new-key passphrase too short to resist guessing, whatever the KDF cost. */
export function assertNewPassphrase(p: Passphrase): void {
  if (p.length < MIN_NEW_PASSPHRASE_BYTES) {
    throw new AirlockError(
      'E_PASSPHRASE_WEAK',
      `a key passphrase needs at least ${MIN_NEW_PASSPHRASE_BYTES} bytes; choose a longer one (a few random words)`,
    );
  }
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Reads up to the first newline, one byte at a time, so nothing after it is consumed
 * (a later read of the same fd gets the next line, e.g. `key passwd`'s new passphrase).
 */
function readFromFd(fd: number): Passphrase {
  if (!Number.isSafeInteger(fd) || fd < 0) {
    throw new AirlockError('E_USAGE', '--passphrase-fd takes a file descriptor number');
  }
  const buf = Buffer.alloc(MAX_PASSPHRASE_BYTES + 2);
  let n = 0;
  let sawNewline = false;
  try {
    for (;;) {
      let got: number;
      try {
        got = readSync(fd, buf, n, 1, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // A non-blocking pipe with nothing in it yet: wait briefly, it is one line.
        if (code === 'EAGAIN') {
          Atomics.wait(sleeper, 0, 0, 5);
          continue;
        }
        if (code === 'EOF') break;
        throw new AirlockError('E_PASSPHRASE_SOURCE', `cannot read the passphrase from file descriptor ${fd}; is it open for reading?`, {
          cause: err,
        });
      }
      if (got === 0) break;
      if (buf[n] === 0x0a) {
        sawNewline = true;
        break;
      }
      n += 1;
      if (n > MAX_PASSPHRASE_BYTES) {
        throw new AirlockError('E_PASSPHRASE_SOURCE', `file descriptor ${fd} holds more than ${MAX_PASSPHRASE_BYTES} bytes before a newline; it is not a passphrase`);
      }
    }
    if (n > 0 && buf[n - 1] === 0x0d) n -= 1;
    if (n === 0) {
      throw new AirlockError(
        'E_PASSPHRASE_SOURCE',
        sawNewline ? `file descriptor ${fd} gave an empty passphrase` : `file descriptor ${fd} gave no passphrase (nothing to read, or already read)`,
      );
    }
    return new Passphrase(Buffer.from(buf.subarray(0, n)));
  } finally {
    buf.fill(0);
  }
}

function readFromFile(path: string, fileEnv: string): Passphrase {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted under the name must not hang the command; fstat refuses it below.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    throw new AirlockError('E_PASSPHRASE_SOURCE', `cannot open the passphrase file named by ${fileEnv} (a regular file, not a symlink, readable by you)`, {
      cause: err,
      details: { path },
    });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw new AirlockError('E_PASSPHRASE_SOURCE', `the passphrase file ${path} is not a regular file`, { details: { path } });
    }
    if ((st.mode & 0o077) !== 0) {
      throw new AirlockError(
        'E_KEYSTORE_PERMISSIONS',
        `the passphrase file ${path} can be read by others; run: chmod 600 '${path}'`,
        { details: { path, mode: (st.mode & 0o777).toString(8) } },
      );
    }
    // Whoever owns the file chooses its contents: for a new key, they would choose (and
    // know) its passphrase. Root reads any 0600 file, so this is checked, not assumed.
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid) {
      throw new AirlockError('E_KEYSTORE_PERMISSIONS', `the passphrase file ${path} belongs to uid ${st.uid}, not to you (uid ${uid}); use a file of your own`, {
        details: { path, owner: st.uid },
      });
    }
    return readFromFd(fd);
  } finally {
    closeSync(fd);
  }
}

function openTerminal(): PromptTerminal | null {
  if (process.stdin.isTTY && process.stderr.isTTY) {
    return { input: process.stdin, output: process.stderr, close: () => process.stdin.pause() };
  }
  // stdin may be a pipe while a person still sits at the terminal (as ssh and gpg do).
  // Separate descriptors for reading and writing, so each stream closes only its own.
  let inFd: number;
  let outFd: number;
  try {
    inFd = openSync('/dev/tty', 'r');
  } catch {
    return null;
  }
  try {
    outFd = openSync('/dev/tty', 'w');
  } catch {
    closeSync(inFd);
    return null;
  }
  const input = new ReadStream(inFd);
  const output = new WriteStream(outFd);
  return {
    input,
    output,
    close: () => {
      input.destroy();
      output.end();
    },
  };
}

/** Raw-mode line editor: nothing echoed, backspace and ^U edit, ^C and ^D cancel. */
function promptNoEcho(terminal: PromptTerminal, prompt: string): Promise<Passphrase> {
  const { input, output } = terminal;
  // Echo off before the prompt appears, so nothing typed in answer to it can be echoed.
  if ('setRawMode' in input && typeof input.setRawMode === 'function') input.setRawMode(true);
  output.write(prompt);
  let buf = Buffer.alloc(64);
  let n = 0;
  const push = (byte: number): boolean => {
    if (n >= MAX_PASSPHRASE_BYTES) return false;
    if (n === buf.length) {
      const bigger = Buffer.alloc(buf.length * 2);
      buf.copy(bigger);
      buf.fill(0);
      buf = bigger;
    }
    buf[n++] = byte;
    return true;
  };
  return new Promise<Passphrase>((resolve, reject) => {
    const finish = (err: AirlockError | null) => {
      input.off('data', onData);
      input.off('end', onEnd);
      if ('setRawMode' in input && typeof input.setRawMode === 'function') input.setRawMode(false);
      input.pause();
      output.write('\n');
      if (err) {
        buf.fill(0);
        reject(err);
        return;
      }
      const p = new Passphrase(Buffer.from(buf.subarray(0, n)));
      buf.fill(0);
      resolve(p);
    };
    const onEnd = () => finish(new AirlockError('E_PASSPHRASE_SOURCE', 'the terminal closed before a passphrase was entered'));
    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      try {
        for (const b of bytes) {
          if (b === 0x0d || b === 0x0a) {
            if (n === 0) return finish(new AirlockError('E_PASSPHRASE_SOURCE', 'an empty passphrase was entered'));
            return finish(null);
          }
          if (b === 0x03 || (b === 0x04 && n === 0)) return finish(new AirlockError('E_USAGE', 'cancelled at the passphrase prompt'));
          if (b === 0x7f || b === 0x08) {
            // Drop one whole UTF-8 character: its continuation bytes, then its lead byte.
            while (n > 0 && (buf[n - 1]! & 0xc0) === 0x80) buf[--n] = 0;
            if (n > 0) buf[--n] = 0;
            continue;
          }
          if (b === 0x15) {
            buf.fill(0, 0, n);
            n = 0;
            continue;
          }
          if (!push(b)) return finish(new AirlockError('E_PASSPHRASE_SOURCE', `a passphrase is at most ${MAX_PASSPHRASE_BYTES} bytes`));
        }
      } finally {
        bytes.fill(0);
      }
    };
    input.on('data', onData);
    input.on('end', onEnd);
    input.resume();
  });
}
