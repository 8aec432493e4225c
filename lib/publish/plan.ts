// Plan, then apply (STYLE.md): planPublish reads the terminal's local copy of the host
// tree and the host (listing, digests, timestamps) and says what must go up; the plan is
// printed by `airlock publish --dry-run` and performed by apply.ts. Planning writes
// nothing to the host.
//
// A full plan is a merge join in constant memory (issue 19: a million targets are two
// million paths): the copy's manifest (or a walk of the copy), the host's listing and
// the host's digest cache are each sorted on disk by one key (the path as JSON,
// line-spill.ts) and walked side by side, one path at a time; the uploads go to one
// spilled list per run of the publishing order (a stage, and a rank in it), which
// apply.ts reads back in batches, as are the files' mode repairs. What is held is a sort
// chunk per list and the host's directories whose mode is wrong (normally none), never
// the tree. The incremental plan (only what the copy added since the last complete
// publish, each looked up on the host by path) is small and stays in memory.
import { join } from 'node:path';
import { checkManifest, markOf, readManifest, readManifestSince, readManifestTail, walkCopy, type ManifestEntry, type ManifestMark } from '../core/copy-manifest.js';
import { sha256Hex } from '../core/digest.js';
import { metadataFileName, parseMetadata } from '../core/tuf-metadata.js';
import { AirlockError, fromSystemError, isAirlockError } from '../core/errors.js';
import { damaged, readLocalMetadataBytes, refuseLinkedDirectories } from '../core/local-copy-file.js';
import { cacheableImmutable, parseCachedDigest, type CachedDigest, type DigestCache } from './digest-cache.js';
import { DEFAULT_HOST_MODES, formatMode, type HostModes } from './host-modes.js';
import { classifyPath, isTemporaryPath, STAGE_ORDER, type PublishStage } from './layout.js';
import { hold, keyed, LineSorter, LineSpill, mergeJoin, SORT_CHUNK_LINES, SpillDir, type HeldGauge } from './line-spill.js';
import { collectGarbage } from '../core/garbage.js';
import type { ModeRepair } from './mode-repair.js';
import type { RemoteDigest, RemoteDirectory, RemoteFile, Transport } from './transport.js';

export interface PublishItem {
  /** Relative posix path in the host tree (in the terminal's local copy: localPathOf). */
  path: string;
  length: number;
  sha256: string;
  stage: PublishStage;
  immutable: boolean;
  action: 'upload' | 'skip';
}

/** Files of the plan that may go up in any order (apply.ts runsOf): one stage, and one rank in it where the rank is an order. */
export interface PublishRun {
  stage: PublishStage;
  /** The rank the run's files share; empty where the rank is only a version (delegated, targets, snapshot: the whole stage is one run). */
  rank: readonly number[];
  files: number;
  bytes: number;
  /** The run's uploads, `<JSON path>\t<length> <sha256>` a line, in path order; on disk past a bound. */
  uploads: LineSpill;
}

export interface PublishPlan {
  host: string;
  /** The terminal's local copy the items are read from (each item's file: localPathOf). */
  localRoot: string;
  /** Files of the local tree: to upload, and already on the host. */
  upload: number;
  skip: number;
  /** Bytes to upload. */
  bytes: number;
  /** The uploads, run by run in publishing order (readRun reads one back). */
  runs: PublishRun[];
  /** Temporary files an interrupted publish left on the host; removed after a successful apply. */
  leftovers: string[];
  /** The permission bits files and directories get on this host (host-modes.ts). */
  modes: HostModes;
  /** Directories already on the host that a web server may not read, top down: their modes are set first (readModeRepairs). */
  modeRepairs: ModeRepair[];
  /** Files already on the host that a web server may not read, `<JSON path>\t<mode now>` a line: on disk past a bound (a host published under umask 077 has millions). */
  fileModeRepairs: LineSpill;
  /** Every mode repair of the plan: directories and files. */
  modeRepairCount: number;
  /** The files already on the host, while there are at most SKIPPED_NAMED (a small plan's report lists them); else empty. */
  skipped: PublishItem[];
  /** Where the runs' lists are kept; disposePlan removes it. */
  spill: SpillDir;
  /** The manifest state and timestamp the host holds once this plan is applied (undefined: the copy was walked). */
  reached?: PublishedMark;
  /** Only the files the copy added since the last complete publish were considered (no listing). */
  incremental?: boolean;
}

/** A host's timestamp.json is read up to this size: the cap clients use (lib/verify/limits.ts, tuf-js: 16 KiB). */
const TIMESTAMP_MAX_BYTES = 16 * 1024;
const TIMESTAMP_PATH = `metadata/${metadataFileName('timestamp')}`;
/** At most this many immutable conflicts are named in E_PUBLISH_IMMUTABLE's details (the count is always there). */
const CONFLICTS_NAMED = 100;
/** Files already on the host a plan names while there are at most this many (events.ts PLAN_REPORT_ITEMS). */
const SKIPPED_NAMED = 200;

/** The local file of a plan's item (not stored per item: a large plan holds millions). */
export function localPathOf(plan: Pick<PublishPlan, 'localRoot'>, item: { path: string }): string {
  return join(plan.localRoot, ...item.path.split('/'));
}

/** What a host held after this terminal's last complete publish there: the manifest's state then, and the timestamp.json it got. */
export interface PublishedMark {
  manifest: ManifestMark;
  timestampSha256: string;
}

export interface TimestampSeen {
  version: number;
  sha256: string;
}

/**
 * The timestamp.json a host serves, read within the verifier's own cap and parsed by the
 * metadata parser (not by hand): its version and digest, or undefined when it is absent
 * or not timestamp metadata (an oversized or damaged file is not ours: replaced like any damage).
 */
export async function observeHostTimestamp(transport: Transport): Promise<TimestampSeen | undefined> {
  const bytes = await transport.readSmall(TIMESTAMP_PATH, TIMESTAMP_MAX_BYTES).catch((err: unknown) => {
    if (isAirlockError(err, 'E_TOO_LARGE') || isAirlockError(err, 'E_NOT_FOUND')) return undefined;
    throw err;
  });
  return bytes === undefined ? undefined : timestampSeen(bytes);
}

function timestampSeen(bytes: Uint8Array): TimestampSeen | undefined {
  try {
    return { version: parseMetadata(bytes, 'timestamp').signed.version, sha256: sha256Hex(bytes) };
  } catch {
    return undefined;
  }
}

/**
 * The copy's own timestamp, read as lib/repo reads the copy (lib/core/local-copy-file.ts):
 * a symlink, FIFO or device there, or bytes that are not timestamp metadata, is
 * E_REPOSITORY_DAMAGED — never taken as no timestamp, which would skip the check that the
 * host is not ahead. (Its form is lib/repo's to judge: publish only needs its version.)
 */
async function localTimestamp(localRepo: string): Promise<TimestampSeen> {
  const path = join(localRepo, ...TIMESTAMP_PATH.split('/'));
  // Missing is damage too: every copy has a timestamp from `airlock init` on.
  const bytes = await readLocalMetadataBytes(localRepo, path, TIMESTAMP_MAX_BYTES);
  const seen = timestampSeen(bytes);
  if (seen === undefined) throw damaged(path, 'is not timestamp metadata');
  return seen;
}

/**
 * A host whose timestamp is newer than the local one, or as new with other bytes, is
 * ahead of this terminal (E_PUBLISH_STALE): publishing would roll clients back, and they
 * would refuse it (TUF §5.4.3), leaving them without updates. Equal versions with other
 * bytes mean two signings of one version (two terminals, or a re-signed copy).
 */
export function refuseHostAhead(host: string, hostTimestamp: TimestampSeen | undefined, localTimestamp: TimestampSeen | undefined): void {
  if (!hostTimestamp || !localTimestamp) return;
  const { version: hostVersion } = hostTimestamp;
  const { version: localVersion } = localTimestamp;
  if (hostVersion > localVersion || (hostVersion === localVersion && hostTimestamp.sha256 !== localTimestamp.sha256)) {
    throw new AirlockError(
      'E_PUBLISH_STALE',
      `host ${host} has timestamp version ${hostVersion}${hostVersion === localVersion ? ' signed differently from' : ', newer than'} this terminal's ${localVersion}; another terminal published, or this repository copy is old — bring it up to date before publishing`,
      { details: { host, hostVersion, localVersion } },
    );
  }
}

/**
 * Feeds every file of the local tree with its length and SHA-256 to `add`, in no order.
 * Read from the copy's manifest (lib/core/copy-manifest.ts), checked against the copy's
 * mutable files, so nothing is walked or hashed; a tree without a manifest that agrees
 * with it, or `fullCheck`, is walked and hashed (a hard-linked file once). Dot files
 * (temporary names of a crashed writer, the manifest) are left out. With `since`, only
 * the files added after it and the mutable ones, when the host still serves that
 * timestamp and the manifest still has that point (`since` in the answer), else nothing.
 */
async function readLocal(localRepo: string, add: (e: ManifestEntry) => Promise<void> | void, opts: { fullCheck?: boolean; since?: PublishedMark; hostTimestamp?: TimestampSeen }): Promise<{ mark?: ManifestMark; since: boolean }> {
  let mark: ManifestMark | undefined;
  let since = false;
  try {
    const tail = opts.fullCheck ? undefined : await readManifestTail(localRepo);
    if (tail && (await checkManifest(localRepo, tail))) {
      mark = markOf(tail);
      // The host still serves the timestamp.json this terminal last gave it: only what the
      // copy added since then (and the mutable files) can be missing there.
      if (opts.since && opts.hostTimestamp?.sha256 === opts.since.timestampSha256) since = await readManifestSince(localRepo, tail, opts.since.manifest, add);
      if (!since && !opts.since) await readManifest(localRepo, add);
    } else for await (const e of walkCopy(localRepo)) await add(e);
  } catch (err) {
    if (isAirlockError(err)) throw err;
    throw fromSystemError(err, `reading the terminal's repository at ${localRepo}`);
  }
  return { ...(mark ? { mark } : {}), since };
}

function remoteLine(f: RemoteFile): string {
  return `${JSON.stringify(f.path)}\t${f.size} ${f.mtime ?? '-'} ${f.mode ?? '-'}${f.version !== undefined ? ` ${JSON.stringify(f.version)}` : ''}`;
}

function parseRemote(path: string, rest: string): RemoteFile {
  const [size, mtime, mode] = rest.split(' ', 3) as [string, string, string];
  const at = size.length + mtime.length + mode.length + 3;
  return {
    path,
    size: Number(size),
    ...(mtime !== '-' ? { mtime: Number(mtime) } : {}),
    ...(mode !== '-' ? { mode: Number(mode) } : {}),
    ...(rest.length > at ? { version: JSON.parse(rest.slice(at)) as string } : {}),
  };
}

/** The directories `path` lies in, '' (the root) first. */
function parentsOf(path: string): string[] {
  const parts = path.split('/').slice(0, -1);
  return ['', ...parts.map((_, i) => parts.slice(0, i + 1).join('/'))];
}

/**
 * The run a file belongs to: runs go up one after the other (apply.ts), a run's files in
 * any order and made durable together. A run is one stage, and inside it one rank
 * (releases/ files before the SHA256SUMS that covers them; apt's indices before Release
 * before InRelease; root versions in turn). In the stages whose rank is only a version
 * (delegated, targets, snapshot) no file refers to another of its stage — snapshot names
 * every version — so the whole stage is one run.
 */
function runKeyOf(stage: PublishStage, rank: readonly number[]): string {
  return stage === 'delegated' || stage === 'targets' || stage === 'snapshot' ? stage : `${stage} ${rank.join(',')}`;
}

/** The plan as it is built, path by path, in any path order. */
class PlanBuilder {
  upload = 0;
  skip = 0;
  bytes = 0;
  private readonly runs = new Map<string, PublishRun>();
  readonly leftovers: string[] = [];
  private skipped: PublishItem[] = [];
  private readonly fileRepairs: LineSpill;
  /**
   * The host's directories a web server may not read (path → mode), listed before the
   * walk; of those, the ones holding files of the plan. Only these are held: a host
   * whose modes are right costs nothing here, however many directories it has.
   */
  private oddDirs: ReadonlyMap<string, number> | undefined;
  private readonly oddDirsInUse = new Set<string>();
  private conflicts: { path: string; local: { length: number; sha256: string }; host: { length: number; sha256?: string } }[] = [];
  private conflictCount = 0;
  timestampUpload = false;
  sawHostTimestamp = false;
  sawLocalTimestamp = false;

  constructor(
    readonly host: string,
    readonly localRoot: string,
    readonly modes: HostModes,
    readonly spill: SpillDir,
    private readonly chmod: boolean,
  ) {
    this.fileRepairs = new LineSpill(spill);
  }

  /** One local file, what the host has at its path (remote: listed; digest: its bytes, read or cached). */
  async file(path: string, length: number, sha256: string, remote: RemoteFile | undefined, digest: () => Promise<{ length: number; sha256: string } | undefined>): Promise<void> {
    const c = classifyPath(path);
    if (path === TIMESTAMP_PATH) this.sawLocalTimestamp = true;
    let upload = true;
    if (remote !== undefined) {
      if (path === TIMESTAMP_PATH) this.sawHostTimestamp = true;
      if (remote.size !== length) {
        if (c.immutable) this.conflict({ path, local: { length, sha256 }, host: { length: remote.size } });
      } else {
        const d = await digest();
        // undefined: gone since the listing: upload it
        if (d !== undefined && d.length === length && d.sha256 === sha256) upload = false;
        else if (d !== undefined && c.immutable) this.conflict({ path, local: { length, sha256 }, host: { length: d.length, sha256: d.sha256 } });
      }
      if (this.chmod && remote.mode !== undefined && remote.mode !== this.modes.file) await this.fileRepairs.add(`${JSON.stringify(path)}\t${formatMode(remote.mode)}`);
    }
    if (this.oddDirs !== undefined && this.oddDirs.size > 0) for (const d of parentsOf(path)) if (this.oddDirs.has(d)) this.oddDirsInUse.add(d);
    if (!upload) {
      this.skip++;
      if (this.skip <= SKIPPED_NAMED) this.skipped.push({ path, length, sha256, stage: c.stage, immutable: c.immutable, action: 'skip' });
      else this.skipped = [];
      return;
    }
    if (path === TIMESTAMP_PATH) this.timestampUpload = true;
    this.upload++;
    this.bytes += length;
    const key = runKeyOf(c.stage, c.rank);
    let run = this.runs.get(key);
    if (run === undefined) this.runs.set(key, (run = { stage: c.stage, rank: key === c.stage ? [] : c.rank, files: 0, bytes: 0, uploads: new LineSpill(this.spill) }));
    run.files++;
    run.bytes += length;
    await run.uploads.add(`${JSON.stringify(path)}\t${length} ${sha256}`);
  }

  /**
   * The host's directories (full plan, a host with modes): remembers the ones whose mode
   * is not `modes.dir`. `held` counts every listed directory from the moment it arrives
   * until it is dropped: what the watch holds at once, the one in hand included.
   */
  async watchDirectories(directories: AsyncIterable<RemoteDirectory>, held?: HeldGauge): Promise<void> {
    const odd = new Map<string, number>();
    for await (const d of directories) {
      hold(held, 1);
      if (d.mode === this.modes.dir) {
        hold(held, -1);
        continue;
      }
      odd.set(d.path, d.mode);
    }
    this.oddDirs = odd;
  }

  /** A host file the copy does not list. */
  leftover(path: string): void {
    // A host timestamp with none in the copy is still compared with the copy's (damage then).
    if (path === TIMESTAMP_PATH) this.sawHostTimestamp = true;
    if (isTemporaryPath(path)) this.leftovers.push(path);
  }

  private conflict(c: PlanBuilder['conflicts'][number]): void {
    this.conflictCount++;
    if (this.conflicts.length < CONFLICTS_NAMED) this.conflicts.push(c);
  }

  /**
   * An immutable path the host holds with other bytes refuses the whole plan
   * (E_PUBLISH_IMMUTABLE), so nothing moves, metadata least of all; so does a host ahead
   * of this terminal (refuseHostAhead), when the timestamp would go up.
   */
  finish(hostTimestamp: TimestampSeen | undefined, local: TimestampSeen | undefined, extra: Pick<PublishPlan, 'reached' | 'incremental'>): PublishPlan {
    if (this.conflictCount > 0) {
      const first = this.conflicts[0]!.path;
      const more = this.conflictCount > 1 ? ` and ${this.conflictCount - 1} more` : '';
      throw new AirlockError(
        'E_PUBLISH_IMMUTABLE',
        `host ${this.host} already holds ${first}${more} with other bytes; a published file is never replaced — release under a new version, or find out who changed the host`,
        { details: { host: this.host, conflicts: this.conflicts, count: this.conflictCount } },
      );
    }
    if (this.timestampUpload) refuseHostAhead(this.host, hostTimestamp, local);
    const dirRepairs: ModeRepair[] = [];
    for (const [path, mode] of this.oddDirs ?? []) {
      if (this.oddDirsInUse.has(path)) dirRepairs.push({ path, kind: 'dir', from: formatMode(mode), to: formatMode(this.modes.dir) });
    }
    // Directories first, top down: a file in an unreadable directory is unreadable anyway.
    dirRepairs.sort((a, b) => a.path.split('/').length - b.path.split('/').length || (a.path < b.path ? -1 : 1));
    const runs = [...this.runs.values()].sort((a, b) => {
      const s = STAGE_ORDER.indexOf(a.stage) - STAGE_ORDER.indexOf(b.stage);
      if (s !== 0) return s;
      for (let i = 0; i < Math.max(a.rank.length, b.rank.length); i++) {
        const d = (a.rank[i] ?? 0) - (b.rank[i] ?? 0);
        if (d !== 0) return d;
      }
      return 0;
    });
    return {
      host: this.host,
      localRoot: this.localRoot,
      upload: this.upload,
      skip: this.skip,
      bytes: this.bytes,
      runs,
      leftovers: this.leftovers,
      modes: this.modes,
      modeRepairs: dirRepairs,
      skipped: this.skipped,
      fileModeRepairs: this.fileRepairs,
      modeRepairCount: dirRepairs.length + this.fileRepairs.count,
      spill: this.spill,
      ...extra,
    };
  }
}

export interface PlanOptions {
  /** Walk and hash the local copy instead of trusting its manifest, and read every same-size file back from the host (no cached digest). */
  fullCheck?: boolean;
  /** The host's last complete publish from this terminal: an incremental plan when the host still serves its timestamp. */
  since?: PublishedMark;
  modes?: HostModes;
  /** The host's digest cache (digest-cache.ts); `write` rewrites it from what the plan learns (not on a dry run). */
  digestCache?: { cache: DigestCache; ignoreCached: boolean; write: boolean };
  /** Where lists go past their bound (default: a new private temporary directory; tests pass a small chunk). */
  spill?: SpillDir;
  /** The host directories the plan holds (only those whose mode is wrong): tests pin the bound. */
  directoriesHeld?: HeldGauge;
}

/**
 * What must go up to make the host hold the local tree: absent or different files are
 * uploaded, identical ones skipped; files only the host has are left alone. Refuses
 * (E_PUBLISH_IMMUTABLE, E_PUBLISH_STALE) before anything is written. The plan's lists
 * live in `plan.spill` until disposePlan.
 */
export async function planPublish(localRepo: string, transport: Transport, opts: PlanOptions = {}): Promise<PublishPlan> {
  const spill = opts.spill ?? new SpillDir();
  const b = new PlanBuilder(transport.host, localRepo, opts.modes ?? DEFAULT_HOST_MODES, spill, transport.chmod !== undefined);
  try {
    await refuseLinkedDirectories(localRepo);
    if (opts.since && !opts.fullCheck) {
      const plan = await planIncremental(localRepo, transport, opts.since, b);
      if (plan) return plan;
    }
    return await planFull(localRepo, transport, opts, b);
  } catch (err) {
    await spill.remove();
    throw err;
  }
}

/** The incremental plan: each file the copy added since `since` (and each mutable one) looked up on the host by path, no listing. */
async function planIncremental(localRepo: string, transport: Transport, since: PublishedMark, b: PlanBuilder): Promise<PublishPlan | undefined> {
  const hostTimestamp = await observeHostTimestamp(transport);
  const added: ManifestEntry[] = [];
  const view = await readLocal(localRepo, (e) => void added.push(e), { since, ...(hostTimestamp ? { hostTimestamp } : {}) });
  if (!view.since) return undefined;
  added.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  for (const f of added) {
    const d = await transport.digest(f.path);
    const remote = d === undefined ? undefined : { path: f.path, size: d.length, ...(d.mtime !== undefined ? { mtime: d.mtime } : {}), ...(d.mode !== undefined ? { mode: d.mode } : {}) };
    await b.file(f.path, f.length, f.sha256, remote, async () => d);
  }
  const local = await localTimestamp(localRepo);
  const reached = view.mark && local ? { manifest: view.mark, timestampSha256: local.sha256 } : undefined;
  return b.finish(hostTimestamp, local, { incremental: true, ...(reached ? { reached } : {}) });
}

async function planFull(localRepo: string, transport: Transport, opts: PlanOptions, b: PlanBuilder): Promise<PublishPlan> {
  const spill = b.spill;
  const local = new LineSorter(spill);
  const view = await readLocal(localRepo, (e) => local.add(`${JSON.stringify(e.path)}\t${e.length} ${e.sha256}`), { ...(opts.fullCheck ? { fullCheck: true } : {}) });
  const remote = new LineSorter(spill);
  for await (const f of transport.list()) await remote.add(remoteLine(f));
  if (transport.chmod !== undefined && transport.listDirectories !== undefined) await b.watchDirectories(transport.listDirectories(), opts.directoriesHeld);
  const dc = opts.digestCache;
  const cached: AsyncIterable<[string, string]> = dc && !dc.ignoreCached ? dc.cache.entries(spill) : (async function* () {})();
  const rewrite = dc?.write ? await dc.cache.rewrite() : undefined;
  try {
    let walked = 0;
    for await (const [key, [l, r, c]] of mergeJoin([keyed(local.sorted()), keyed(remote.sorted()), cached])) {
      // The walk's garbage, collected as the sorter's chunks are (line-spill.ts).
      if (++walked % SORT_CHUNK_LINES === 0) collectGarbage();
      const path = JSON.parse(key) as string;
      const listed = r === undefined ? undefined : parseRemote(path, r);
      if (l === undefined) {
        if (listed) b.leftover(path);
        continue;
      }
      const [length, sha256] = l.split(' ') as [string, string];
      await b.file(path, Number(length), sha256, listed, async () => {
        // Only an immutable path's cached digest is trusted, whatever the cache holds: a
        // mutable file (timestamp.json, snapshot, Release, InRelease) is re-signed in place,
        // often with the same length within the same second, so a stray entry would skip it.
        const hit = c === undefined || listed?.mtime === undefined || !cacheableImmutable(path) ? undefined : parseCachedDigest(c);
        let d: RemoteDigest | CachedDigest | undefined;
        if (hit && hit.length === listed!.size && hit.mtime === listed!.mtime && (listed!.version === undefined || hit.version === listed!.version)) d = hit;
        else d = await transport.digest(path);
        if (rewrite && d?.mtime !== undefined && cacheableImmutable(path)) await rewrite.add(key, { length: d.length, mtime: d.mtime, sha256: d.sha256, ...(d.version !== undefined ? { version: d.version } : {}) });
        return d;
      });
    }
    const hostTimestamp = b.sawHostTimestamp ? await observeHostTimestamp(transport) : undefined;
    const localSeen = b.sawLocalTimestamp || b.sawHostTimestamp ? await localTimestamp(localRepo) : undefined;
    const reached = view.mark && localSeen ? { manifest: view.mark, timestampSha256: localSeen.sha256 } : undefined;
    const plan = b.finish(hostTimestamp, localSeen, reached ? { reached } : {});
    await rewrite?.commit();
    return plan;
  } catch (err) {
    await rewrite?.abort();
    throw err;
  }
}

/** A run's uploads read back, at most `size` at a time. */
export async function* readRun(run: PublishRun, size: number): AsyncGenerator<PublishItem[]> {
  for await (const lines of run.uploads.batches(size)) {
    yield lines.map((line) => {
      const tab = line.indexOf('\t');
      const [length, sha256] = line.slice(tab + 1).split(' ') as [string, string];
      const path = JSON.parse(line.slice(0, tab)) as string;
      return { path, length: Number(length), sha256, stage: run.stage, immutable: classifyPath(path).immutable, action: 'upload' as const };
    });
  }
}

/** A plan's mode repairs in the order they are made (directories top down, then files), at most `size` at a time. */
export async function* readModeRepairs(plan: PublishPlan, size: number): AsyncGenerator<ModeRepair[]> {
  for (let i = 0; i < plan.modeRepairs.length; i += size) yield plan.modeRepairs.slice(i, i + size);
  const to = formatMode(plan.modes.file);
  for await (const lines of plan.fileModeRepairs.batches(size)) {
    yield lines.map((line) => {
      const tab = line.indexOf('\t');
      return { path: JSON.parse(line.slice(0, tab)) as string, kind: 'file' as const, from: line.slice(tab + 1), to };
    });
  }
}

/** Every upload of a plan in order, held whole: for small plans (tests, a short dry-run listing). */
export async function planItems(plan: PublishPlan, limit = Infinity): Promise<PublishItem[]> {
  const items: PublishItem[] = [];
  for (const run of plan.runs) {
    for await (const batch of readRun(run, 4096)) {
      for (const item of batch) {
        if (items.length >= limit) return items;
        items.push(item);
      }
    }
  }
  return items;
}

/** Removes the plan's lists from disk. */
export async function disposePlan(plan: PublishPlan): Promise<void> {
  await plan.spill.remove();
}

export function planSummary(plan: PublishPlan): { upload: number; skip: number; bytes: number } {
  return { upload: plan.upload, skip: plan.skip, bytes: plan.bytes };
}
