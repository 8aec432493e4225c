// Which pgp keys vouch for a host's apt and rpm indices in `airlock sync`. The next
// release re-signs what a sync took in with the current pgp key, so an index counts only
// when the CURRENT key signed it — the key this terminal's next release signs with: the
// newest pgp key of its keystore (docs/rotation.md "The OpenPGP key and apt"), or, with no
// keystore that holds one, the first key of the copy's keys/release-signing.asc (the key
// the copy last published; compat/key-history.ts writes it first). The earlier keys stay
// in that keyring so users can still verify old releases; they may co-sign beside the
// current key (an apt key transition) but never vouch alone: a holder of a retired —
// perhaps leaked, and therefore rotated away — key must not be able to feed the terminal
// indices that its next release re-signs with the current key.
//
// An index signed by an earlier key alone is refused with its own code
// (E_SYNC_OLD_PGP_KEY). A host last published before the key changed looks exactly so,
// and cannot be told from a forgery here: the way on is to have the host re-signed with
// the current key (`airlock refresh`, then `airlock publish`, by the terminal whose copy
// the host holds), never to believe the earlier key.
import { fromHex } from '../core/hex.js';
import { AirlockError } from '../core/errors.js';
import type { KeyType } from '../core/key-type.js';
import { keyringKeyOf, keyringKeys, type KeyringKey } from './compat/openpgp-verify.js';

export interface SyncPgpKeys {
  /** The key whose signature an index needs (none: no index is believed). */
  current?: KeyringKey;
  /** Every key a signature may be by: the current key and the keyring's earlier keys (co-signers). */
  known: KeyringKey[];
}

/** A keystore key's public listing (lib/keys KeyInfo): enough to rebuild its OpenPGP key. */
export interface ListedPgpKey {
  role: string;
  publicKey: string;
  createdAt: string;
  keyType: KeyType;
}

/** `keyring`: the copy's keys/release-signing.asc; `signing`: the keystore's newest pgp key (lib/keys newestKeyOf, chosen by lib/terminal observeSyncKeys), when there is one. */
export function syncPgpKeys(keyring: string | undefined, signing?: ListedPgpKey): SyncPgpKeys {
  const published = keyring === undefined ? [] : keyringKeys(keyring);
  const current = signing === undefined ? published[0] : keyringKeyOf(fromHex(signing.publicKey), new Date(signing.createdAt), signing.keyType);
  if (current === undefined) return { known: [] };
  return { current, known: [current, ...published.filter((k) => k.fingerprint !== current.fingerprint)] };
}

/**
 * Refuses an index unless the current key is among `signers` (what openpgp-verify found;
 * undefined when a signature did not verify under `keys.known`): `unsigned` makes the
 * format's own refusal (E_APT_SIGNATURE, E_RPM_SIGNATURE) for a missing or bad signature,
 * E_SYNC_OLD_PGP_KEY says an earlier key signed it alone.
 */
export function assertSignedByCurrentKey(path: string, signers: readonly string[] | undefined, keys: SyncPgpKeys, unsigned: (what: string) => AirlockError): void {
  const current = keys.current;
  if (current === undefined) throw unsigned('cannot be checked: the copy has no keys/release-signing.asc and the keystore no pgp key');
  if (signers === undefined) throw unsigned(`is not signed by the current pgp key ${current.fingerprint} (or carries a signature by a key the copy does not know)`);
  if (signers.includes(current.fingerprint)) return;
  const earlier = [...new Set(signers)];
  throw new AirlockError(
    'E_SYNC_OLD_PGP_KEY',
    `the host's ${path} is signed only by the earlier pgp key ${earlier.join(', ')}, not by the current key ${current.fingerprint}, which the next release signs with; a holder of an earlier key could have forged it, so nothing was taken in. If the host was last published before the key changed, have it re-signed with the current key first — \`airlock refresh\` then \`airlock publish\` from the terminal whose copy the host holds, with ${current.fingerprint} in its keystore — and sync again; if the earlier key was lost or leaked, find out who published this`,
    { details: { path, signers: earlier, current: current.fingerprint } },
  );
}
