// Publishing to every host of a repository (mirrors): each host is planned and applied
// on its own, a bounded number at a time, so one slow or failing host neither blocks
// nor damages the others; every host gets its own report.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { sha256Hex } from '../core/digest.js';
import { AirlockError, errorCodeOf, isAirlockError } from '../core/errors.js';
import { DigestCachingTransport } from './digest-cache.js';
import { PLAN_REPORT_ITEMS, type PlanReport } from './events.js';
import type { Signer } from '../keys/signer.js';
import { applyPublishPlan } from './apply.js';
import { DirectoryTransport } from './directory-transport.js';
import type { PublishEvent, PublishReport } from './events.js';
import { hostModes } from './host-modes.js';
import { parseHostUrl, type S3HostOptions } from './host-url.js';
import { disposePlan, planPublish, planSummary, readModeRepairs, readRun, type PublishedMark, type PublishItem, type PublishPlan } from './plan.js';
import type { ModeRepair } from './mode-repair.js';
import type { S3TransportOptions } from './s3-transport.js';
import type { Transport } from './transport.js';

export interface HostSpec {
  name: string;
  /** file:///abs/dir, /abs/dir, sftp://user@host:port/path or s3://bucket/prefix */
  url: string;
  /** Pinned host key: an OpenSSH public key line, or SHA256:<base64> fingerprint. */
  hostKey?: string;
  /** Octal permission bits of files and directories on the host (host-modes.ts); default 0644 and 0755. */
  fileMode?: string;
  dirMode?: string;
  /** How an s3:// host is reached. */
  s3?: S3HostOptions;
}

export interface OpenTransportOptions {
  /** The keystore's `publish` key; needed for SFTP hosts. */
  publishSigner?: Signer;
  /** SFTP connect/handshake timeout in milliseconds. */
  timeoutMs?: number;
  /** Only reads (a plan, a --dry-run): a directory host that does not exist yet is not created. */
  readOnly?: boolean;
  /** S3 hosts: credentials (default: the environment or the shared credentials file) and test knobs. */
  s3?: S3TransportOptions;
}

export async function openTransport(host: HostSpec, opts: OpenTransportOptions = {}): Promise<Transport> {
  const loc = parseHostUrl(host.url);
  if (loc.kind === 's3') {
    // Objects have no permission bits: a public-read bucket policy makes them readable.
    const { S3Transport } = await import('./s3-transport.js');
    return S3Transport.open(host, loc, opts.s3);
  }
  const modes = hostModes(host);
  if (loc.kind === 'directory') return DirectoryTransport.open(host.name, loc.path, modes, { create: !opts.readOnly });
  const { SftpTransport } = await import('./sftp-transport.js');
  return SftpTransport.connect(host, loc, { ...opts, modes });
}

export interface PublishOptions extends OpenTransportOptions {
  /** Hosts published to at once (default 3). */
  concurrency?: number;
  /** Plan only: nothing is written to any host. */
  dryRun?: boolean;
  onEvent?: (e: PublishEvent) => void;
  /** Fault injection for tests, per host (see ApplyOptions.failAfter). */
  failAfter?: number;
  /**
   * Where to keep each host's digest cache (digest-cache.ts), e.g. $AIRLOCK_HOME/publish-cache.
   * Without it every identical-looking file on the host is read back in full to plan.
   */
  digestCacheDir?: string;
  /** Read every file on the host back, ignoring the digest cache (it is refreshed), and walk and hash the local copy instead of trusting its manifest. */
  fullCheck?: boolean;
}

function cacheNameFor(dir: string, host: HostSpec): string {
  // Keyed by name and URL, so a host moved to another URL starts with an empty cache.
  return join(dir, sha256Hex(`${host.name}\n${host.url}`).slice(0, 32));
}

function cacheFileFor(dir: string, host: HostSpec): string {
  return `${cacheNameFor(dir, host)}.digests`;
}

function publishedMarkFileFor(dir: string, host: HostSpec): string {
  return `${cacheNameFor(dir, host)}.published.json`;
}

/** What the last complete publish to a host left there (plan.ts PublishedMark); undefined when unknown or unreadable (a full plan then). */
async function readPublishedMark(file: string): Promise<PublishedMark | undefined> {
  try {
    const raw = JSON.parse(await readFile(file, 'utf8')) as { formatVersion?: unknown; manifest?: { offset?: unknown; end?: unknown }; timestampSha256?: unknown };
    const { offset, end } = raw.manifest ?? {};
    if (raw.formatVersion !== 1 || !Number.isSafeInteger(offset) || typeof end !== 'string' || typeof raw.timestampSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(raw.timestampSha256)) return undefined;
    return { manifest: { offset: offset as number, end }, timestampSha256: raw.timestampSha256 };
  } catch {
    return undefined;
  }
}

async function writePublishedMark(file: string, mark: PublishedMark): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify({ formatVersion: 1, ...mark })}\n`, { mode: 0o600 });
}

/** A dry run's plan for the report; every upload goes out as a plan-item event, in order, as it is read back. */
async function planReport(plan: PublishPlan, emit: (e: PublishEvent) => void): Promise<PlanReport> {
  const firstUploads: PublishItem[] = [];
  for (const run of plan.runs) {
    for await (const batch of readRun(run, 4096)) {
      for (const i of batch) {
        emit({ type: 'plan-item', host: plan.host, path: i.path, stage: i.stage, immutable: i.immutable, length: i.length, sha256: i.sha256 });
        if (firstUploads.length < PLAN_REPORT_ITEMS) firstUploads.push(i);
      }
    }
  }
  const stages: PlanReport['stages'] = [];
  for (const run of plan.runs) {
    const last = stages.at(-1);
    if (last?.stage === run.stage) {
      last.upload += run.files;
      last.bytes += run.bytes;
    } else stages.push({ stage: run.stage, upload: run.files, bytes: run.bytes });
  }
  // The mode repairs named are capped as the uploads are (a host published under umask 077 has one per file).
  const modeRepairs: ModeRepair[] = [];
  for await (const batch of readModeRepairs(plan, PLAN_REPORT_ITEMS)) {
    modeRepairs.push(...batch.slice(0, PLAN_REPORT_ITEMS - modeRepairs.length));
    if (modeRepairs.length >= PLAN_REPORT_ITEMS) break;
  }
  const { host, localRoot, upload, skip, bytes, leftovers, modes, modeRepairCount } = plan;
  const items = upload + skip <= PLAN_REPORT_ITEMS ? { items: [...firstUploads, ...plan.skipped] } : {};
  return { host, localRoot, upload, skip, bytes, stages, firstUploads, ...items, leftovers, modes, modeRepairs, modeRepairCount };
}

async function publishOne(localRepo: string, host: HostSpec, opts: PublishOptions): Promise<PublishReport> {
  const started = Date.now();
  const emit = opts.onEvent ?? (() => undefined);
  let transport: Transport | undefined;
  let plan: PublishPlan | undefined;
  try {
    transport = await openTransport(host, opts.dryRun ? { ...opts, readOnly: true } : opts);
    if (opts.digestCacheDir !== undefined) {
      // A dry run reads the cache and never writes it: it leaves the terminal home as it was.
      transport = await DigestCachingTransport.wrap(transport, cacheFileFor(opts.digestCacheDir, host), { ignoreCached: Boolean(opts.fullCheck), readOnly: Boolean(opts.dryRun) });
    }
    const markFile = opts.digestCacheDir === undefined ? undefined : publishedMarkFileFor(opts.digestCacheDir, host);
    const since = markFile === undefined || opts.fullCheck ? undefined : await readPublishedMark(markFile);
    const digestCache = transport instanceof DigestCachingTransport ? { cache: transport.cache, ignoreCached: transport.ignoreCached, write: !transport.readOnly } : undefined;
    plan = await planPublish(localRepo, transport, { fullCheck: Boolean(opts.fullCheck), modes: hostModes(host), ...(since ? { since } : {}), ...(digestCache ? { digestCache } : {}) });
    const s = planSummary(plan);
    emit({ type: 'plan', host: host.name, upload: s.upload, skip: s.skip, bytes: s.bytes, leftovers: plan.leftovers.length });
    if (opts.dryRun) {
      return { host: host.name, ok: true, dryRun: true, uploaded: 0, skipped: s.skip, bytes: s.bytes, durationMs: Date.now() - started, plan: await planReport(plan, emit) };
    }
    const applyOpts = opts.failAfter === undefined ? { onEvent: emit } : { onEvent: emit, failAfter: opts.failAfter };
    const report = await applyPublishPlan(plan, transport, applyOpts);
    // The host now holds the copy as of this manifest state: the next publish looks only at what comes after.
    if (markFile !== undefined && plan.reached) await writePublishedMark(markFile, plan.reached);
    return report;
  } catch (err) {
    const code = errorCodeOf(err);
    const message = err instanceof Error ? err.message : String(err);
    emit({ type: 'host-failed', host: host.name, code, message });
    const error: NonNullable<PublishReport['error']> = { code, message };
    if (isAirlockError(err) && err.details) error.details = err.details;
    return { host: host.name, ok: false, dryRun: Boolean(opts.dryRun), uploaded: 0, skipped: 0, bytes: 0, durationMs: Date.now() - started, error };
  } finally {
    if (plan) await disposePlan(plan).catch(() => undefined);
    await transport?.close().catch(() => undefined);
  }
}

/**
 * Publishes the local tree to every host, at most `concurrency` at once. Never throws
 * for a host's failure: each report says ok or carries the error code, so the caller
 * decides the exit status (a failed host stays consistent and is finished by a re-run).
 */
export async function publish(localRepo: string, hosts: HostSpec[], opts: PublishOptions = {}): Promise<PublishReport[]> {
  const names = new Set<string>();
  for (const h of hosts) {
    if (names.has(h.name)) throw new AirlockError('E_USAGE', `host ${h.name} is listed twice; name each host once`);
    names.add(h.name);
  }
  const limit = Math.max(1, opts.concurrency ?? 3);
  const reports: PublishReport[] = new Array(hosts.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < hosts.length) {
      const i = next++;
      reports[i] = await publishOne(localRepo, hosts[i]!, opts);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, hosts.length) }, worker));
  return reports;
}
