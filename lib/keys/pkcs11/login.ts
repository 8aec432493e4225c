// One logged-in session per token per process. PKCS#11 keeps the login state per token
// for the whole application (v3.0 §5.6: "all sessions … share the same login state"),
// so two keys on one token must share one login: a second C_Login fails with
// CKR_USER_ALREADY_LOGGED_IN, and the first key's C_Logout would log the second out.
// Shares are counted; the last release logs out, closes the session and lets the
// module go. The PIN is asked for only when a login is actually made, and tried once.
import type { PKCS11 } from 'pkcs11js';
import { AirlockError } from '../../core/errors.js';
import { CKF_LOGIN_REQUIRED, CKF_PROTECTED_AUTHENTICATION_PATH, CKF_RW_SESSION, CKF_SERIAL_SESSION, CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_LOCKED, CKU_USER } from './constants.js';
import { ckrOf, isCkr, tokenFailure, type ModuleLease } from './cryptoki.js';
import type { PinSource } from './pin.js';
import type { TokenSlot } from './token-slot.js';

/** A share in a token's logged-in session. */
export interface LoginLease {
  readonly api: PKCS11;
  readonly token: TokenSlot;
  /** A read-only session on which the user is logged in. */
  readonly session: Buffer;
  /** Opens an extra read-write session (sharing the login) for making objects; the caller closes it. */
  openReadWrite(): Buffer;
  release(): void;
}

interface Login {
  module: ModuleLease;
  token: TokenSlot;
  session: Buffer;
}

/** A login being made or made, and how many shares (counted from the moment they ask) it has. */
interface Entry {
  login: Promise<Login>;
  refs: number;
}

const logins = new Map<string, Entry>();

function keyOf(module: ModuleLease, token: TokenSlot): string {
  return `${module.path}\0${token.slotId}`;
}

function pinRefused(token: TokenSlot, err: unknown): AirlockError {
  const ckr = ckrOf(err)?.name;
  const locked = ckr === 'CKR_PIN_LOCKED';
  return new AirlockError(
    'E_TOKEN_PIN',
    locked
      ? `the PIN of token "${token.label}" is locked after too many wrong tries; unblock it with the token's SO PIN / PUK (docs/hardware-keys.md)`
      : `the token "${token.label}" refused the PIN (${ckr ?? 'error'}); nothing was signed. airlock tried it once: check the PIN and run the command again (the token locks after a few wrong PINs)`,
    { cause: err, details: { token: token.label, serial: token.serial, ckr: ckr ?? null } },
  );
}

async function logIn(module: ModuleLease, token: TokenSlot, pin: PinSource, purpose: string): Promise<Login> {
  const { api } = module;
  if ((token.flags & CKF_USER_PIN_LOCKED) !== 0) {
    throw new AirlockError('E_TOKEN_PIN', `the PIN of token "${token.label}" is locked; unblock it with the token's SO PIN / PUK (docs/hardware-keys.md)`, {
      details: { token: token.label, serial: token.serial, ckr: null },
    });
  }
  let session: Buffer;
  try {
    session = api.C_OpenSession(token.slot, CKF_SERIAL_SESSION);
  } catch (err) {
    throw tokenFailure(err, `opening a session on token "${token.label}"`);
  }
  try {
    if ((token.flags & CKF_LOGIN_REQUIRED) !== 0) {
      if ((token.flags & CKF_PROTECTED_AUTHENTICATION_PATH) !== 0) {
        throw new AirlockError('E_TOKEN_PIN', `the token "${token.label}" takes its PIN on a PIN pad, which airlock does not drive yet; use a token that takes the PIN from the host`, {
          details: { token: token.label },
        });
      }
      const secret = await pin({ token: token.label, serial: token.serial, purpose, finalTry: (token.flags & CKF_USER_PIN_FINAL_TRY) !== 0 });
      try {
        // The binding takes the PIN as a string (it cannot take bytes); it lives only for this call.
        api.C_Login(session, CKU_USER, secret.bytes.toString('utf8'));
      } catch (err) {
        if (!isCkr(err, 'CKR_USER_ALREADY_LOGGED_IN')) {
          if (isCkr(err, 'CKR_PIN_INCORRECT', 'CKR_PIN_INVALID', 'CKR_PIN_LEN_RANGE', 'CKR_PIN_EXPIRED', 'CKR_PIN_LOCKED', 'CKR_USER_PIN_NOT_INITIALIZED')) throw pinRefused(token, err);
          throw tokenFailure(err, `logging in to token "${token.label}"`);
        }
      } finally {
        secret.wipe();
      }
    }
  } catch (err) {
    try {
      api.C_CloseSession(session);
    } catch {
      // the login error is the one to report
    }
    throw err;
  }
  return { module, token, session };
}

/**
 * A share in the logged-in session of `token`. Takes over `module`: it is released with
 * the share (or at once, when a share already exists or the login fails). Callers that
 * ask while a login is being made wait for that one attempt; none makes another.
 */
export async function acquireLogin(module: ModuleLease, token: TokenSlot, pin: PinSource, purpose: string): Promise<LoginLease> {
  const key = keyOf(module, token);
  let entry = logins.get(key);
  const mine = entry === undefined;
  if (entry === undefined) {
    entry = { login: logIn(module, token, pin, purpose), refs: 0 };
    logins.set(key, entry);
  }
  const held = entry;
  // Counted before any await, so a release in between cannot log out under us.
  held.refs += 1;
  let login: Login;
  try {
    login = await held.login;
  } catch (err) {
    held.refs -= 1;
    if (logins.get(key) === held) logins.delete(key);
    module.release();
    throw err;
  }
  // One module share per login: a caller that joins an existing login gives its own back.
  if (!mine) module.release();
  let released = false;
  return {
    api: login.module.api,
    token: login.token,
    session: login.session,
    openReadWrite() {
      try {
        return login.module.api.C_OpenSession(login.token.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
      } catch (err) {
        throw tokenFailure(err, `opening a read-write session on token "${login.token.label}"`);
      }
    },
    release() {
      if (released) return;
      released = true;
      held.refs -= 1;
      if (held.refs > 0) return;
      if (logins.get(key) === held) logins.delete(key);
      const { api } = login.module;
      try {
        api.C_Logout(login.session);
      } catch {
        // Not logged in (no login was needed) or the token is gone: nothing to undo.
      }
      try {
        api.C_CloseSession(login.session);
      } catch {
        // as above
      }
      login.module.release();
    },
  };
}
