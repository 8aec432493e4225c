// What every plan names (STYLE "Plan, then apply"): plain data computed from inputs
// already read — the signed state of the terminal's copy, its configuration, the public
// listing of each keystore and the hosts — before a build, a passphrase or a write. The
// keys a plan needs are chosen here by what root lists (after a rotation a keystore may
// hold a retired key beside the current one), so a missing key is refused from public
// information alone; the signing session (session.ts) then unlocks exactly these.
import { sha256Hex } from '../core/digest.js';
import { AirlockError } from '../core/errors.js';
import type { RootSigned } from '../core/tuf-metadata.js';
import { newestKeyOf, type KeyInfo } from '../keys/keystore.js';
import type { TokenPresence } from '../keys/pkcs11/index.js';
import type { KeyRole } from '../keys/signer.js';
import { parseHostUrl } from '../publish/host-url.js';
import type { HostSpec } from '../publish/publish.js';
import type { TimestampSeen } from '../publish/plan.js';
import type { SignedState } from '../repo/local-repository.js';
import { envelopeBytes } from '../repo/sign-metadata.js';
import type { OnlineRole } from '../repo/transaction.js';

/** A keystore's public listing: what may be known without a passphrase. */
export interface KeystoreListing {
  dir: string;
  keys: readonly KeyInfo[];
  /** Observed: whether the token of each token key is in a slot (observe.ts). */
  tokens?: readonly TokenPresence[];
}

/** A key the plan will unlock, and why. */
export interface KeyNeed {
  role: KeyRole;
  keyId: string;
  keystore: string;
  kind: KeyInfo['kind'];
  /** Why it is needed, for the printed plan: "signs targets", "transition: outgoing timestamp key" … */
  purpose: string;
}

export interface PlannedHost {
  name: string;
  url: string;
  kind: 'directory' | 'sftp' | string;
}

export function plannedHosts(hosts: readonly HostSpec[]): PlannedHost[] {
  return hosts.map((h) => ({ name: h.name, url: h.url, kind: parseHostUrl(h.url).kind }));
}

/** The copy's timestamp as a host is compared with it (a host ahead refuses a command that signs). */
export function localTimestamp(state: Pick<SignedState, 'timestamp'>): TimestampSeen {
  return { version: state.timestamp.signed.version, sha256: sha256Hex(envelopeBytes(state.timestamp)) };
}

function need(k: KeyInfo, keystore: string, purpose: string): KeyNeed {
  return { role: k.role, keyId: k.keyId, keystore, kind: k.kind, purpose };
}

/**
 * The keys in `listings` that `root` lists for `role`, the first `threshold` of them;
 * E_KEY_NOT_FOUND naming the key ids root wants when the keystores hold fewer.
 */
export function listedKeys(listings: readonly KeystoreListing[], root: RootSigned, role: OnlineRole | 'root', purpose: string): KeyNeed[] {
  const { keyids, threshold } = root.roles[role];
  const out: KeyNeed[] = [];
  for (const l of listings) {
    for (const k of l.keys) {
      if (k.role === role && keyids.includes(k.keyId) && !out.some((n) => n.keyId === k.keyId)) out.push(need(k, l.dir, purpose));
    }
  }
  if (out.length < threshold) {
    throw new AirlockError(
      role === 'root' ? 'E_ROOT_THRESHOLD' : 'E_KEY_NOT_FOUND',
      role === 'root'
        ? `root v${root.version} needs ${threshold} root signatures and the keystores given hold ${out.length} of its root keys; bring more root keystores (--root-keystore DIR), or run the ceremony: airlock root propose, then airlock root sign on each holder's device`
        : `${listings.map((l) => l.dir).join(', ')} hold${listings.length === 1 ? 's' : ''} ${out.length} of the ${role} keys root v${root.version} lists (${keyids.map((k) => k.slice(0, 12)).join(', ')}), ${threshold} needed; give --keystore with the one that does (airlock key list)`,
      { details: { role, needed: threshold, available: out.length, keyids } },
    );
  }
  return role === 'root' ? out : out.slice(0, threshold);
}

/**
 * The outgoing keys of a role whose keys a root change replaces, when the keystores hold
 * enough of them to meet the previous root's threshold: they co-sign the transition so
 * clients still on the previous root accept it (transaction.ts). Optional: without them
 * the change is published with the refusal window docs/publishing.md describes. A key
 * whose token is not here cannot co-sign (the rotation may answer that very loss).
 */
export function outgoingKeys(listings: readonly KeystoreListing[], previous: RootSigned, staying: readonly string[], role: OnlineRole): KeyNeed[] {
  const leaving = previous.roles[role].keyids.filter((k) => !staying.includes(k));
  if (leaving.length === 0) return [];
  const held: KeyNeed[] = [];
  for (const l of listings) {
    for (const k of l.keys) {
      if (k.role === role && leaving.includes(k.keyId) && !tokenAbsent(l, k.keyId) && !held.some((n) => n.keyId === k.keyId)) held.push(need(k, l.dir, `transition: outgoing ${role} key co-signs for clients on root v${previous.version}`));
    }
  }
  const kept = previous.roles[role].keyids.filter((k) => staying.includes(k)).length;
  return held.length + kept >= previous.roles[role].threshold ? held : [];
}

/**
 * The loud line a plan prints when a root change replaces the keys of `roles` and nothing
 * at hand can co-sign the transition (docs/publishing.md "When the outgoing key is lost").
 */
export function uncosignedWarning(roles: readonly OnlineRole[], previousVersion: number): string[] {
  if (roles.length === 0) return [];
  return [
    `WARNING: the outgoing ${roles.join(', ')} key${roles.length > 1 ? 's are' : ' is'} not at hand to co-sign the transition: while a host holds the new ${roles.includes('timestamp') ? 'timestamp' : 'metadata'} and not yet root v${previousVersion + 1} (or the reverse), clients refuse it (an error, never a wrong release) — publish this change in one go, to every host, and re-run \`airlock publish\` at once if it is interrupted (docs/publishing.md)`,
  ];
}

function tokenAbsent(listing: KeystoreListing, keyId: string): boolean {
  return listing.tokens?.some((t) => t.keyId === keyId && !t.present) ?? false;
}

/** For the roles root does not govern (pgp, minisign, ssh, publish) the newest key of the role is the one in use (lib/keys newestKeyOf). */
export function newestKey(listing: KeystoreListing, role: 'pgp' | 'minisign' | 'ssh' | 'publish', purpose: string): KeyNeed | undefined {
  const newest = newestKeyOf(listing.keys, role);
  return newest ? need(newest, listing.dir, purpose) : undefined;
}

/** The publish key, when an SFTP host is among `hosts` (E_KEY_NOT_FOUND without one). */
export function publishKeyFor(listing: KeystoreListing, hosts: readonly PlannedHost[]): KeyNeed[] {
  if (!hosts.some((h) => h.kind === 'sftp')) return [];
  const k = newestKey(listing, 'publish', 'logs in to the SFTP hosts');
  if (!k) throw new AirlockError('E_KEY_NOT_FOUND', `${listing.dir} has no publish key for SFTP hosts; run \`airlock key generate publish\` and install it on the host (airlock host add prints the line)`);
  return [k];
}

/**
 * Refuses a plan that needs a token key whose token was not seen in a slot (E_TOKEN_ABSENT,
 * or the module's own refusal): before the build, before a passphrase, before a write —
 * not at unlock. Returns `keys` (every plan ends with it).
 */
export function refuseAbsentTokens(keys: KeyNeed[], listings: readonly KeystoreListing[]): KeyNeed[] {
  for (const k of keys) {
    if (k.kind !== 'pkcs11') continue;
    const seen = listings.find((l) => l.dir === k.keystore)?.tokens?.find((t) => t.keyId === k.keyId);
    // A listing made without observing tokens (a test's) is taken as present; unlock decides.
    if (seen && !seen.present) {
      throw new AirlockError(seen.code ?? 'E_TOKEN_ABSENT', `the ${k.role} key ${k.keyId.slice(0, 16)} (${k.purpose}) lives in a token that is not here: ${seen.message ?? 'no such token'}`, {
        details: { keyId: k.keyId, role: k.role },
      });
    }
  }
  return keys;
}

/** Short lines for a printed plan: "targets  3f2a…  in /media/keystore  (signs targets)". */
export function describeKeys(keys: readonly KeyNeed[]): string[] {
  return keys.map((k) => `  ${k.role.padEnd(9)} ${k.keyId.slice(0, 16)}  ${k.kind === 'pkcs11' ? 'token ' : ''}in ${k.keystore}  (${k.purpose})`);
}
