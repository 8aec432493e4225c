// One signing session (STYLE "A signing session has a lifetime"): the keys a plan
// names, each unlocked once — one passphrase per keystore, read once and wiped as soon as
// its keys are open — used by the transaction, and closed together on close() (software
// keys dropped, tokens logged out). If one key cannot be unlocked, those already open are
// closed before the error goes up: nothing stays unlocked behind a refusal.
import { AirlockError } from '../core/errors.js';
import { Keystore } from '../keys/keystore.js';
import type { Passphrase } from '../keys/passphrase.js';
import type { KeyRole, Signer } from '../keys/signer.js';
import type { RoleSigners } from '../repo/transaction.js';
import type { KeyNeed } from './plan.js';

/** Where each keystore's passphrase comes from (the CLI prompts, reads an fd or a file). */
/** `keyIds`: the keys of that keystore the session opens (a prompt can check the passphrase against one and ask again). */
export type PassphraseFor = (keystoreDir: string, keyIds: string[]) => Promise<Passphrase>;

/**
 * Software keys derive their sealing key with scrypt (128 MiB at the production cost) on
 * the thread pool; a release opens six keys of one keystore, each under its own salt, so
 * two derivations at once halve the unlock on a two-core terminal, while a bound keeps
 * six from holding 768 MiB together. Token keys open one at a time: a token's login is
 * shared by its sessions, and PKCS#11 modules differ on concurrent C_Login.
 */
const PARALLEL_SOFTWARE_UNLOCKS = 2;

/**
 * Unlocks `keys` and adds them to `into` in the order given (the order signers are
 * returned, hence the order of signatures in metadata, stays what the plan says). If one
 * fails, the ones opened are still added, so the caller's close() closes them, and the
 * failure of the earliest key in the plan is thrown once every derivation in flight has settled.
 */
async function unlockInOrder(keystore: Keystore, keys: readonly KeyNeed[], passphrase: Passphrase, into: Map<string, Signer>, parallel: number): Promise<void> {
  const opened: (Signer | undefined)[] = new Array(keys.length);
  // The refusal of the first key in the plan's order, whichever lane failed first: the error a user sees does not depend on timing.
  let failure: { index: number; err: unknown } | undefined;
  const open = async (i: number): Promise<void> => {
    try {
      opened[i] = await keystore.unlock(keys[i]!.keyId, passphrase);
    } catch (err) {
      if (failure === undefined || i < failure.index) failure = { index: i, err };
    }
  };
  const software = keys.flatMap((k, i) => (k.kind === 'software' ? [i] : []));
  let next = 0;
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < software.length) await open(software[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, software.length) }, lane));
  for (const [i, k] of keys.entries()) if (k.kind !== 'software' && failure === undefined) await open(i);
  for (const [i, k] of keys.entries()) if (opened[i] !== undefined) into.set(k.keyId, opened[i]!);
  if (failure !== undefined) throw failure.err;
}

export class SigningSession {
  readonly #byId = new Map<string, Signer>();
  #closed = false;

  private constructor() {}

  /**
   * Unlocks every key of `needs`, asking each keystore's passphrase once. The session wipes
   * each passphrase once its keys are open, unless `keepPassphrases` (the caller read them
   * and still needs one, e.g. to seal a rotation's new key, and wipes them itself).
   * `parallelUnlocks` (default PARALLEL_SOFTWARE_UNLOCKS) bounds the derivations at once:
   * 1 where a second of unlocking matters less than 128 MiB of peak memory (an import).
   */
  static async open(needs: readonly KeyNeed[], passphraseFor: PassphraseFor, keystores: ReadonlyMap<string, Keystore> = new Map(), options: { keepPassphrases?: boolean; parallelUnlocks?: number } = {}): Promise<SigningSession> {
    const session = new SigningSession();
    try {
      for (const dir of [...new Set(needs.map((n) => n.keystore))]) {
        const keys = needs.filter((n) => n.keystore === dir && !session.#byId.has(n.keyId));
        if (keys.length === 0) continue;
        const keystore = keystores.get(dir) ?? (await Keystore.open(dir));
        const passphrase = await passphraseFor(dir, keys.map((k) => k.keyId));
        try {
          await unlockInOrder(keystore, keys, passphrase, session.#byId, Math.max(1, options.parallelUnlocks ?? PARALLEL_SOFTWARE_UNLOCKS));
        } finally {
          if (!options.keepPassphrases) passphrase.wipe();
        }
      }
    } catch (err) {
      await session.close();
      throw err;
    }
    return session;
  }

  /** Adds a key made during the session (a rotation's new key); closed with the rest. */
  adopt(signer: Signer): void {
    this.#byId.set(signer.keyId, signer);
  }

  /** The unlocked keys of `role`. */
  signers(role: KeyRole): Signer[] {
    if (this.#closed) throw new Error('SigningSession used after close()');
    return [...this.#byId.values()].filter((s) => s.role === role);
  }

  /** The one key of `role` (pgp, minisign, publish), if the plan named one. */
  signer(role: KeyRole): Signer | undefined {
    return this.signers(role)[0];
  }

  /** The key of `role` the plan requires; E_KEY_NOT_FOUND is a plan/session mismatch. */
  required(role: KeyRole): Signer {
    const s = this.signer(role);
    if (!s) throw new AirlockError('E_KEY_NOT_FOUND', `no ${role} key was unlocked for this command; airlock key list shows the keys of each keystore`);
    return s;
  }

  /** The online keys, as the editing transaction takes them. */
  online(): RoleSigners {
    return { targets: this.signers('targets'), snapshot: this.signers('snapshot'), timestamp: this.signers('timestamp') };
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#byId.values()];
    this.#byId.clear();
    for (const s of all) await s.close().catch(() => undefined);
  }
}
