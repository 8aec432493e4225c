// `airlock publish [--host NAME…] [--dry-run] [--json]`: makes every host (or the named
// ones) hold the terminal's repository copy. Re-running finishes an interrupted publish.
// --dry-run prints the plan; --json prints one event per line, then the result object.
import { join } from 'node:path';
import { ERROR_KINDS, EXIT } from '../../lib/core/errors.js';
import { Keystore } from '../../lib/keys/keystore.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import { readPassphrase } from '../../lib/keys/passphrase.js';
import type { Signer } from '../../lib/keys/signer.js';
import { parseHostUrl } from '../../lib/publish/host-url.js';
import { resolveHosts } from '../../lib/publish/hosts.js';
import { formatBytes, formatProgress, publish as publishToHosts, TransferProgress, type PublishEvent, type PublishReport } from '../../lib/publish/index.js';
import { terminalPaths } from '../../lib/repo/terminal-home.js';
import { emit, note } from '../run.js';

export interface PublishOptions {
  host?: string[];
  dryRun?: boolean;
  fullCheck?: boolean;
  concurrency?: number;
  keystore?: string;
  passphraseFd?: number;
  json?: boolean;
}

/** Draws the progress line on a TTY, at most a few times a second. */
function progressPrinter(): { onEvent: (e: PublishEvent) => void; finish: () => void } {
  const meter = new TransferProgress();
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let drawn = false;
  return {
    onEvent(e) {
      meter.onEvent(e);
      if (e.type === 'host-failed') {
        if (drawn) process.stderr.write('\r\x1b[K');
        note(`${e.host}: error ${e.code}: ${e.message}`);
      }
      if (!tty) return;
      const now = Date.now();
      if (now - last < 200 && e.type !== 'host-done') return;
      last = now;
      process.stderr.write(`\r\x1b[K${formatProgress(meter.snapshot())}`);
      drawn = true;
    },
    finish() {
      if (drawn) process.stderr.write('\n');
    },
  };
}

function planLines(r: PublishReport): string[] {
  const plan = r.plan;
  if (!plan) return [`${r.host}: error ${r.error?.code}: ${r.error?.message}`];
  const up = plan.items.filter((i) => i.action === 'upload');
  return [
    `${r.host}: ${up.length} to upload (${formatBytes(r.bytes)}), ${r.skipped} already there${plan.leftovers.length ? `, ${plan.leftovers.length} leftover temporary files to remove` : ''}`,
    ...up.map((i) => `  ${String(up.indexOf(i) + 1).padStart(4)}  ${i.stage.padEnd(9)}  ${i.immutable ? 'new ' : 'set '}  ${i.path}  (${formatBytes(i.length)})`),
  ];
}

export async function publish(opts: PublishOptions): Promise<number> {
  const paths = terminalPaths();
  const hosts = await resolveHosts(paths.hosts, opts.host ?? []);
  let publishSigner: Signer | undefined;
  if (hosts.some((h) => parseHostUrl(h.url).kind === 'sftp')) {
    const keystore = await Keystore.open(keystoreDirFor(opts));
    const passphrase = await readPassphrase({ fd: opts.passphraseFd }, `Passphrase for the publish key (${keystore.dir}): `);
    try {
      publishSigner = await keystore.unlock('publish', passphrase);
    } finally {
      passphrase.wipe();
    }
  }
  const printer = opts.json ? undefined : progressPrinter();
  const reports = await publishToHosts(paths.repository, hosts, {
    ...(publishSigner ? { publishSigner } : {}),
    ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
    dryRun: Boolean(opts.dryRun),
    digestCacheDir: join(paths.home, 'publish-cache'),
    fullCheck: Boolean(opts.fullCheck),
    onEvent: opts.json ? (e) => process.stdout.write(`${JSON.stringify(e)}\n`) : printer!.onEvent,
  });
  printer?.finish();
  const failed = reports.filter((r) => !r.ok);
  emit(opts, { ok: failed.length === 0, dryRun: Boolean(opts.dryRun), hosts: reports }, () =>
    opts.dryRun
      ? reports.flatMap(planLines)
      : reports.map((r) =>
          r.ok ? `${r.host}: published (${r.uploaded} uploaded, ${formatBytes(r.bytes)}; ${r.skipped} already there)` : `${r.host}: FAILED ${r.error?.code}: ${r.error?.message}`,
        ),
  );
  if (failed.length === 0) return EXIT.ok;
  // The first failing host decides the exit code; a re-run finishes every host.
  const code = failed[0]!.error?.code;
  return code && code !== 'E_INTERNAL' ? EXIT[ERROR_KINDS[code]] : EXIT.environment;
}
