// The two ways a lockfile check fails, shared by the ecosystem checkers: the lockfile is
// missing or unreadable (E_PIN_LOCKFILE), or one entry is not pinned (E_PIN_UNPINNED_DEP,
// naming the entry and how to allow it on purpose).
import { AirlockError } from '../core/errors.js';

export interface LockfileCheckContext {
  /** The lockfile's path relative to the checkout, for messages. */
  path: string;
  /** Names (or lockfile keys) the recipe allows unpinned: `allow.unpinned`. */
  allow: ReadonlySet<string>;
  /** Allowed registries of this ecosystem (URL prefixes or Cargo sources). */
  registries: readonly string[];
}

export function lockfileError(ctx: Pick<LockfileCheckContext, 'path'>, what: string, cause?: unknown): AirlockError {
  return new AirlockError('E_PIN_LOCKFILE', `the lockfile ${ctx.path} ${what}`, { cause, details: { lockfile: ctx.path } });
}

export function unpinned(ctx: Pick<LockfileCheckContext, 'path'>, entry: string, what: string): AirlockError {
  return new AirlockError(
    'E_PIN_UNPINNED_DEP',
    `${ctx.path}: dependency "${entry}" ${what}; pin it to a registry release with a hash, or if this is intended, add "${entry}" to "allow.unpinned" in the recipe`,
    { details: { lockfile: ctx.path, entry } },
  );
}
