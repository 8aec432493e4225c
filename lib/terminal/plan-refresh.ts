// `airlock refresh`, planned: which roles are due (lib/repo/refresh.ts), the keys that
// sign them, the files written and the hosts — and, from an observation of each host's
// timestamp.json, the refusal of a stale copy before anything is signed: a terminal whose
// copy is behind a host would sign a timestamp the host's clients reject (TUF §5.4.3)
// and leave two timestamps of one version in the world.
import type { TimestampSeen } from '../publish/plan.js';
import type { HostSpec } from '../publish/publish.js';
import type { CurrentMetadata } from '../repo/local-repository.js';
import { planRefresh as dueRoles, type RefreshPlan as DueRoles } from '../repo/refresh.js';
import { metadataEdit, type OnlineRole } from '../repo/transaction.js';
import type { TerminalConfig } from './config.js';
import { AirlockError } from '../core/errors.js';
import { planAptKeys, type PlannedAptKeys } from './plan-apt-keys.js';
import { listedKeys, localTimestamp, newestKey, plannedHosts, publishKeyFor, refuseAbsentTokens, type KeyNeed, type KeystoreListing, type PlannedHost } from './plan.js';

export interface RefreshPlanInput {
  /** The current metadata and each bin's expiry (observeTerminalExpiries: from the copy's bin summary). */
  state: CurrentMetadata & { bins: ReadonlyMap<string, { signed: { expires: string } }> };
  config: TerminalConfig;
  keystore: KeystoreListing;
  hosts: readonly HostSpec[];
  force: readonly OnlineRole[];
  marginDays: number;
  now: Date;
  /** apt suites in the copy: their Release is re-signed by the pgp key on every refresh. */
  aptSuites?: number;
  /** Fingerprints the copy's apt Releases name in Signed-By (observed; plan-apt-keys.ts). */
  aptSignedBy?: readonly string[];
}

export interface RefreshPlan extends DueRoles {
  kind: 'refresh';
  keys: KeyNeed[];
  files: string[];
  hosts: PlannedHost[];
  /** The local timestamp the hosts are compared with (observe-hosts.ts refuseStaleCopy). */
  timestamp: TimestampSeen;
  /** Across a pgp key change: the earlier keys co-signing the apt Release (their ids are in `keys`). */
  aptKeys?: PlannedAptKeys;
}

export function planRefresh(input: RefreshPlanInput): RefreshPlan {
  const { state } = input;
  const due = dueRoles(state, { now: input.now, expiryDays: input.config.expiryDays, marginDays: input.marginDays, force: input.force });
  const hashBins = { afterTargets: input.config.hashBins.afterTargets, layout: { bitLength: input.config.hashBins.bitLength, namePrefix: 'bins' } };
  const edit = metadataEdit(state, state.root.signed, { paths: [], forced: due.resign }, hashBins);
  let aptKeys: PlannedAptKeys | undefined;
  const keys = edit.sign.roles.flatMap((role) => listedKeys([input.keystore], state.root.signed, role, `signs ${role}`));
  if ((input.aptSuites ?? 0) > 0) {
    const pgp = newestKey(input.keystore, 'pgp', 're-signs the apt Release (Valid-Until)');
    if (!pgp) throw new AirlockError('E_KEY_NOT_FOUND', `${input.keystore.dir} has no pgp key to re-sign the apt Release; give --keystore with the one that does (airlock key list)`);
    keys.push(pgp);
    const apt = planAptKeys(input.keystore, pgp.keyId, input.aptSignedBy ?? [], input.config.apt?.retiredKeys ?? []);
    keys.push(...apt.keys);
    aptKeys = apt.transition;
  }
  const hosts = plannedHosts(input.hosts);
  keys.push(...publishKeyFor(input.keystore, hosts));
  refuseAbsentTokens(keys, [input.keystore]);
  return { ...due, kind: 'refresh', keys, files: edit.files, hosts, timestamp: localTimestamp(state), ...(aptKeys ? { aptKeys } : {}) };
}
