// Performs a publish plan in its order: each file goes up under a temporary name, is
// read back and checked (length and SHA-256) against the plan, and only then renamed
// into place (on S3, where a PUT is atomic per object, it goes up in place and is read
// back there). So at every instant the host holds only complete, checked files under
// their real names, and a metadata file is never there before what it refers to.
// Interrupted at any point, the same command re-plans and continues (resume = re-run).
// Durability is per file for a few files, per batch for many (a directory host's flush:
// one syncfs for the batch's bytes, one for its renames): a batch never spans a point of
// the publishing order where a file refers to an earlier one.
import { AirlockError } from '../core/errors.js';
import { damaged, openLocalFile } from '../core/local-copy-file.js';
import { nameOfOpenFile } from '../core/path-beneath.js';
import type { PublishEvent, PublishReport } from './events.js';
import { formatMode } from './host-modes.js';
import { temporaryPath } from './layout.js';
import { applyModeRepairs } from './mode-repair.js';
import { localPathOf, readModeRepairs, readRun, type PublishItem, type PublishPlan } from './plan.js';
import type { RemoteDigest, Transport } from './transport.js';

export interface ApplyOptions {
  onEvent?: (e: PublishEvent) => void;
  /** Fault injection for tests: stop (as a dropped connection would) after this many files are in place. */
  failAfter?: number;
  /** A run of more uploads than this goes up in batches, flushed once each, where the host can flush (default BATCH_AFTER_FILES). */
  batchAfter?: number;
}

/**
 * Past this many files in a run, a host that can flush in bulk (syncfs) gets batches: a
 * few files flush faster one by one than with a syncfs, which writes back every dirty
 * page of the file system (costly on a busy machine).
 */
export const BATCH_AFTER_FILES = 16;
/** At most this many temporary files at once on the host (what an interrupted batch leaves for the next run to remove). */
const BATCH_MAX_FILES = 2048;
/**
 * A batch's writes, and then its read-backs, this many at a time: each is a few file
 * system calls that wait on the thread pool, not on the CPU, and one at a time a first
 * publish to a directory left the main thread idle 57 % of the time (10k targets).
 */
const BATCH_FILES_AT_ONCE = 8;

/** Emit file-progress at most this often per file, so --json output stays readable. */
const PROGRESS_INTERVAL_MS = 200;

function readBackMismatch(host: string, item: PublishItem, got: RemoteDigest | undefined): AirlockError {
  return new AirlockError(
    'E_PUBLISH_VERIFY',
    `host ${host}: ${item.path} read back with other bytes than were sent (or the local file changed during the publish); run the publish again, and check the host's disk if it repeats`,
    { details: { host, path: item.path, expected: { length: item.length, sha256: item.sha256 }, got: got ?? null } },
  );
}

function sameBytes(item: PublishItem, got: RemoteDigest | undefined): got is RemoteDigest {
  return got !== undefined && got.length === item.length && got.sha256 === item.sha256;
}

function immutableConflict(host: string, item: PublishItem): AirlockError {
  return new AirlockError('E_PUBLISH_IMMUTABLE', `host ${host} got ${item.path} with other bytes while this publish ran; a published file is never replaced — find out who else publishes there`, {
    details: { host, conflicts: [{ path: item.path }] },
  });
}

/**
 * On a host whose writes are atomic per file (S3), the file goes straight to its path and
 * is read back there. An immutable path that reads back with other bytes is refused and
 * left as it is, never removed: between our write and the read-back someone else may
 * have put their file there, and a publisher never deletes a published path — whoever
 * looks into the conflict needs to see what the host holds.
 */
async function writeOneInPlace(item: PublishItem, local: string, transport: Transport, onProgress: (bytes: number) => void): Promise<void> {
  const host = transport.host;
  const result = await transport.writeInPlace!(local, item.path, { overwrite: !item.immutable, length: item.length }, onProgress);
  const got = await transport.digest(item.path);
  if (sameBytes(item, got)) return;
  if (result === 'exists' || item.immutable) throw immutableConflict(host, item);
  throw readBackMismatch(host, item, got);
}

/** The file-progress callback of one upload: at most every PROGRESS_INTERVAL_MS, and at the end. */
function progressOf(item: PublishItem, host: string, emit: (e: PublishEvent) => void): (bytes: number) => void {
  let last = 0;
  return (bytes) => {
    const now = Date.now();
    if (now - last >= PROGRESS_INTERVAL_MS || bytes === item.length) {
      last = now;
      emit({ type: 'file-progress', host, path: item.path, bytes, length: item.length });
    }
  };
}

/** The temporary file holds exactly the planned bytes with the host's file mode, or this throws. */
async function checkReadBack(item: PublishItem, tmp: string, fileMode: number, transport: Transport): Promise<void> {
  const host = transport.host;
  const got = await transport.digest(tmp);
  if (!sameBytes(item, got)) throw readBackMismatch(host, item, got);
  // A file the web server cannot read is not published, whatever its bytes.
  if (got.mode !== undefined && got.mode !== fileMode) {
    throw new AirlockError(
      'E_PUBLISH_VERIFY',
      `host ${host}: ${item.path} read back with mode ${formatMode(got.mode)}, not ${formatMode(fileMode)}; the host changes modes behind the publisher (an ACL, a mount option, sftp-server -m) — fix that on the host, then publish again`,
      { details: { host, path: item.path, expectedMode: formatMode(fileMode), gotMode: formatMode(got.mode) } },
    );
  }
}

/** Renames a checked temporary file into place; an immutable path someone filled meanwhile must hold our bytes. */
async function placeChecked(item: PublishItem, tmp: string, transport: Transport, durable: boolean): Promise<void> {
  const result = await transport.rename(tmp, item.path, { overwrite: !item.immutable, durable });
  if (result === 'exists') {
    // Someone put the file there since the plan was made: fine if it is ours, byte for byte.
    if (!sameBytes(item, await transport.digest(item.path))) throw immutableConflict(transport.host, item);
    await transport.remove(tmp);
  }
}

/**
 * Runs `send` with a name the transports read the copy's file of `item` by. The file is
 * opened here as every reader of the copy opens it (local-copy-file.ts: through real
 * directories only, a regular file, never a link or a FIFO) and must have the length the
 * plan gives before a byte leaves; the name given is that open file's /proc name, so the
 * transport reads the file checked, not whatever its path names by then (elsewhere the
 * checked path, which a swap could still race).
 */
async function withLocalFile<T>(plan: PublishPlan, item: PublishItem, send: (local: string) => Promise<T>): Promise<T> {
  const path = localPathOf(plan, item);
  const opened = await openLocalFile(plan.localRoot, path);
  if (opened === undefined) throw damaged(path, 'is missing');
  try {
    if (opened.st.size !== item.length) throw damaged(path, `is ${opened.st.size} bytes where the signed metadata gives ${item.length}`);
    return await send(nameOfOpenFile(opened.fh) ?? path);
  } finally {
    await opened.fh.close();
  }
}

/** One file on its own: put (flushed), read back, rename (flushed). */
async function uploadOne(item: PublishItem, local: string, fileMode: number, transport: Transport, emit: (e: PublishEvent) => void): Promise<void> {
  const host = transport.host;
  emit({ type: 'file-start', host, path: item.path, stage: item.stage, length: item.length });
  const onProgress = progressOf(item, host, emit);
  if (transport.writeInPlace !== undefined) {
    await writeOneInPlace(item, local, transport, onProgress);
    emit({ type: 'file-done', host, path: item.path, length: item.length, sha256: item.sha256 });
    return;
  }
  const tmp = temporaryPath(item.path);
  try {
    await transport.put(local, tmp, onProgress);
    await checkReadBack(item, tmp, fileMode, transport);
    await placeChecked(item, tmp, transport, true);
  } catch (err) {
    await transport.remove(tmp).catch(() => undefined);
    throw err;
  }
  emit({ type: 'file-done', host, path: item.path, length: item.length, sha256: item.sha256 });
}

/**
 * A run of uploads one stage allows in any order, made durable together (a host with
 * flush): every file written under its temporary name without a flush (several at a
 * time), one flush, each read back and checked (several at a time), each renamed into
 * place one by one in the plan's order, one more flush.
 * So the host still shows only complete, checked files under real names, and the next
 * batch's renames begin only once this batch's are durable. `placed` counts each file
 * in place (the fault injection stops between renames, as a dropped connection would).
 */
async function uploadBatch(batch: readonly PublishItem[], plan: PublishPlan, transport: Transport, emit: (e: PublishEvent) => void, placed: (item: PublishItem) => void): Promise<void> {
  const host = transport.host;
  const pending = new Map<PublishItem, string>();
  for (const item of batch) pending.set(item, temporaryPath(item.path));
  const never = (): boolean => false;
  try {
    await eachBounded(
      batch,
      BATCH_FILES_AT_ONCE,
      async (item) => {
        await withLocalFile(plan, item, (local) => {
          emit({ type: 'file-start', host, path: item.path, stage: item.stage, length: item.length });
          return transport.put(local, pending.get(item)!, progressOf(item, host, emit), { durable: false });
        });
      },
      never,
    );
    await transport.flush!([...pending.values()]);
    await eachBounded(batch, BATCH_FILES_AT_ONCE, (item) => checkReadBack(item, pending.get(item)!, plan.modes.file, transport), never);
    const paths: string[] = [];
    for (const [item, tmp] of pending) {
      await placeChecked(item, tmp, transport, false);
      pending.delete(item);
      paths.push(item.path);
      emit({ type: 'file-done', host, path: item.path, length: item.length, sha256: item.sha256 });
      placed(item);
    }
    await transport.flush!(paths);
  } catch (err) {
    for (const tmp of pending.values()) await transport.remove(tmp).catch(() => undefined);
    throw err;
  }
}

/** `run` over `items`, at most `limit` at once, launching none once `stop()` says so; the first failure is thrown once all in flight have ended. */
async function eachBounded<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>, stop: () => boolean): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length && !stop()) {
      const item = items[next++]!;
      try {
        await run(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure !== undefined) throw failure.err;
}

/** Uploads the plan's 'upload' items in order; throws an AirlockError at the first failure, leaving the host consistent. */
export async function applyPublishPlan(plan: PublishPlan, transport: Transport, opts: ApplyOptions = {}): Promise<PublishReport> {
  const started = Date.now();
  const emit = opts.onEvent ?? (() => undefined);
  const batchAfter = opts.batchAfter ?? BATCH_AFTER_FILES;
  let uploaded = 0;
  let launched = 0;
  let bytes = 0;
  const injectFault = () => {
    if (opts.failAfter !== undefined && uploaded >= opts.failAfter) {
      throw new AirlockError('E_PUBLISH_INTERRUPTED', `publish to ${plan.host} interrupted after ${uploaded} files (injected fault); run the same publish again to finish`, {
        details: { host: plan.host, injected: true, uploaded },
      });
    }
  };
  const placed = (item: PublishItem): void => {
    uploaded++;
    bytes += item.length;
    injectFault();
  };
  injectFault();
  for await (const repairs of readModeRepairs(plan, BATCH_MAX_FILES)) {
    await applyModeRepairs(transport, repairs);
    for (const r of repairs) emit({ type: 'mode-repaired', host: plan.host, path: r.path, kind: r.kind, from: r.from, to: r.to });
  }
  const batched = transport.flush !== undefined && transport.writeInPlace === undefined;
  // Each run read back from the plan's list a batch at a time: a first publish of millions
  // of files holds one batch, never the plan.
  for (const run of plan.runs) {
    if (batched && run.files > batchAfter) {
      for await (const batch of readRun(run, BATCH_MAX_FILES)) await uploadBatch(batch, plan, transport, emit, placed);
      continue;
    }
    // Files of one run are independent: a host with round trips per file takes several at once.
    const stop = () => opts.failAfter !== undefined && launched >= opts.failAfter;
    for await (const batch of readRun(run, BATCH_MAX_FILES)) {
      await eachBounded(
        batch,
        transport.parallelFiles ?? 1,
        async (item) => {
          launched++;
          await withLocalFile(plan, item, (local) => uploadOne(item, local, plan.modes.file, transport, emit));
          uploaded++;
          bytes += item.length;
        },
        stop,
      );
      injectFault();
    }
  }
  for (const leftover of plan.leftovers ?? []) await transport.remove(leftover).catch(() => undefined);
  const report: PublishReport = {
    host: plan.host,
    ok: true,
    dryRun: false,
    uploaded,
    skipped: plan.skip + plan.upload - uploaded,
    bytes,
    modesRepaired: plan.modeRepairCount,
    durationMs: Date.now() - started,
  };
  emit({ type: 'host-done', host: plan.host, uploaded, skipped: report.skipped, bytes, durationMs: report.durationMs });
  return report;
}
