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
import { recordBinSummaries, summaryOf, type BinSummary } from './bin-summary.js';
import { expiresAt, type ExpiryDays } from './expiry.js';
import { allBinNames, binFor, binNamesOf, bitLengthFor, DEFAULT_BIN_LAYOUT, layoutOf, rebinnedLayout, succinctDelegations, type BinLayout } from './hash-bins.js';
import { commitStaged, LocalRepository, type CurrentMetadata, type KnownDigests } from './local-repository.js';
import { envelopeBytes, signMetadata } from './sign-metadata.js';

export type OnlineRole = 'targets' | 'snapshot' | 'timestamp';
export const ONLINE_ROLES: readonly OnlineRole[] = ['targets', 'snapshot', 'timestamp'];

/** Keys at hand per role. Only those the governing root lists sign (plus, in a transition, those the previous root lists). */
export type RoleSigners = Partial<Record<OnlineRole, readonly Signer[]>>;

export const DEFAULT_HASH_BINS = { afterTargets: 1024, layout: DEFAULT_BIN_LAYOUT } as const;
/** A target's entry in targets metadata (path, length, two hashes, custom.airlock), for sizing bins before any exist. */
export const ESTIMATED_TARGET_BYTES = 600;

export interface TransactionOptions {
  now: Date;
  expiryDays: ExpiryDays;
  /**
   * Past `afterTargets` targets, targets delegate to hash bins (DESIGN "Scale"): at least
   * 2^layout.bitLength of them, more when the metadata would pass `maxBinBytes` per bin
   * (hash-bins.ts MAX_BIN_BYTES unless set); bins that outgrow it are re-binned.
   */
  hashBins?: { afterTargets: number; layout: BinLayout; maxBinBytes?: number };
}

/**
 * Targets too many to hold in memory (an import): how many, and a stream of them in
 * ascending order of SHA-256(path) — the order of hash bins whatever their number (TAP 15:
 * a bin is a prefix of that hash), so each bin's targets arrive together and each bin is
 * signed once, with one bin's targets in memory.
 */
export interface StreamedTargets {
  count: number;
  entries(): AsyncIterable<readonly [string, TargetFileInfo]>;
}

export interface CommitResult {
  /** Every path written into the copy, in publishing order. */
  files: string[];
  /** Every path staged (files the copy already held byte for byte are staged but not written). */
  staged: string[];
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
  #streamed: StreamedTargets | undefined;
  readonly #forced = new Set<OnlineRole>();
  readonly #files: { path: string; bytes: Uint8Array }[] = [];
  #root: Envelope<RootSigned> | undefined;
  #closed = false;
  /** The bins this commit signs, for the copy's bin summary (bin-summary.ts: what status reads). */
  readonly #signedBins = new Map<string, BinSummary>();
  /** The releases the signed bins list (bin-summary.ts: what status counts). */
  readonly #signedReleases = new Set<string>();

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
    if (this.#streamed) throw new Error('RepositoryTransaction: addTargets after addStreamedTargets');
    for (const [path, info] of Object.entries(additions)) {
      if (this.#additions[path] !== undefined) throw new AirlockError('E_RELEASE_EXISTS', `target ${path} is added twice`);
      this.#additions[path] = info;
    }
  }

  /** Adds targets from a stream (StreamedTargets), once per transaction and not with addTargets. A path already there is E_RELEASE_EXISTS when its bin is signed, before anything moves into the copy. */
  addStreamedTargets(source: StreamedTargets): void {
    if (this.#streamed || Object.keys(this.#additions).length > 0) throw new Error('RepositoryTransaction: one stream of targets, not with addTargets');
    this.#streamed = source;
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
    return metadataEdit(this.current, this.root, { paths: Object.keys(this.#additions), forced: [...this.#forced], ...(this.#streamed ? { streamed: this.#streamed.count } : {}) }, this.options.hashBins);
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

  /** The consistent-snapshot copy of each target added (targets/<dir>/<sha256>.<name>) has the signed length and SHA-256: not read again. */
  #knownDigests(): KnownDigests {
    const known = new Map<string, { length: number; sha256: string }>();
    for (const [path, info] of Object.entries(this.#additions)) {
      const sha256 = info.hashes.sha256;
      if (sha256 === undefined) continue;
      const slash = path.lastIndexOf('/');
      known.set(`targets/${path.slice(0, slash + 1)}${sha256}.${path.slice(slash + 1)}`, { length: info.length, sha256 });
    }
    return known;
  }

  /** Every target the bins of `layout` hold (re-binning reads them all, once). */
  async #binnedTargets(layout: BinLayout): Promise<Record<string, TargetFileInfo>> {
    const all: Record<string, TargetFileInfo> = {};
    for (const bin of allBinNames(layout)) {
      const env = await this.repo.readDelegated(this.current!.snapshot.signed, bin);
      if (!env) throw new AirlockError('E_REPOSITORY_DAMAGED', `snapshot lists no ${bin}.json; the terminal's repository copy is damaged — restore it from a backup or a host`);
      Object.assign(all, env.signed.targets);
    }
    return all;
  }

  /**
   * Signs bins of `layout` from a stream in hash order, one bin's targets in memory at a
   * time. Into the current layout: each bin the stream fills, over its prior version. Into
   * a new one (crossing into bins, re-binning): every bin, with what moves into it — from
   * targets.json, or from the one old bin it splits (its hash prefix extends the old
   * bin's) — and the stream's targets.
   */
  async #signStreamedBins(stream: StreamedTargets, edit: MetadataEdit, layout: BinLayout, signers: readonly Signer[], expires: string, snapshotMeta: Record<string, MetaFile>, result: CommitResult): Promise<void> {
    const cur = this.current!;
    const fresh = edit.next !== undefined;
    // Every bin is signed into a new layout, or when the targets keys changed (as metadataEdit decides).
    const everyBin = fresh || this.#forced.has('targets') || rolesNeedingResign(cur, this.root).includes('targets');
    const fromTop = edit.crossing ? groupByBin(layout, cur.targets.signed.targets) : new Map<string, Record<string, TargetFileInfo>>();
    const old = fresh && edit.layout ? { names: allBinNames(edit.layout), shift: layout.bitLength - edit.layout.bitLength } : undefined;
    if (old && old.shift <= 0) throw new Error('RepositoryTransaction: re-binning into fewer bins');
    const names = allBinNames(layout);
    let split: { name: string; bins: Map<string, Record<string, TargetFileInfo>> } | undefined;
    const it = stream.entries()[Symbol.asyncIterator]();
    // A refusal half-way closes the stream (its open files) too.
    try {
      let head = await it.next();
      for (let i = 0; i < names.length; i++) {
        const bin = names[i]!;
        const group: Record<string, TargetFileInfo> = {};
        for (; !head.done; head = await it.next()) {
          const [path, info] = head.value;
          const b = binFor(layout, path);
          if (b < bin) throw new Error('RepositoryTransaction: streamed targets are not in hash order');
          if (b !== bin) break;
          if (group[path] !== undefined) throw new AirlockError('E_RELEASE_EXISTS', `target ${path} is added twice`);
          group[path] = info;
        }
        if (!everyBin && Object.keys(group).length === 0) continue;
        let moved: Record<string, TargetFileInfo> = fromTop.get(bin) ?? {};
        if (old) {
          const oldName = old.names[i >>> old.shift]!;
          if (split?.name !== oldName) {
            const env = await this.repo.readDelegated(cur.snapshot.signed, oldName);
            if (!env) throw new AirlockError('E_REPOSITORY_DAMAGED', `snapshot lists no ${oldName}.json; the terminal's repository copy is damaged — restore it from a backup or a host`);
            split = { name: oldName, bins: groupByBin(layout, env.signed.targets) };
          }
          moved = split.bins.get(bin) ?? {};
        }
        const prior = fresh ? undefined : await this.repo.readDelegated(cur.snapshot.signed, bin);
        if (!fresh && !prior) throw new AirlockError('E_REPOSITORY_DAMAGED', `snapshot lists no ${bin}.json; the terminal's repository copy is damaged — restore it from a backup or a host`);
        const there = prior?.signed.targets ?? moved;
        const dup = Object.keys(group).find((p) => there[p] !== undefined);
        if (dup) throw releaseExists(dup);
        const env = await signMetadata(nextTargets(prior?.signed, { ...moved, ...group }, expires), signers, bin);
        const bytes = envelopeBytes(env);
        await writeFileAtomic(join(this.stagingDir, 'metadata', metadataFileName(bin, env.signed.version)), bytes, { durable: false });
        snapshotMeta[metadataFileName(bin)] = metaFileFor(env.signed.version, bytes);
        this.#signedBins.set(bin, summaryOf(env, snapshotMeta[metadataFileName(bin)]!, this.#signedReleases));
        result.bins.push(bin);
      }
      if (!head.done) throw new Error('RepositoryTransaction: streamed targets are not in hash order');
    } finally {
      await it.return?.();
    }
  }

  async #commit(signers: RoleSigners): Promise<CommitResult> {
    const { now, expiryDays } = this.options;
    const root = this.root;
    const previous = this.#root && this.current ? this.current.root.signed : undefined;
    const edit = await this.#targetsEdit();
    const { roles } = edit.sign;
    if (this.#streamed && !edit.layout && !edit.next) {
      // Few enough to stay in targets.json (at most afterTargets of them): read into memory.
      for await (const [path, info] of this.#streamed.entries()) {
        if (this.#additions[path] !== undefined) throw new AirlockError('E_RELEASE_EXISTS', `target ${path} is added twice`);
        this.#additions[path] = info;
      }
      this.#streamed = undefined;
    }
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
    const result: CommitResult = { files: [], staged: [], versions: {}, bins: [], transition, next: undefined as unknown as CurrentMetadata };
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
      // The layout signed into: a new one when crossing into bins or re-binning, else the current one.
      const binLayout = edit.next ?? edit.layout;
      let nextTop: TargetsSigned | undefined;
      if (roles.includes('targets')) {
        nextTop = cur ? nextTargets(cur.targets.signed, binLayout ? {} : this.#additions, expiresTargets) : emptyTargets(expiresTargets);
        if (binLayout) {
          const binKeys = listedSigners(root, 'targets', signers.targets);
          nextTop.delegations = succinctDelegations(binLayout, binKeys.map((s) => s.tufKey), root.roles.targets.threshold);
          if (edit.next) nextTop.targets = {};
        }
      }
      if (binLayout) {
        const delegation = (nextTop ?? cur!.targets.signed).delegations!.succinct_roles!;
        const binSigners = (signers.targets ?? []).filter((s) => delegation.keyids.includes(s.keyId));
        if (binSigners.length < delegation.threshold) {
          throw new AirlockError('E_KEY_NOT_FOUND', `signing hash bins needs ${delegation.threshold} of the keys targets delegates them to (${delegation.keyids.map((k) => k.slice(0, 12)).join(', ')}); use the keystore that holds them`);
        }
        if (this.#streamed) await this.#signStreamedBins(this.#streamed, edit, binLayout, binSigners, expiresTargets, snapshotMeta, result);
        const grouped = new Map<string, Record<string, TargetFileInfo>>(this.#streamed ? [] : edit.sign.bins.map((b) => [b, {}]));
        // Crossing into bins or re-binning moves every target into the new bins (the one
        // step whose cost is the repository's: it happens once per doubling).
        const moving = this.#streamed ? {} : edit.crossing ? { ...cur!.targets.signed.targets, ...this.#additions } : edit.next ? { ...(await this.#binnedTargets(edit.layout!)), ...this.#additions } : this.#additions;
        for (const [path, info] of Object.entries(moving)) grouped.get(binFor(binLayout, path))![path] = info;
        for (const [bin, group] of grouped) {
          const prior = edit.next ? undefined : await this.repo.readDelegated(cur!.snapshot.signed, bin);
          if (!edit.next && !prior) throw new AirlockError('E_REPOSITORY_DAMAGED', `snapshot lists no ${bin}.json; the terminal's repository copy is damaged — restore it from a backup or a host`);
          const env = await signMetadata(nextTargets(prior?.signed, group, expiresTargets), binSigners, bin);
          const bytes = envelopeBytes(env);
          // Written now, not held: a batch's bins are the whole repository's metadata (import).
          await writeFileAtomic(join(this.stagingDir, 'metadata', metadataFileName(bin, env.signed.version)), bytes, { durable: false });
          snapshotMeta[metadataFileName(bin)] = metaFileFor(env.signed.version, bytes);
          this.#signedBins.set(bin, summaryOf(env, snapshotMeta[metadataFileName(bin)]!, this.#signedReleases));
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

    // Flushed once, with everything else staged, when the commit moves it (commitStaged).
    for (const f of staged) await writeFileAtomic(join(this.stagingDir, ...f.path.split('/')), f.bytes, { durable: false });
    const committed = await commitStaged(this.stagingDir, this.repo.dir, { known: this.#knownDigests() });
    await recordBinSummaries(this.repo.dir, this.#signedBins, { releases: this.#signedReleases, roles: binNamesOf(targets!.signed) });
    result.files = committed.moved;
    result.staged = committed.staged;
    result.next = { root: this.#root ?? cur!.root, targets: targets!, snapshot: snapshot!, timestamp: timestamp! };
    return result;
  }
}

export interface MetadataEdit {
  /** The current bin layout (none while targets.json lists every target). */
  layout: BinLayout | undefined;
  /** This change moves every target of targets.json into hash bins. */
  crossing: boolean;
  /** The layout this change creates (crossing into bins, or re-binning into more): every target moves into it. */
  next?: BinLayout;
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
  /** `streamed`: targets added by a stream (addStreamedTargets), counted but not named. */
  change: { paths: readonly string[]; forced: readonly OnlineRole[]; newRoot?: number; streamed?: number },
  hashBins: TransactionOptions['hashBins'] = DEFAULT_HASH_BINS,
): MetadataEdit {
  const unaccepted = current && root ? rolesNeedingResign(current, root) : [...ONLINE_ROLES];
  const streamed = change.streamed ?? 0;
  const adding = change.paths.length > 0 || streamed > 0;
  const resignTargets = change.forced.includes('targets') || unaccepted.includes('targets') || current === undefined;
  const layout = layoutOf(current?.targets.signed.delegations);
  const bins = new Set<string>();
  let crossing = false;
  let next: BinLayout | undefined;
  if (layout) {
    // PEP 458 sizing from the sizes snapshot records (hash-bins.ts): nothing is read.
    const lengths = allBinNames(layout).map((b) => current!.snapshot.signed.meta[metadataFileName(b)]?.length ?? 0);
    // A stream sizes the bins for what it adds too: a million targets at once would overfill every bin.
    next = adding ? rebinnedLayout(layout, streamed > 0 ? [...lengths, streamed * ESTIMATED_TARGET_BYTES] : lengths, hashBins.layout.namePrefix, hashBins.maxBinBytes) : undefined;
    if (next) for (const b of allBinNames(next)) bins.add(b);
    else {
      // Which bins a stream fills is known only as it is read: any of them may be signed.
      if (resignTargets || streamed > 0) for (const b of allBinNames(layout)) bins.add(b);
      for (const path of change.paths) bins.add(binFor(layout, path));
    }
  } else if (adding) {
    const count = Object.keys(current?.targets.signed.targets ?? {}).length;
    crossing = count + change.paths.length + streamed > hashBins.afterTargets;
    if (crossing) {
      // The targets.json of today, per target, stands for what the bins will hold.
      const perTarget = current && count > 0 ? canonicalBytes(current.targets.signed).length / count : ESTIMATED_TARGET_BYTES;
      const bitLength = bitLengthFor(perTarget * (count + change.paths.length + streamed), hashBins.layout.bitLength, hashBins.maxBinBytes);
      next = { bitLength, namePrefix: hashBins.layout.namePrefix };
      for (const b of allBinNames(next)) bins.add(b);
    }
  }
  const targetsChanged = resignTargets || next !== undefined || (adding && !layout);
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
  return { layout, crossing, ...(next ? { next } : {}), sign: { roles, bins: binList }, files };
}

/** `targets` by the bin of `layout` each falls in. */
function groupByBin(layout: BinLayout, targets: Record<string, TargetFileInfo>): Map<string, Record<string, TargetFileInfo>> {
  const m = new Map<string, Record<string, TargetFileInfo>>();
  for (const [p, info] of Object.entries(targets)) {
    const b = binFor(layout, p);
    if (!m.has(b)) m.set(b, {});
    m.get(b)![p] = info;
  }
  return m;
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

/** A fresh staging directory under `stagingRoot` (0700), for a transaction or an import's batch. */
export async function makeStaging(stagingRoot: string): Promise<string> {
  const dir = join(stagingRoot, `tx-${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw fromSystemError(err, `creating the staging directory ${dir}`);
  }
  return dir;
}

export type { SnapshotSigned, TimestampSigned };
