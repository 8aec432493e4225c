// Plan, then apply (STYLE.md): observeHost reads the terminal's local copy of the host
// tree and the host (listing, digests, timestamps); planPublish is pure over that
// observation; the plan is printed by `airlock publish --dry-run` and performed by
// apply.ts. Neither observing nor planning writes anything.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkManifest, markOf, readManifest, readManifestSince, readManifestTail, walkCopy, type ManifestEntry, type ManifestMark } from '../core/copy-manifest.js';
import { sha256Hex } from '../core/digest.js';
import { metadataFileName, parseMetadata } from '../core/tuf-metadata.js';
import { AirlockError, fromSystemError, isAirlockError } from '../core/errors.js';
import { DEFAULT_HOST_MODES, type HostModes } from './host-modes.js';
import { classifyPath, comparePublishOrder, isTemporaryPath, type PathClass, type PublishStage } from './layout.js';
import { planModeRepairs, type ModeRepair } from './mode-repair.js';
import type { RemoteFile, Transport } from './transport.js';

export interface PublishItem {
  /** Relative posix path in the host tree (in the terminal's local copy: localPathOf). */
  path: string;
  length: number;
  sha256: string;
  stage: PublishStage;
  immutable: boolean;
  action: 'upload' | 'skip';
}

export interface PublishPlan {
  host: string;
  /** The terminal's local copy the items are read from (each item's file: localPathOf). */
  localRoot: string;
  /** Every file of the local tree, in publishing order. */
  items: PublishItem[];
  /** Temporary files an interrupted publish left on the host; removed after a successful apply. */
  leftovers: string[];
  /** The permission bits files and directories get on this host (host-modes.ts). */
  modes: HostModes;
  /** Files and directories already on the host that a web server may not read: their modes are set. */
  modeRepairs: ModeRepair[];
}

/** A host's timestamp.json is read up to this size: the cap clients use (lib/verify/limits.ts, tuf-js: 16 KiB). */
const TIMESTAMP_MAX_BYTES = 16 * 1024;
const TIMESTAMP_PATH = `metadata/${metadataFileName('timestamp')}`;

/** The local file of a plan's item (not stored per item: a large plan holds millions). */
export function localPathOf(plan: Pick<PublishPlan, 'localRoot'>, item: { path: string }): string {
  return join(plan.localRoot, ...item.path.split('/'));
}

interface LocalFile extends PathClass {
  path: string;
  length: number;
  sha256: string;
}

/**
 * One rank array per distinct rank, shared by every file that has it (classifyPath makes
 * a new one per call: at a million files, a million small arrays).
 */
function rankInterner(): (c: PathClass) => PathClass {
  const ranks = new Map<string, readonly number[]>();
  return (c) => {
    const key = c.rank.join(',');
    let rank = ranks.get(key);
    if (rank === undefined) ranks.set(key, (rank = c.rank));
    return { stage: c.stage, immutable: c.immutable, rank };
  };
}

/**
 * Every regular file of the local tree with its length and SHA-256, in publishing order.
 * Read from the copy's manifest (lib/core/copy-manifest.ts), checked against the copy's
 * mutable files, so nothing is walked or hashed; a tree without a manifest that agrees
 * with it, or `fullCheck`, is walked and hashed (a hard-linked file once). Dot files
 * (temporary names of a crashed writer, the manifest) are left out.
 */
export async function scanLocalTree(localRepo: string, opts: { fullCheck?: boolean } = {}): Promise<LocalFile[]> {
  return (await localView(localRepo, opts)).files;
}

/** What a host held after this terminal's last complete publish there: the manifest's state then, and the timestamp.json it got. */
export interface PublishedMark {
  manifest: ManifestMark;
  timestampSha256: string;
}

async function localView(localRepo: string, opts: { fullCheck?: boolean; since?: PublishedMark; hostTimestamp?: TimestampSeen }): Promise<{ files: LocalFile[]; mark?: ManifestMark; since: boolean }> {
  const files: LocalFile[] = [];
  const intern = rankInterner();
  const add = (e: ManifestEntry): void => {
    files.push({ path: e.path, length: e.length, sha256: e.sha256, ...intern(classifyPath(e.path)) });
  };
  let mark: ManifestMark | undefined;
  let since = false;
  try {
    const tail = opts.fullCheck ? undefined : await readManifestTail(localRepo);
    if (tail && (await checkManifest(localRepo, tail))) {
      mark = markOf(tail);
      // The host still serves the timestamp.json this terminal last gave it: only what the
      // copy added since then (and the mutable files) can be missing there.
      if (opts.since && opts.hostTimestamp?.sha256 === opts.since.timestampSha256) since = await readManifestSince(localRepo, tail, opts.since.manifest, add);
      if (!since) await readManifest(localRepo, add);
    } else for await (const e of walkCopy(localRepo)) add(e);
  } catch (err) {
    if (isAirlockError(err)) throw err;
    throw fromSystemError(err, `reading the terminal's repository at ${localRepo}`);
  }
  files.sort(comparePublishOrder);
  return { files, ...(mark ? { mark } : {}), since };
}

/** What a host and the local tree hold, read once: the only input planPublish takes. */
export interface HostObservation {
  host: string;
  /** The terminal's local copy that was read. */
  localRoot: string;
  /** Every regular file of the local tree with its digest (from the manifest), in publishing order. */
  local: LocalFile[];
  /** The host's files by path (the listing, or in an incremental observation the files looked up). */
  remote: Map<string, RemoteFile>;
  /** Digests of host files whose size matches the local file (read back, or from the digest cache); undefined: gone since the listing. */
  digests: Map<string, { length: number; sha256: string } | undefined>;
  /** timestamp.json on the host and in the local tree, parsed (absent, oversized or not metadata: undefined). */
  hostTimestamp?: TimestampSeen;
  localTimestamp?: TimestampSeen;
  /** Directories on the host with their modes, where the host has permission bits. */
  directories?: { path: string; mode: number }[];
  /** The host can set permission bits (directory and SFTP hosts; not S3). */
  chmod: boolean;
  /** The manifest state the local side was read at (undefined: the tree was walked). */
  manifest?: ManifestMark;
  /**
   * Only the files the copy added since this terminal's last complete publish to the host
   * (and the mutable ones) were considered, each looked up on the host by path: the host
   * was not listed (its timestamp.json is the one that publish left there).
   */
  incremental?: boolean;
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

/** Reads the local tree and the host: listing, digests of same-size files, timestamps, directory modes. */
export async function observeHost(localRepo: string, transport: Transport, opts: { fullCheck?: boolean; since?: PublishedMark } = {}): Promise<HostObservation> {
  if (opts.since && !opts.fullCheck) {
    const hostTimestamp = await observeHostTimestamp(transport);
    const view = await localView(localRepo, { since: opts.since, ...(hostTimestamp ? { hostTimestamp } : {}) });
    if (view.since) return observeFiles(localRepo, transport, view.files, view.mark, hostTimestamp);
  }
  const view = await localView(localRepo, opts);
  const local = view.files;
  const remoteByPath = new Map<string, RemoteFile>();
  for (const f of await transport.list()) remoteByPath.set(f.path, f);
  const digests = new Map<string, { length: number; sha256: string } | undefined>();
  for (const f of local) {
    const r = remoteByPath.get(f.path);
    if (r !== undefined && r.size === f.length) digests.set(f.path, await transport.digest(f.path));
  }
  const ts = local.find((f) => f.path === TIMESTAMP_PATH);
  const obs: HostObservation = { host: transport.host, localRoot: localRepo, local, remote: remoteByPath, digests, chmod: transport.chmod !== undefined, ...(view.mark ? { manifest: view.mark } : {}) };
  if (ts && remoteByPath.has(TIMESTAMP_PATH)) {
    const seen = await observeHostTimestamp(transport);
    if (seen) obs.hostTimestamp = seen;
  }
  if (ts) {
    const seen = timestampSeen(await readFile(join(localRepo, ...ts.path.split('/'))));
    if (seen) obs.localTimestamp = seen;
  }
  if (transport.chmod !== undefined && transport.listDirectories !== undefined) obs.directories = await transport.listDirectories();
  return obs;
}

/** The incremental observation: each local file looked up on the host by path (no listing). */
async function observeFiles(localRepo: string, transport: Transport, local: LocalFile[], mark: ManifestMark | undefined, hostTimestamp: TimestampSeen | undefined): Promise<HostObservation> {
  const remote = new Map<string, RemoteFile>();
  const digests = new Map<string, { length: number; sha256: string } | undefined>();
  for (const f of local) {
    const d = await transport.digest(f.path);
    if (d === undefined) continue;
    remote.set(f.path, { path: f.path, size: d.length, ...(d.mtime !== undefined ? { mtime: d.mtime } : {}), ...(d.mode !== undefined ? { mode: d.mode } : {}) });
    digests.set(f.path, d);
  }
  const obs: HostObservation = { host: transport.host, localRoot: localRepo, local, remote, digests, chmod: transport.chmod !== undefined, incremental: true, ...(mark ? { manifest: mark } : {}) };
  if (hostTimestamp) obs.hostTimestamp = hostTimestamp;
  const seen = timestampSeen(await readFile(join(localRepo, ...TIMESTAMP_PATH.split('/'))).catch(() => new Uint8Array()));
  if (seen) obs.localTimestamp = seen;
  return obs;
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
 * What must go up to make the host hold the local tree (pure, over an observation):
 * absent or different files are uploaded, identical ones skipped; files only the host has
 * are left alone. An immutable path the host holds with other bytes refuses the whole
 * plan (E_PUBLISH_IMMUTABLE), so nothing moves, metadata least of all; so does a host
 * ahead of this terminal (refuseHostAhead).
 */
export function planPublish(obs: HostObservation, opts: { modes?: HostModes } = {}): PublishPlan {
  const modes = opts.modes ?? DEFAULT_HOST_MODES;
  const remote = obs.remote;
  const items: PublishItem[] = [];
  const conflicts: { path: string; local: { length: number; sha256: string }; host: { length: number; sha256?: string } }[] = [];

  for (const f of obs.local) {
    const item: PublishItem = { path: f.path, length: f.length, sha256: f.sha256, stage: f.stage, immutable: f.immutable, action: 'upload' };
    items.push(item);
    const r = remote.get(f.path);
    if (r === undefined) continue;
    if (r.size !== f.length) {
      if (f.immutable) conflicts.push({ path: f.path, local: { length: f.length, sha256: f.sha256 }, host: { length: r.size } });
      continue;
    }
    const d = obs.digests.get(f.path);
    if (d === undefined) continue; // gone since the listing: upload it
    if (d.length === f.length && d.sha256 === f.sha256) item.action = 'skip';
    else if (f.immutable) conflicts.push({ path: f.path, local: { length: f.length, sha256: f.sha256 }, host: { length: d.length, sha256: d.sha256 } });
  }

  if (conflicts.length > 0) {
    const first = conflicts[0]!.path;
    const more = conflicts.length > 1 ? ` and ${conflicts.length - 1} more` : '';
    throw new AirlockError(
      'E_PUBLISH_IMMUTABLE',
      `host ${obs.host} already holds ${first}${more} with other bytes; a published file is never replaced — release under a new version, or find out who changed the host`,
      { details: { host: obs.host, conflicts } },
    );
  }
  if (items.find((i) => i.stage === 'timestamp')?.action === 'upload') refuseHostAhead(obs.host, obs.hostTimestamp, obs.localTimestamp);

  const modeRepairs = planModeRepairs(obs.chmod, modes, items.map((i) => i.path), remote, obs.directories);
  const leftovers: string[] = [];
  for (const path of remote.keys()) if (isTemporaryPath(path)) leftovers.push(path);
  return { host: obs.host, localRoot: obs.localRoot, items, leftovers, modes, modeRepairs };
}

export function planSummary(plan: PublishPlan): { upload: number; skip: number; bytes: number } {
  let upload = 0;
  let bytes = 0;
  for (const i of plan.items) {
    if (i.action === 'upload') {
      upload++;
      bytes += i.length;
    }
  }
  return { upload, skip: plan.items.length - upload, bytes };
}
