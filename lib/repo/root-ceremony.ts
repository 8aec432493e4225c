// The root signing ceremony (docs/keys.md; TUF §6.1 key management,
// §5.3.4 root update): `propose` writes an unsigned N+1.root.json, each root key holder
// adds a signature on their own device after reading what changes, and `publish`
// accepts it only when the threshold of the old root AND of the new root signed it —
// the two checks every client makes when it follows the rotation. The proposal file is
// the very TUF metadata file that gets published (canonical JSON), so what holders sign
// is byte for byte what clients verify.
import { writeFileAtomic } from '../core/atomic-file.js';
import { readRegularFile } from '../core/regular-file.js';
import { canonicalBytes } from '../core/canonical-json.js';
import { sha256Hex } from '../core/digest.js';
import { AirlockError, fromSystemError, isAirlockError } from '../core/errors.js';
import { tufKeyId, type TufKey } from '../core/tuf-key.js';
import {
  parseExpires,
  parseRoot,
  rootProblems,
  thresholdResult,
  TOP_LEVEL_ROLES,
  topLevelRoleVerification,
  verifyThreshold,
  type Envelope,
  type RootSigned,
  type TopLevelRole,
} from '../core/tuf-metadata.js';
import type { Signer } from '../keys/signer.js';
import type { ExpiryDays } from './expiry.js';
import { LocalRepository } from './local-repository.js';
import { RepositoryTransaction, rolesNeedingResign, type OnlineRole, type RoleSigners } from './transaction.js';
import { envelopeBytes, addSignatures } from './sign-metadata.js';
import { buildRoot } from './top-level.js';

/** A proposal file is at most this big; a root with a few dozen keys is a few KiB. */
const MAX_PROPOSAL_BYTES = 512 * 1024;

// --- proposing ---------------------------------------------------------------------------

export interface RootChange {
  /** Keys that become the role's only keys (a rotation); applied before remove and add. */
  replace?: Partial<Record<TopLevelRole, readonly TufKey[]>>;
  /** Key ids (or unique prefixes of at least 8 hex digits) to drop from a role. */
  remove?: readonly { role: TopLevelRole; keyId: string }[];
  add?: readonly { role: TopLevelRole; key: TufKey }[];
  /** New thresholds; a role not named keeps its threshold. */
  thresholds?: Partial<Record<TopLevelRole, number>>;
  /** Expiry of the new root (TUF form, YYYY-MM-DDTHH:MM:SSZ). */
  expires: string;
}

/** Resolves a key id or a unique prefix of one among the ids `role` lists. */
export function resolveKeyId(root: RootSigned, role: TopLevelRole, idOrPrefix: string): string {
  const wanted = idOrPrefix.toLowerCase();
  if (!/^[0-9a-f]{8,64}$/.test(wanted)) {
    throw new AirlockError('E_ROOT_PROPOSAL', `"${idOrPrefix}" is not a key id; give at least 8 hex digits of one (airlock status lists them)`);
  }
  const matches = root.roles[role].keyids.filter((k) => k.startsWith(wanted));
  if (matches.length !== 1) {
    throw new AirlockError(
      'E_ROOT_PROPOSAL',
      matches.length === 0
        ? `root v${root.version} lists no ${role} key ${idOrPrefix}; airlock status shows the keys of each role`
        : `${idOrPrefix} matches ${matches.length} ${role} keys; give more digits`,
      { details: { role, keyId: idOrPrefix } },
    );
  }
  return matches[0]!;
}

/**
 * The next root (version N+1) after `change`, unsigned. Refused (E_ROOT_PROPOSAL) if the
 * change names keys that are not there, adds one twice, or leaves a role unusable.
 */
export function proposeRoot(current: RootSigned, change: RootChange): RootSigned {
  const keysOf = {} as Record<TopLevelRole, Map<string, TufKey>>;
  for (const role of TOP_LEVEL_ROLES) {
    keysOf[role] = new Map(current.roles[role].keyids.map((id) => [id, current.keys[id]!]));
  }
  for (const [role, keys] of Object.entries(change.replace ?? {}) as [TopLevelRole, readonly TufKey[]][]) {
    keysOf[role] = new Map(keys.map((k) => [tufKeyId(k), k]));
  }
  for (const { role, keyId } of change.remove ?? []) {
    keysOf[role].delete(resolveKeyId(current, role, keyId));
  }
  for (const { role, key } of change.add ?? []) {
    const id = tufKeyId(key);
    if (keysOf[role].has(id)) throw new AirlockError('E_ROOT_PROPOSAL', `the ${role} role already lists key ${id.slice(0, 12)}…; add each key once`);
    keysOf[role].set(id, key);
  }
  const signed = buildRoot({
    version: current.version + 1,
    expires: change.expires,
    roles: Object.fromEntries(
      TOP_LEVEL_ROLES.map((role) => [role, { keys: [...keysOf[role].values()], threshold: change.thresholds?.[role] ?? current.roles[role].threshold }]),
    ) as Record<TopLevelRole, { keys: TufKey[]; threshold: number }>,
  });
  checkRootProposal(current, signed);
  return signed;
}

/**
 * What makes a root a sound successor of `previous`, apart from its signatures: the next
 * version, and the rules every root the terminal signs meets (`rootProblems` in
 * lib/core/tuf-root.ts). `now` given: it must not have expired.
 */
export function checkRootProposal(previous: RootSigned, proposed: RootSigned, now?: Date): void {
  const problems: string[] = [];
  if (proposed.version !== previous.version + 1) problems.push(`its version is ${proposed.version}, and the next root must be version ${previous.version + 1}`);
  const expires = parseExpires(proposed.expires);
  if (expires === undefined) problems.push(`its expiry "${String(proposed.expires)}" is not a TUF time`);
  else if (now !== undefined && expires.getTime() <= now.getTime()) problems.push(`it expired at ${proposed.expires}; propose again with a later expiry`);
  problems.push(...rootProblems(proposed));
  if (problems.length > 0) {
    throw new AirlockError('E_ROOT_PROPOSAL', `the root proposal is not usable: ${problems.join('; ')}`, { details: { problems } });
  }
}

// --- what changes (shown to each holder before they sign) --------------------------------

export interface RoleDiff {
  role: TopLevelRole;
  added: string[];
  removed: string[];
  kept: string[];
  threshold: { from: number; to: number };
}

export interface RootDiff {
  from: { version: number; expires: string; fingerprint: string };
  to: { version: number; expires: string };
  roles: RoleDiff[];
  /** SHA-256 of the canonical signed part: holders compare it to be sure they sign the same proposal. */
  proposalDigest: string;
}

/** The order people read roles in: root first, then down the chain targets → snapshot → timestamp. */
const READING_ORDER: readonly TopLevelRole[] = ['root', 'targets', 'snapshot', 'timestamp'];

export function diffRoots(previous: Envelope<RootSigned>, proposed: RootSigned): RootDiff {
  const roles = READING_ORDER.map((role): RoleDiff => {
    const before = previous.signed.roles[role].keyids;
    const after = proposed.roles[role].keyids;
    return {
      role,
      added: after.filter((k) => !before.includes(k)),
      removed: before.filter((k) => !after.includes(k)),
      kept: after.filter((k) => before.includes(k)),
      threshold: { from: previous.signed.roles[role].threshold, to: proposed.roles[role].threshold },
    };
  });
  return {
    from: { version: previous.signed.version, expires: previous.signed.expires, fingerprint: sha256Hex(envelopeBytes(previous)) },
    to: { version: proposed.version, expires: proposed.expires },
    roles,
    proposalDigest: sha256Hex(canonicalBytes(proposed)),
  };
}

// --- signatures ------------------------------------------------------------------------

export interface ThresholdCount {
  /** The root whose root role is counted: the old one or the proposed one. */
  version: number;
  threshold: number;
  /** Key ids of that root's root role with a valid signature on the proposal. */
  signedBy: string[];
  /** Key ids of that root's root role that have not signed (yet). */
  missing: string[];
  met: boolean;
}

export interface RootSignatureStatus {
  old: ThresholdCount;
  new: ThresholdCount;
  /** Both thresholds met: the proposal can be published. */
  complete: boolean;
}

function countRole(root: RootSigned, proposal: Envelope<RootSigned>, message: Uint8Array): ThresholdCount {
  const r = thresholdResult({ signatures: proposal.signatures, signedBytes: message }, topLevelRoleVerification(root, 'root'));
  return { version: root.version, threshold: r.threshold, signedBy: r.signed, missing: r.missing, met: r.verified };
}

/** Which root keys of the old and of the new root have validly signed the proposal. */
export function rootSignatureStatus(previous: RootSigned, proposal: Envelope<RootSigned>): RootSignatureStatus {
  const message = canonicalBytes(proposal.signed);
  const old = countRole(previous, proposal, message);
  const fresh = countRole(proposal.signed, proposal, message);
  return { old, new: fresh, complete: old.met && fresh.met };
}

/** The root signers that may sign the proposal: those the old or the new root lists. */
export function eligibleRootSigners(previous: RootSigned, proposed: RootSigned, signers: readonly Signer[]): Signer[] {
  const listed = new Set([...previous.roles.root.keyids, ...proposed.roles.root.keyids]);
  const seen = new Set<string>();
  return signers.filter((s) => s.role === 'root' && listed.has(s.keyId) && !seen.has(s.keyId) && seen.add(s.keyId));
}

/**
 * Refuses (E_ROOT_THRESHOLD) when `signers` cannot reach the threshold of `previous`
 * and of `proposed` on their own: checked before anything is generated or signed.
 */
export function assertRootSignersSuffice(previous: RootSigned, proposed: RootSigned, signers: readonly Signer[]): void {
  const ids = new Set(eligibleRootSigners(previous, proposed, signers).map((s) => s.keyId));
  for (const root of [previous, proposed]) {
    const have = root.roles.root.keyids.filter((k) => ids.has(k)).length;
    if (have < root.roles.root.threshold) {
      throw new AirlockError(
        'E_ROOT_THRESHOLD',
        `root v${root.version} needs ${root.roles.root.threshold} root signatures and the keystores given hold ${have} of its root keys; bring more root keystores (--root-keystore DIR), or run the ceremony: airlock root propose, then airlock root sign on each holder's device`,
        { details: { version: root.version, threshold: root.roles.root.threshold, available: have } },
      );
    }
  }
}

/**
 * Adds the signatures of those `signers` the old or the new root lists. The proposal is
 * checked first, so nobody signs a root that could never be published.
 */
export async function signRootProposal(previous: RootSigned, proposal: Envelope<RootSigned>, signers: readonly Signer[], now: Date): Promise<{ proposal: Envelope<RootSigned>; signedWith: string[] }> {
  checkRootProposal(previous, proposal.signed, now);
  const eligible = eligibleRootSigners(previous, proposal.signed, signers);
  if (eligible.length === 0) {
    throw new AirlockError(
      'E_KEY_NOT_FOUND',
      `no root key given is listed by root v${previous.version} or by the proposal (v${proposal.signed.version}); sign with a keystore that holds one of their root keys`,
      { details: { given: signers.map((s) => s.keyId) } },
    );
  }
  return { proposal: await addSignatures(proposal, eligible, 'root'), signedWith: eligible.map((s) => s.keyId) };
}

/** Signatures from several signed copies of one proposal, as one envelope (parallel ceremonies). */
export function mergeRootProposals(copies: readonly Envelope<RootSigned>[]): Envelope<RootSigned> {
  const first = copies[0];
  if (!first) throw new AirlockError('E_USAGE', 'give at least one proposal file');
  const digest = sha256Hex(canonicalBytes(first.signed));
  const byKey = new Map<string, Envelope<RootSigned>['signatures'][number]>();
  for (const c of copies) {
    if (sha256Hex(canonicalBytes(c.signed)) !== digest) {
      throw new AirlockError('E_ROOT_PROPOSAL', 'the proposal files are copies of different proposals; merge only signed copies of the same one (compare their proposal digests)');
    }
    for (const s of c.signatures) if (!byKey.has(s.keyid)) byKey.set(s.keyid, s);
  }
  return { signatures: [...byKey.values()].sort((a, b) => (a.keyid < b.keyid ? -1 : 1)), signed: first.signed };
}

// --- the proposal file -------------------------------------------------------------------

/**
 * A root file brought from another device: a regular file (not a FIFO or device, which
 * would hang or never end), checked for size before it is read.
 */
async function readRootFile(path: string, what: string): Promise<Buffer> {
  let read;
  try {
    // A path the holder typed: a symlink to the file on their medium is fine.
    read = await readRegularFile(path, MAX_PROPOSAL_BYTES, { followSymlink: true });
  } catch (err) {
    throw fromSystemError(err, `reading ${what} ${path}`);
  }
  if (!('refused' in read)) return Buffer.from(read.bytes.buffer, read.bytes.byteOffset, read.bytes.byteLength);
  if (read.refused === 'absent') throw new AirlockError('E_IO', `reading ${what} ${path}: no such file or directory`);
  if (read.refused === 'too-large') throw new AirlockError('E_ROOT_PROPOSAL', `${path} is larger than any root metadata (${MAX_PROPOSAL_BYTES} bytes); is it the right file?`);
  throw new AirlockError('E_ROOT_PROPOSAL', `${path} is not a regular file; give the ${what} file itself`);
}

export async function readRootProposal(path: string): Promise<Envelope<RootSigned>> {
  const bytes = await readRootFile(path, 'the root proposal');
  let parsed;
  try {
    parsed = parseRoot(bytes, path);
  } catch (err) {
    if (isAirlockError(err, 'E_METADATA_INVALID')) throw new AirlockError('E_ROOT_PROPOSAL', `${path} is not a root metadata file: ${err.message}`, { cause: err, details: err.details });
    throw err;
  }
  // Signatures cover the canonical form of what was written; a re-serialisation that
  // differs (a hand edit, a missing default) would publish bytes nobody signed.
  if (Buffer.compare(Buffer.from(canonicalBytes(parsed.signed)), Buffer.from(parsed.signedBytes)) !== 0) {
    throw new AirlockError('E_ROOT_PROPOSAL', `${path} holds fields airlock would not write back unchanged; make the proposal with \`airlock root propose\``);
  }
  return { signatures: parsed.signatures, signed: parsed.signed };
}

export async function writeRootProposal(path: string, proposal: Envelope<RootSigned>): Promise<void> {
  await writeFileAtomic(path, envelopeBytes(proposal));
}

/** The root the proposal follows, from the terminal's repository copy or a file the holder brought. */
export async function previousRootFor(proposal: RootSigned, from: { file?: string; repoDir?: string }): Promise<Envelope<RootSigned>> {
  const want = proposal.version - 1;
  let previous: Envelope<RootSigned>;
  if (from.file !== undefined) {
    const bytes = await readRootFile(from.file, 'the previous root');
    const parsed = parseRoot(bytes, from.file);
    previous = { signatures: parsed.signatures, signed: parsed.signed };
    // The root a holder compares against must at least be signed by its own threshold.
    verifyThreshold(parsed, topLevelRoleVerification(parsed.signed, 'root'), from.file);
  } else if (from.repoDir !== undefined && (await new LocalRepository(from.repoDir).rootVersions()).includes(want)) {
    previous = await new LocalRepository(from.repoDir).readRoot(want);
  } else {
    throw new AirlockError('E_ROOT_PROPOSAL', `the proposal is root v${proposal.version} and root v${want} is not here; bring metadata/${want}.root.json from the host and give it with --previous FILE`);
  }
  if (previous.signed.version !== want) {
    throw new AirlockError('E_ROOT_PROPOSAL', `the previous root given is v${previous.signed.version}, and the proposal follows v${want}`);
  }
  return previous;
}

// --- publishing --------------------------------------------------------------------------

export interface RootPublishResult {
  version: number;
  /** SHA-256 of the new keys/root.json: what users compare before pinning it. */
  rootFingerprint: string;
  /** Online roles re-signed because the new root no longer accepts their current version. */
  resigned: Partial<Record<OnlineRole, number>>;
  /** Online roles also signed by their outgoing keys, so clients on the previous root accept them. */
  transition: OnlineRole[];
  files: string[];
}

/**
 * TUF §5.3.4: the new root must be signed by the threshold of the old root's root keys
 * AND by the threshold of its own; plus everything checkRootProposal asks. Refused with
 * E_ROOT_THRESHOLD (details: who signed, who is missing) or E_ROOT_PROPOSAL.
 */
export function assertRootPublishable(previous: RootSigned, proposal: Envelope<RootSigned>, now: Date): RootSignatureStatus {
  checkRootProposal(previous, proposal.signed, now);
  const status = rootSignatureStatus(previous, proposal);
  if (!status.complete) {
    const lacking = [status.old, status.new].filter((c) => !c.met).map((c) => `root v${c.version}: ${c.signedBy.length} of ${c.threshold}`);
    throw new AirlockError(
      'E_ROOT_THRESHOLD',
      `the new root needs the signatures of the threshold of the old root and of the new root; valid signatures — ${lacking.join(', ')}; have more holders run \`airlock root sign\``,
      { details: { old: status.old, new: status.new } },
    );
  }
  return status;
}

export { rolesNeedingResign };

/**
 * Makes `proposal` the repository's root: refused (E_ROOT_THRESHOLD) unless the
 * thresholds of both the current and the proposed root signed it (TUF §5.3.4). Then
 * writes metadata/N+1.root.json and keys/root.json and, where the new root no longer
 * accepts the current targets, snapshot or timestamp (their keys changed), re-signs
 * them with `online` under the new keys, so clients that follow the rotation keep
 * working. Everything is staged first and moved in at once.
 */
export async function publishRoot(
  repoDir: string,
  stagingRoot: string,
  proposal: Envelope<RootSigned>,
  online: RoleSigners,
  options: { now: Date; expiryDays: ExpiryDays },
): Promise<RootPublishResult> {
  const tx = await RepositoryTransaction.open(repoDir, stagingRoot, options);
  try {
    const previous = tx.root;
    if (proposal.signed.version <= previous.version) {
      throw new AirlockError('E_ROOT_PROPOSAL', `the repository is already at root v${previous.version}; this proposal (v${proposal.signed.version}) is stale — propose again`);
    }
    assertRootPublishable(previous, proposal, options.now);
    tx.setRoot(proposal);
    const result = await tx.commit(online);
    return { version: proposal.signed.version, rootFingerprint: result.root!.fingerprint, resigned: result.versions, transition: result.transition, files: result.files };
  } finally {
    await tx.close();
  }
}
