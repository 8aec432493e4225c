// Performs a publish plan in its order: each file goes up under a temporary name, is
// read back and checked (length and SHA-256) against the plan, and only then renamed
// into place (on S3, where a PUT is atomic per object, it goes up in place and is read
// back there). So at every instant the host holds only complete, checked files under
// their real names, and a metadata file is never there before what it refers to.
// Interrupted at any point, the same command re-plans and continues (resume = re-run).
import { AirlockError } from '../core/errors.js';
import type { PublishEvent, PublishReport } from './events.js';
import { formatMode } from './host-modes.js';
import { temporaryPath } from './layout.js';
import { applyModeRepairs } from './mode-repair.js';
import type { PublishItem, PublishPlan } from './plan.js';
import type { RemoteDigest, Transport } from './transport.js';

export interface ApplyOptions {
  onEvent?: (e: PublishEvent) => void;
  /** Fault injection for tests: stop (as a dropped connection would) after this many files are in place. */
  failAfter?: number;
}

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
async function writeOneInPlace(item: PublishItem, transport: Transport, onProgress: (bytes: number) => void): Promise<void> {
  const host = transport.host;
  const result = await transport.writeInPlace!(item.local, item.path, { overwrite: !item.immutable, length: item.length }, onProgress);
  const got = await transport.digest(item.path);
  if (sameBytes(item, got)) return;
  if (result === 'exists' || item.immutable) throw immutableConflict(host, item);
  throw readBackMismatch(host, item, got);
}

async function uploadOne(item: PublishItem, fileMode: number, transport: Transport, emit: (e: PublishEvent) => void): Promise<void> {
  const host = transport.host;
  emit({ type: 'file-start', host, path: item.path, stage: item.stage, length: item.length });
  let last = 0;
  const onProgress = (bytes: number) => {
    const now = Date.now();
    if (now - last >= PROGRESS_INTERVAL_MS || bytes === item.length) {
      last = now;
      emit({ type: 'file-progress', host, path: item.path, bytes, length: item.length });
    }
  };
  if (transport.writeInPlace !== undefined) {
    await writeOneInPlace(item, transport, onProgress);
    emit({ type: 'file-done', host, path: item.path, length: item.length, sha256: item.sha256 });
    return;
  }
  const tmp = temporaryPath(item.path);
  try {
    await transport.put(item.local, tmp, onProgress);
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
    const result = await transport.rename(tmp, item.path, { overwrite: !item.immutable });
    if (result === 'exists') {
      // Someone put the file there since the plan was made: fine if it is ours, byte for byte.
      if (!sameBytes(item, await transport.digest(item.path))) throw immutableConflict(host, item);
      await transport.remove(tmp);
    }
  } catch (err) {
    await transport.remove(tmp).catch(() => undefined);
    throw err;
  }
  emit({ type: 'file-done', host, path: item.path, length: item.length, sha256: item.sha256 });
}

/** Uploads the plan's 'upload' items in order; throws an AirlockError at the first failure, leaving the host consistent. */
export async function applyPublishPlan(plan: PublishPlan, transport: Transport, opts: ApplyOptions = {}): Promise<PublishReport> {
  const started = Date.now();
  const emit = opts.onEvent ?? (() => undefined);
  let uploaded = 0;
  let bytes = 0;
  const injectFault = () => {
    if (opts.failAfter !== undefined && uploaded >= opts.failAfter) {
      throw new AirlockError('E_PUBLISH_INTERRUPTED', `publish to ${plan.host} interrupted after ${uploaded} files (injected fault); run the same publish again to finish`, {
        details: { host: plan.host, injected: true, uploaded },
      });
    }
  };
  injectFault();
  await applyModeRepairs(transport, plan.modeRepairs);
  for (const r of plan.modeRepairs) emit({ type: 'mode-repaired', host: plan.host, path: r.path, kind: r.kind, from: r.from, to: r.to });
  for (const item of plan.items) {
    if (item.action !== 'upload') continue;
    await uploadOne(item, plan.modes.file, transport, emit);
    uploaded++;
    bytes += item.length;
    injectFault();
  }
  for (const leftover of plan.leftovers ?? []) await transport.remove(leftover).catch(() => undefined);
  const report: PublishReport = {
    host: plan.host,
    ok: true,
    dryRun: false,
    uploaded,
    skipped: plan.items.length - uploaded,
    bytes,
    modesRepaired: plan.modeRepairs.length,
    durationMs: Date.now() - started,
  };
  emit({ type: 'host-done', host: plan.host, uploaded, skipped: report.skipped, bytes, durationMs: report.durationMs });
  return report;
}
