// Whether the token a key record names is in a slot now (PKCS#11 v3.0 §5.5: C_GetSlotList,
// C_GetTokenInfo — no session, no login, no PIN). A command's plan takes this as an
// observation, so a missing token refuses a release before the build runs, before a
// passphrase is read, before a byte is written — not at unlock, after the build.
import { AirlockError, type ErrorCode } from '../../core/errors.js';
import type { Pkcs11Reference } from '../key-file.js';
import { acquireModule } from './cryptoki.js';
import { findToken } from './token-slot.js';
import { parsePkcs11Uri } from './uri.js';

/** What was seen of one key's token: present, or the refusal unlocking it would meet. */
export interface TokenPresence {
  keyId: string;
  present: boolean;
  /** When absent: E_TOKEN_ABSENT, or E_TOKEN_MODULE when the module itself cannot be used. */
  code?: ErrorCode;
  message?: string;
}

/** Looks for the token of each key (modules loaded once each, released before returning). */
export async function observeTokenPresence(keys: readonly { keyId: string; token: Pkcs11Reference }[]): Promise<TokenPresence[]> {
  const out: TokenPresence[] = [];
  for (const k of keys) {
    try {
      const module = await acquireModule(k.token.module);
      try {
        findToken(module.api, module.path, parsePkcs11Uri(k.token.uri));
      } finally {
        module.release();
      }
      out.push({ keyId: k.keyId, present: true });
    } catch (err) {
      if (!(err instanceof AirlockError)) throw err;
      out.push({ keyId: k.keyId, present: false, code: err.code, message: err.message });
    }
  }
  return out;
}
