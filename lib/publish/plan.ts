// Plan, then apply (STYLE.md): the plan is plain data computed from the terminal's local
// copy of the host tree and the host's listing, printed by `airlock publish --dry-run`,
// and performed by apply.ts. Planning never writes to the host.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hashStream } from '../core/digest.js';
import { AirlockError, fromSystemError, isAirlockError } from '../core/errors.js';
import { walkTree } from '../core/file-tree.js';
import { DEFAULT_HOST_MODES, type HostModes } from './host-modes.js';
import { classifyPath, comparePublishOrder, isTemporaryPath, type PathClass, type PublishStage } from './layout.js';
import { planModeRepairs, type ModeRepair } from './mode-repair.js';
import type { RemoteFile, Transport } from './transport.js';

export interface PublishItem {
  /** Relative posix path in the host tree. */
  path: string;
  /** Absolute path of the file in the terminal's local copy. */
  local: string;
  length: number;
  sha256: string;
  stage: PublishStage;
  immutable: boolean;
  action: 'upload' | 'skip';
}

export interface PublishPlan {
  host: string;
  /** Every file of the local tree, in publishing order. */
  items: PublishItem[];
  /** Temporary files an interrupted publish left on the host; removed after a successful apply. */
  leftovers: string[];
  /** The permission bits files and directories get on this host (host-modes.ts). */
  modes: HostModes;
  /** Files and directories already on the host that a web server may not read: their modes are set. */
  modeRepairs: ModeRepair[];
}

/** Refuse to read a host's timestamp.json past this size (tuf-js's default cap is 16 KiB). */
const TIMESTAMP_MAX_BYTES = 64 * 1024;

interface LocalFile extends PathClass {
  path: string;
  local: string;
  length: number;
  sha256: string;
}

/** Every regular file of the local tree, hashed, in publishing order. Dot files (temporary names of a crashed writer) are left out. */
export async function scanLocalTree(localRepo: string): Promise<LocalFile[]> {
  const found: { path: string; local: string }[] = [];
  try {
    for await (const e of walkTree(localRepo, { prune: (x) => x.name.startsWith('.') })) {
      if (e.kind === 'file') found.push({ path: e.path, local: e.abs });
      else if (e.kind !== 'directory') {
        throw new AirlockError('E_PUBLISH_LAYOUT', `${e.abs} is not a regular file or directory; the repository copy holds only files`, { details: { path: e.path } });
      }
    }
  } catch (err) {
    throw fromSystemError(err, `reading the terminal's repository at ${localRepo}`);
  }
  const files: LocalFile[] = [];
  for (const f of found) {
    const cls = classifyPath(f.path);
    let hashed;
    try {
      hashed = await hashStream(createReadStream(f.local, { highWaterMark: 1 << 20 }), ['sha256']);
    } catch (err) {
      throw fromSystemError(err, `hashing ${f.local}`);
    }
    files.push({ ...f, ...cls, length: hashed.length, sha256: hashed.digests.sha256! });
  }
  files.sort(comparePublishOrder);
  return files;
}

function timestampVersion(bytes: Uint8Array | undefined): number | undefined {
  if (bytes === undefined) return undefined;
  try {
    const v = (JSON.parse(Buffer.from(bytes).toString('utf8')) as { signed?: { version?: unknown } }).signed?.version;
    return Number.isSafeInteger(v) ? (v as number) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What must go up to make the host hold the local tree: absent or different files are
 * uploaded, identical ones skipped; files only the host has are left alone. An immutable
 * path the host holds with other bytes refuses the whole plan (E_PUBLISH_IMMUTABLE), so
 * nothing moves, metadata least of all. A host whose timestamp is newer than the local
 * one refuses too (E_PUBLISH_STALE): publishing would roll clients back, and they would
 * refuse it (TUF §5.4.3), leaving them without updates; so does one with the same version
 * and other bytes.
 */
export async function planPublish(localRepo: string, transport: Transport, opts: { modes?: HostModes } = {}): Promise<PublishPlan> {
  const modes = opts.modes ?? DEFAULT_HOST_MODES;
  const local = await scanLocalTree(localRepo);
  const remoteFiles = await transport.list();
  const remote = new Map<string, RemoteFile>(remoteFiles.map((f) => [f.path, f]));
  const items: PublishItem[] = [];
  const conflicts: { path: string; local: { length: number; sha256: string }; host: { length: number; sha256?: string } }[] = [];

  for (const f of local) {
    const item: PublishItem = { path: f.path, local: f.local, length: f.length, sha256: f.sha256, stage: f.stage, immutable: f.immutable, action: 'upload' };
    items.push(item);
    const r = remote.get(f.path);
    if (r === undefined) continue;
    if (r.size !== f.length) {
      if (f.immutable) conflicts.push({ path: f.path, local: { length: f.length, sha256: f.sha256 }, host: { length: r.size } });
      continue;
    }
    const d = await transport.digest(f.path);
    if (d === undefined) continue; // gone since the listing: upload it
    if (d.length === f.length && d.sha256 === f.sha256) item.action = 'skip';
    else if (f.immutable) conflicts.push({ path: f.path, local: { length: f.length, sha256: f.sha256 }, host: { length: d.length, sha256: d.sha256 } });
  }

  if (conflicts.length > 0) {
    const first = conflicts[0]!.path;
    const more = conflicts.length > 1 ? ` and ${conflicts.length - 1} more` : '';
    throw new AirlockError(
      'E_PUBLISH_IMMUTABLE',
      `host ${transport.host} already holds ${first}${more} with other bytes; a published file is never replaced — release under a new version, or find out who changed the host`,
      { details: { host: transport.host, conflicts } },
    );
  }

  const ts = items.find((i) => i.stage === 'timestamp');
  if (ts?.action === 'upload' && remote.has(ts.path)) {
    const hostVersion = timestampVersion(
      // An oversized timestamp.json on the host is not ours: replace it like any damage.
      await transport.readSmall(ts.path, TIMESTAMP_MAX_BYTES).catch((err: unknown) => {
        if (isAirlockError(err, 'E_TOO_LARGE')) return undefined;
        throw err;
      }),
    );
    const localVersion = timestampVersion(await readFile(ts.local).catch(() => undefined));
    // Equal versions with other bytes mean two signings of one version (two terminals, or
    // a re-signed copy): clients holding the host's would ignore ours (TUF §5.4.3).
    if (hostVersion !== undefined && localVersion !== undefined && hostVersion >= localVersion) {
      throw new AirlockError(
        'E_PUBLISH_STALE',
        `host ${transport.host} has timestamp version ${hostVersion}${hostVersion === localVersion ? ' signed differently from' : ', newer than'} this terminal's ${localVersion}; another terminal published, or this repository copy is old — bring it up to date before publishing`,
        { details: { host: transport.host, hostVersion, localVersion } },
      );
    }
  }

  const modeRepairs = await planModeRepairs(transport, modes, items.map((i) => i.path), remote);
  return { host: transport.host, items, leftovers: remoteFiles.filter((f) => isTemporaryPath(f.path)).map((f) => f.path), modes, modeRepairs };
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
