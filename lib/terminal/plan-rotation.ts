// `airlock key rotate ROLE` and `airlock root publish`, planned: the root keys at hand
// (their threshold checked before a key is generated), the online keys that re-sign what
// the new root no longer accepts, the outgoing keys that co-sign the transition so clients
// still on the previous root accept every state a host passes through, the files and the
// hosts. Pure over the signed state, the keystores' public listings and the proposal.
import type { Envelope, RootSigned } from '../core/tuf-metadata.js';
import type { HostSpec } from '../publish/publish.js';
import type { SignedState } from '../repo/local-repository.js';
import { assertRootPublishable } from '../repo/root-ceremony.js';
import { metadataEdit, rolesNeedingResign, withDependents, type OnlineRole } from '../repo/transaction.js';
import { AirlockError } from '../core/errors.js';
import { listedKeys, outgoingKeys, plannedHosts, publishKeyFor, refuseAbsentTokens, uncosignedWarning, type KeyNeed, type KeystoreListing, type PlannedHost } from './plan.js';

export interface RotationPlan {
  kind: 'rotation';
  role: OnlineRole;
  rootVersion: number;
  oldKeyIds: string[];
  /** Keys unlocked: root keys, the online keys re-signing, the outgoing key of the role (transition), the publish key. */
  keys: KeyNeed[];
  /** A new key of `role` is generated in this keystore (after every check passed). */
  newKeyIn: string;
  resign: OnlineRole[];
  /** Online roles whose outgoing keys, at hand and meeting the old root's threshold, co-sign the transition. */
  transition: OnlineRole[];
  /** Online roles whose keys change with no co-signature: clients refuse the state between timestamp and root. */
  uncosigned: OnlineRole[];
  warnings: string[];
  files: string[];
  hosts: PlannedHost[];
}

export function planRotation(input: { state: SignedState; role: string; keystore: KeystoreListing; rootKeystores: readonly KeystoreListing[]; hosts: readonly HostSpec[] }): RotationPlan {
  const { state } = input;
  if (!['targets', 'snapshot', 'timestamp'].includes(input.role)) {
    throw new AirlockError('E_USAGE', `key rotate takes targets, snapshot or timestamp; root keys change through the ceremony (airlock root propose --add-key/--remove-key)`);
  }
  const role = input.role as OnlineRole;
  const root = state.root.signed;
  const listings = [input.keystore, ...input.rootKeystores.filter((l) => l.dir !== input.keystore.dir)];
  // The root role does not change, so the current root's threshold is the one to meet (old and new).
  const rootKeys = listedKeys(listings, root, 'root', 'signs the new root');
  const resign = withDependents([role]);
  const online = resign.filter((r) => r !== role).flatMap((r) => listedKeys([input.keystore], root, r, `re-signs ${r}`));
  // The outgoing keys co-sign the transition when the keystores hold enough of them to meet
  // the old root's threshold (a lost key cannot; too few would not count for old clients).
  const outgoing = outgoingKeys(listings, root, [], role);
  const hosts = plannedHosts(input.hosts);
  const edit = metadataEdit(state, state.root.signed, { paths: [], forced: resign, newRoot: root.version + 1 });
  return {
    kind: 'rotation',
    role,
    rootVersion: root.version + 1,
    oldKeyIds: root.roles[role].keyids,
    keys: refuseAbsentTokens([...rootKeys, ...online, ...outgoing, ...publishKeyFor(input.keystore, hosts)], listings),
    newKeyIn: input.keystore.dir,
    resign,
    transition: outgoing.length > 0 ? [role] : [],
    uncosigned: outgoing.length > 0 ? [] : [role],
    warnings: outgoing.length > 0 ? [] : uncosignedWarning([role], root.version),
    files: edit.files,
    hosts,
  };
}

export interface RootPublishPlan {
  kind: 'root-publish';
  version: number;
  resign: OnlineRole[];
  /** Online roles whose outgoing keys are at hand to co-sign the transition. */
  transition: OnlineRole[];
  /** Online roles whose keys change with no co-signature (see RotationPlan). */
  uncosigned: OnlineRole[];
  warnings: string[];
  keys: KeyNeed[];
  files: string[];
  hosts: PlannedHost[];
}

export function planRootPublish(input: { state: SignedState; proposal: Envelope<RootSigned>; keystore: KeystoreListing; hosts: readonly HostSpec[]; now: Date }): RootPublishPlan {
  const { state, proposal } = input;
  const previous = state.root.signed;
  if (proposal.signed.version <= previous.version) {
    throw new AirlockError('E_ROOT_PROPOSAL', `the repository is already at root v${previous.version}; this proposal (v${proposal.signed.version}) is stale — propose again`);
  }
  // Refused here, before any passphrase, when a threshold is not met.
  assertRootPublishable(previous, proposal, input.now);
  const resign = withDependents(rolesNeedingResign(state, proposal.signed));
  const keys: KeyNeed[] = [];
  const transition: OnlineRole[] = [];
  const uncosigned: OnlineRole[] = [];
  for (const role of resign) {
    // The keys the NEW root lists: after a rotation the keystore may hold the retired key too.
    keys.push(...listedKeys([input.keystore], proposal.signed, role, `signs ${role} for root v${proposal.signed.version}`));
    const staying = proposal.signed.roles[role].keyids;
    const out = outgoingKeys([input.keystore], previous, staying, role);
    if (out.length > 0) transition.push(role);
    else if (previous.roles[role].keyids.some((k) => !staying.includes(k))) uncosigned.push(role);
    keys.push(...out);
  }
  const hosts = plannedHosts(input.hosts);
  keys.push(...publishKeyFor(input.keystore, hosts));
  refuseAbsentTokens(keys, [input.keystore]);
  const edit = metadataEdit(state, proposal.signed, { paths: [], forced: [], newRoot: proposal.signed.version });
  return { kind: 'root-publish', version: proposal.signed.version, resign, transition, uncosigned, warnings: uncosignedWarning(uncosigned, previous.version), keys, files: edit.files, hosts };
}
