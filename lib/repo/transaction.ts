// The one editing transaction: the only code that writes TUF metadata (STYLE "The
// repository side"; modelled on python-tuf `tuf/repository/_repository.py`: `edit()`,
// `do_snapshot()`, `do_timestamp()`). A command opens the current signed state, edits
// roles — targets (or the hash bins a path falls in), root — and stages content; then
// `commit` computes targets → snapshot → timestamp once, re-signing every online role
// the governing root no longer accepts (TUF §5.3.11: a client holding the new root
// refuses metadata its keys did not sign), signs with the keys the plan named, stages
// everything and moves it into the repository copy in publishing order. init, release,
// refresh, key rotation and root publish are short scripts over it.
//
// A root change that replaces an online key is published as a transition: the online
// metadata of the transition is signed by the incoming keys (the new root) AND by the
// outgoing ones (the previous root) when they are at hand, and the publishing order puts
// a new root after timestamp.json (lib/core/host-layout.ts), so a client holding either
// root accepts every state a host passes through (docs/publishing.md).
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { canonicalBytes } from '../core/canonical-json.js';
import { sha256Hex } from '../core/digest.js';
import { AirlockError, fromSystemError } from '../core/errors.js';
import { metadataFileName, metaFileFor, nextSnapshot, nextTargets, nextTimestamp, SPEC_VERSION, thresholdResult, topLevelRoleVerification, type Envelope, type MetaFile, type RootSigned, type SnapshotSigned, type TargetFileInfo, type TargetsSigned, type TimestampSigned } from '../core/tuf-metadata.js';
import type { Signer } from '../keys/signer.js';
import { expiresAt, type ExpiryDays } from './expiry.js';
import { allBinNames, binFor, DEFAULT_BIN_LAYOUT, layoutOf, succinctDelegations, type BinLayout } from './hash-bins.js';
import { commitStaged, LocalRepository, type CurrentMetadata } from './local-repository.js';
import { envelopeBytes, signMetadata } from './sign-metadata.js';

export type OnlineRole = 'targets' | 'snapshot' | 'timestamp';
export const ONLINE_ROLES: readonly OnlineRole[] = ['targets', 'snapshot', 'timestamp'];

/** Keys at hand per role. Only those the governing root lists sign (plus, in a transition, those the previous root lists). */
export type RoleSigners = Partial<Record<OnlineRole, readonly Signer[]>>;

export const DEFAULT_HASH_BINS = { afterTargets: 1024, layout: DEFAULT_BIN_LAYOUT } as const;

export interface TransactionOptions {
  now: Date;
  expiryDays: ExpiryDays;
  /** Past this many targets, targets delegate to hash bins (DESIGN "Scale"). */
  hashBins?: { afterTargets: number; layout: BinLayout };
}

export interface CommitResult {
  /** Every path written, in publishing order. */
  files: string[];
  /** New version of each online role signed. */
  versions: Partial<Record<OnlineRole, number>>;
  /** Hash bins signed. */
  bins: string[];
  /** Online roles signed by the outgoing keys too (a key-rotation transition). */
  transition: OnlineRole[];
  root?: { version: number; fingerprint: string };
  next: CurrentMetadata;
}

/** The roles a change to `roles` forces to be re-signed too, in signing order (targets → snapshot → timestamp). */
export function withDependents(roles: Iterable<OnlineRole>): OnlineRole[] {
  const set = new Set(roles);
  if (set.has('targets')) set.add('snapshot');
  if (set.has('snapshot')) set.add('timestamp');
  return ONLINE_ROLES.filter((r) => set.has(r));
}

/** Online roles whose current metadata does not meet the threshold `root` sets for them. */
export function rolesNeedingResign(current: Pick<CurrentMetadata, OnlineRole>, root: RootSigned): OnlineRole[] {
  return ONLINE_ROLES.filter((role) => !thresholdResult({ signatures: current[role].signatures, signedBytes: canonicalBytes(current[role].signed) }, topLevelRoleVerification(root, role)).verified);
}

/**
 * The signers of `role` that `root` lists, at least its threshold of them; otherwise
 * E_KEY_NOT_FOUND naming the keys root wants, so the user knows which keystore to bring.
 */
export function listedSigners(root: RootSigned, role: OnlineRole, signers: readonly Signer[] | undefined): Signer[] {
  const { keyids, threshold } = root.roles[role];
  const seen = new Set<string>();
  const usable = (signers ?? []).filter((s) => keyids.includes(s.keyId) && !seen.has(s.keyId) && seen.add(s.keyId));
  if (usable.length < threshold) {
    throw new AirlockError(
      'E_KEY_NOT_FOUND',
      `signing ${role} needs ${threshold} of the ${role} keys root v${root.version} lists (${keyids.map((k) => k.slice(0, 12)).join(', ')}), and only ${usable.length} were given; use the keystore that holds them (airlock key list)`,
      { details: { role, needed: threshold, given: usable.length, keyids } },
    );
  }
  return usable;
}

export class RepositoryTransaction {
  readonly #additions: Record<string, TargetFileInfo> = {};
  readonly #forced = new Set<OnlineRole>();
  readonly #files: { path: string; bytes: Uint8Array }[] = [];
  #root: Envelope<RootSigned> | undefined;
  #closed = false;

  private constructor(
    readonly repo: LocalRepository,
    /** Undefined for a new repository (init). */
    readonly current: CurrentMetadata | undefined,
    /** Content written here (release files, apt indices) is committed with the metadata. */
    readonly stagingDir: string,
    readonly options: TransactionOptions,
  ) {}

  /** Opens the repository's current signed state for editing. */
  static async open(repoDir: string, stagingRoot: string, options: TransactionOptions): Promise<RepositoryTransaction> {
    const repo = new LocalRepository(repoDir);
    const current = await repo.current();
    return new RepositoryTransaction(repo, current, await makeStaging(stagingRoot), options);
  }

  /** A transaction that creates repository version 1 (init); refused where a repository exists. */
  static async create(repoDir: string, stagingRoot: string, options: TransactionOptions): Promise<RepositoryTransaction> {
    const repo = new LocalRepository(repoDir);
    if (await repo.exists()) {
      throw new AirlockError('E_ALREADY_INITIALISED', `${repoDir} already holds a repository; use \`airlock root propose\` to change its keys`);
    }
    return new RepositoryTransaction(repo, undefined, await makeStaging(stagingRoot), options);
  }

  /** Adds targets: to targets.json, or to the bins their paths fall in. A path already there is E_RELEASE_EXISTS. */
  addTargets(additions: Record<string, TargetFileInfo>): void {
    for (const [path, info] of Object.entries(additions)) {
      if (this.#additions[path] !== undefined) throw new AirlockError('E_RELEASE_EXISTS', `target ${path} is added twice`);
      this.#additions[path] = info;
    }
  }

  /** Makes `root` the repository's root (its signatures were checked by the caller's plan: root-publish.ts). */
  setRoot(root: Envelope<RootSigned>): void {
    this.#root = root;
  }

  /** Re-signs `roles` (and what points at them) even if nothing in them changed: refresh. */
  resign(roles: Iterable<OnlineRole>): void {
    for (const r of roles) this.#forced.add(r);
  }

  /** A file outside metadata/ to write with the change (keys/*). */
  addFile(path: string, bytes: Uint8Array | string): void {
    this.#files.push({ path, bytes: typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes });
  }

  /** The governing root after the change. */
  get root(): RootSigned {
    const r = this.#root?.signed ?? this.current?.root.signed;
    if (!r) throw new Error('RepositoryTransaction: a new repository needs setRoot before anything is signed');
    return r;
  }

  /**
   * The online roles commit will sign, in signing order, and the bins: computed before any
   * key is touched, so a plan (or a missing key) is known first.
   */
  async rolesToSign(): Promise<{ roles: OnlineRole[]; bins: string[] }> {
    return (await this.#targetsEdit()).sign;
  }

  /** Signs what changed with `signers`, stages it and moves it into the copy in publishing order. */
  async commit(signers: RoleSigners): Promise<CommitResult> {
    if (this.#closed) throw new Error('RepositoryTransaction: already committed or closed');
    try {
      return await this.#commit(signers);
    } finally {
      await this.close();
    }
  }

  /** Drops everything staged; the copy is untouched. */
  async close(): Promise<void> {
    this.#closed = true;
    await rm(this.stagingDir, { recursive: true, force: true });
  }

  async #targetsEdit(): Promise<MetadataEdit> {
    return metadataEdit(this.current, this.root, { paths: Object.keys(this.#additions), forced: [...this.#forced] }, this.options.hashBins);
  }

  /** A published target path is immutable: refused before the first signature. */
  async #refuseExisting(layout: BinLayout | undefined): Promise<void> {
    const cur = this.current;
    const paths = Object.keys(this.#additions);
    if (!cur || paths.length === 0) return;
    if (!layout) {
      const dup = paths.find((p) => cur.targets.signed.targets[p] !== undefined);
      if (dup) throw releaseExists(dup);
      return;
    }
    for (const bin of new Set(paths.map((p) => binFor(layout, p)))) {
      const prior = await this.repo.readDelegated(cur.snapshot.signed, bin);
      const dup = paths.find((p) => prior?.signed.targets[p] !== undefined);
      if (dup) throw releaseExists(dup);
    }
  }

  async #commit(signers: RoleSigners): Promise<CommitResult> {
    const { now, expiryDays } = this.options;
    const root = this.root;
    const previous = this.#root && this.current ? this.current.root.signed : undefined;
    const edit = await this.#targetsEdit();
    const { roles } = edit.sign;
    await this.#refuseExisting(edit.layout);

    // Every key is checked before the first signature: a missing key costs nothing.
    const chosen = {} as Record<OnlineRole, Signer[]>;
    const transition: OnlineRole[] = [];
    for (const role of roles) {
      chosen[role] = listedSigners(root, role, signers[role]);
      // A transition: the previous root's keys for this role sign too, when they are at hand
      // and can meet its threshold, so clients still on the previous root accept it.
      if (previous && !sameKeys(previous, root, role)) {
        const outgoing = (signers[role] ?? []).filter((s) => previous.roles[role].keyids.includes(s.keyId) && !chosen[role].some((c) => c.keyId === s.keyId));
        const ids = new Set([...chosen[role], ...outgoing].map((s) => s.keyId));
        if (previous.roles[role].keyids.filter((k) => ids.has(k)).length >= previous.roles[role].threshold && outgoing.length > 0) {
          chosen[role] = [...chosen[role], ...outgoing];
          transition.push(role);
        }
      }
    }
    if (edit.sign.bins.length > 0 && !roles.includes('snapshot')) throw new Error('RepositoryTransaction: bins changed without a snapshot');

    const staged: { path: string; bytes: Uint8Array }[] = [...this.#files];
    const result: CommitResult = { files: [], versions: {}, bins: [], transition, next: undefined as unknown as CurrentMetadata };
    if (this.#root) {
      const bytes = envelopeBytes(this.#root);
      staged.push({ path: `metadata/${metadataFileName('root', this.#root.signed.version)}`, bytes });
      // The bootstrap copy users pin follows the newest root (DESIGN layout, keys/root.json).
      staged.push({ path: 'keys/root.json', bytes });
      result.root = { version: this.#root.signed.version, fingerprint: sha256Hex(bytes) };
    }

    const cur = this.current;
    let targets = cur?.targets;
    let snapshot = cur?.snapshot;
    let timestamp = cur?.timestamp;
    const snapshotMeta: Record<string, MetaFile> = {};
    const expiresTargets = expiresAt('targets', now, expiryDays);

    if (roles.includes('targets') || edit.sign.bins.length > 0) {
      // Bins are signed by the targets keys: one key, one role, no new secret to guard. The
      // delegation names the keys root lists now (so it follows a rotation).
      const binLayout = edit.layout ?? (edit.crossing ? (this.options.hashBins ?? DEFAULT_HASH_BINS).layout : undefined);
      let nextTop: TargetsSigned | undefined;
      if (roles.includes('targets')) {
        nextTop = cur ? nextTargets(cur.targets.signed, binLayout ? {} : this.#additions, expiresTargets) : emptyTargets(expiresTargets);
        if (binLayout) {
          const binKeys = listedSigners(root, 'targets', signers.targets);
          nextTop.delegations = succinctDelegations(binLayout, binKeys.map((s) => s.tufKey), root.roles.targets.threshold);
          if (edit.crossing) nextTop.targets = {};
        }
      }
      if (binLayout) {
        const delegation = (nextTop ?? cur!.targets.signed).delegations!.succinct_roles!;
        const binSigners = (signers.targets ?? []).filter((s) => delegation.keyids.includes(s.keyId));
        if (binSigners.length < delegation.threshold) {
          throw new AirlockError('E_KEY_NOT_FOUND', `signing hash bins needs ${delegation.threshold} of the keys targets delegates them to (${delegation.keyids.map((k) => k.slice(0, 12)).join(', ')}); use the keystore that holds them`);
        }
        const grouped = new Map<string, Record<string, TargetFileInfo>>(edit.sign.bins.map((b) => [b, {}]));
        const moving = edit.crossing ? { ...cur!.targets.signed.targets, ...this.#additions } : this.#additions;
        for (const [path, info] of Object.entries(moving)) grouped.get(binFor(binLayout, path))![path] = info;
        for (const [bin, group] of grouped) {
          const prior = edit.crossing ? undefined : await this.repo.readDelegated(cur!.snapshot.signed, bin);
          if (!edit.crossing && !prior) throw new AirlockError('E_REPOSITORY_DAMAGED', `snapshot lists no ${bin}.json; the terminal's repository copy is damaged — restore it from a backup or a host`);
          const env = await signMetadata(nextTargets(prior?.signed, group, expiresTargets), binSigners, bin);
          const bytes = envelopeBytes(env);
          staged.push({ path: `metadata/${metadataFileName(bin, env.signed.version)}`, bytes });
          snapshotMeta[metadataFileName(bin)] = metaFileFor(env.signed.version, bytes);
          result.bins.push(bin);
        }
      }
      if (nextTop) {
        targets = await signMetadata(nextTop, chosen.targets);
        const bytes = envelopeBytes(targets);
        staged.push({ path: `metadata/${metadataFileName('targets', targets.signed.version)}`, bytes });
        snapshotMeta[metadataFileName('targets')] = metaFileFor(targets.signed.version, bytes);
        result.versions.targets = targets.signed.version;
      }
    }
    let snapshotBytes: Uint8Array | undefined;
    if (roles.includes('snapshot')) {
      snapshot = await signMetadata(nextSnapshot(snapshot?.signed, snapshotMeta, expiresAt('snapshot', now, expiryDays)), chosen.snapshot);
      snapshotBytes = envelopeBytes(snapshot);
      staged.push({ path: `metadata/${metadataFileName('snapshot', snapshot.signed.version)}`, bytes: snapshotBytes });
      result.versions.snapshot = snapshot.signed.version;
    }
    if (roles.includes('timestamp')) {
      const meta = snapshotBytes ? metaFileFor(snapshot!.signed.version, snapshotBytes) : timestamp!.signed.meta['snapshot.json'];
      timestamp = await signMetadata(nextTimestamp(timestamp?.signed, meta, expiresAt('timestamp', now, expiryDays)), chosen.timestamp);
      staged.push({ path: `metadata/${metadataFileName('timestamp')}`, bytes: envelopeBytes(timestamp) });
      result.versions.timestamp = timestamp.signed.version;
    }

    for (const f of staged) await writeFileAtomic(join(this.stagingDir, ...f.path.split('/')), f.bytes);
    result.files = await commitStaged(this.stagingDir, this.repo.dir);
    result.next = { root: this.#root ?? cur!.root, targets: targets!, snapshot: snapshot!, timestamp: timestamp! };
    return result;
  }
}

export interface MetadataEdit {
  layout: BinLayout | undefined;
  /** This change moves every target into hash bins. */
  crossing: boolean;
  sign: { roles: OnlineRole[]; bins: string[] };
  /** The metadata files the change writes, in publishing order (versioned names). */
  files: string[];
}

/**
 * What a change signs, computed from the current state alone (pure, so a plan shows it
 * before any key is touched; the transaction follows the same function): the online roles
 * in signing order — edited ones, forced ones, those the governing root no longer accepts
 * (python-tuf do_snapshot), and what points at them — and the hash bins.
 */
export function metadataEdit(
  current: CurrentMetadata | undefined,
  /** The governing root; consulted only when there is a current state (init's plan has neither). */
  root: RootSigned | undefined,
  change: { paths: readonly string[]; forced: readonly OnlineRole[]; newRoot?: number },
  hashBins: TransactionOptions['hashBins'] = DEFAULT_HASH_BINS,
): MetadataEdit {
  const unaccepted = current && root ? rolesNeedingResign(current, root) : [...ONLINE_ROLES];
  const adding = change.paths.length > 0;
  const resignTargets = change.forced.includes('targets') || unaccepted.includes('targets') || current === undefined;
  const layout = layoutOf(current?.targets.signed.delegations);
  const bins = new Set<string>();
  let crossing = false;
  if (layout) {
    if (resignTargets) for (const b of allBinNames(layout)) bins.add(b);
    for (const path of change.paths) bins.add(binFor(layout, path));
  } else if (adding) {
    crossing = Object.keys(current?.targets.signed.targets ?? {}).length + change.paths.length > hashBins.afterTargets;
    if (crossing) for (const b of allBinNames(hashBins.layout)) bins.add(b);
  }
  const targetsChanged = resignTargets || crossing || (adding && !layout);
  const roles = withDependents([...(targetsChanged ? (['targets'] as const) : []), ...(bins.size > 0 ? (['snapshot'] as const) : []), ...change.forced, ...unaccepted]);
  const binList = [...bins].sort();
  const version = (role: OnlineRole): number => (current?.[role].signed.version ?? 0) + 1;
  const files = [
    ...binList.map((b) => `metadata/${metadataFileName(b, (current?.snapshot.signed.meta[metadataFileName(b)]?.version ?? 0) + 1)}`),
    ...(roles.includes('targets') ? [`metadata/${metadataFileName('targets', version('targets'))}`] : []),
    ...(roles.includes('snapshot') ? [`metadata/${metadataFileName('snapshot', version('snapshot'))}`] : []),
    ...(roles.includes('timestamp') ? [`metadata/${metadataFileName('timestamp')}`] : []),
    ...(change.newRoot !== undefined ? [`metadata/${metadataFileName('root', change.newRoot)}`, 'keys/root.json'] : []),
  ];
  return { layout, crossing, sign: { roles, bins: binList }, files };
}

function sameKeys(a: RootSigned, b: RootSigned, role: OnlineRole): boolean {
  const x = [...a.roles[role].keyids].sort();
  const y = [...b.roles[role].keyids].sort();
  return x.length === y.length && x.every((k, i) => k === y[i]) && a.roles[role].threshold === b.roles[role].threshold;
}

function emptyTargets(expires: string): TargetsSigned {
  return { _type: 'targets', spec_version: SPEC_VERSION, version: 1, expires, targets: {} };
}

function releaseExists(path: string): AirlockError {
  return new AirlockError('E_RELEASE_EXISTS', `target ${path} is already in the repository; a published version is immutable — release under a new version`);
}

async function makeStaging(stagingRoot: string): Promise<string> {
  const dir = join(stagingRoot, `tx-${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw fromSystemError(err, `creating the staging directory ${dir}`);
  }
  return dir;
}

export type { SnapshotSigned, TimestampSigned };
