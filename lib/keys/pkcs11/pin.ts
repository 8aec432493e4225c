// Where a token's user PIN comes from: `--pin-fd N`, a file named by AIRLOCK_PIN_FILE
// (first line, refused unless only its owner can read it), or a no-echo prompt on the
// terminal; never argv, never an environment variable's value, never the key record
// (docs/keys.md). The PIN is not the keystore passphrase: a token
// guards its own key, and tying the two together would burn a token retry on every
// keystore passphrase typo.
//
// A PinSource is asked lazily, only when a token actually needs a login, and once per
// login: airlock never retries a PIN (a token locks after a few wrong ones).
import { AirlockError, isAirlockError } from '../../core/errors.js';
import { readPassphrase, type Passphrase, type PromptTerminal } from '../passphrase.js';

export const PIN_FILE_ENV = 'AIRLOCK_PIN_FILE';

/** What the PIN is wanted for, so a prompt can say which token and key. */
export interface PinRequest {
  /** Token label. */
  token: string;
  serial: string;
  /** e.g. "the targets key 3f1c0a9b…", "a new minisign key". */
  purpose: string;
  /** The token says one more wrong PIN locks it (CKF_USER_PIN_FINAL_TRY). */
  finalTry: boolean;
}

/** Gives one PIN; the caller wipes it. */
export type PinSource = (request: PinRequest) => Promise<Passphrase>;

export interface PinSourceOptions {
  /** `--pin-fd N`: read up to the first newline. */
  fd?: number;
  env?: NodeJS.ProcessEnv;
  /** How to reach the terminal (tests); default stdin if a TTY, else /dev/tty. */
  terminal?: () => PromptTerminal | null;
}

export function pinPrompt(r: PinRequest): string {
  const last = r.finalTry ? ' (LAST TRY: one more wrong PIN locks the token)' : '';
  return `PIN of token "${r.token}"${r.serial ? ` (serial ${r.serial})` : ''} for ${r.purpose}${last}: `;
}

/** The PIN source of the CLI: --pin-fd, else AIRLOCK_PIN_FILE, else the no-echo prompt. */
export function pinSource(options: PinSourceOptions = {}): PinSource {
  return async (request) => {
    try {
      return await readPassphrase({ ...(options.fd === undefined ? {} : { fd: options.fd }) }, pinPrompt(request), {
        fileEnv: PIN_FILE_ENV,
        ...(options.env === undefined ? {} : { env: options.env }),
        ...(options.terminal === undefined ? {} : { terminal: options.terminal }),
      });
    } catch (err) {
      if (isAirlockError(err, 'E_NO_TTY')) {
        throw new AirlockError('E_NO_TTY', `no terminal to ask for the PIN of token "${request.token}"; pass --pin-fd N or set ${PIN_FILE_ENV} to a file only you can read`, {
          cause: err,
        });
      }
      throw err;
    }
  };
}
