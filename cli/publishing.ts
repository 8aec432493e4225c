// Publishing, as every command that changes the repository ends (release, publish,
// root publish, key rotate, refresh): the terminal's repository copy goes to the hosts,
// or not at all with --no-publish (an offline terminal publishes later). Hosts are
// resolved before any passphrase is asked, so a typo in --to costs nothing. Progress
// goes to stderr on a TTY; --json prints one event per line.
import { join } from 'node:path';
import { EXIT, exitCodeOf, type ExitCode } from '../lib/core/errors.js';
import type { Signer } from '../lib/keys/signer.js';
import { parseHostUrl } from '../lib/publish/host-url.js';
import { resolveHosts } from '../lib/publish/hosts.js';
import { formatProgress, publish, TransferProgress, type HostSpec, type PublishEvent, type PublishReport } from '../lib/publish/index.js';
import { note } from './run.js';
import type { TerminalPaths } from '../lib/terminal/home.js';

export interface PublishingOptions {
  to?: string[];
  /** commander's --no-publish sets publish: false. */
  publish?: boolean;
  json?: boolean;
}

export async function hostsFor(paths: TerminalPaths, opts: PublishingOptions): Promise<HostSpec[]> {
  if (opts.publish === false) return [];
  return resolveHosts(paths.hosts, opts.to ?? []);
}

/** Only SFTP hosts need the publish key (and so the keystore passphrase). */
export function needsPublishKey(hosts: readonly HostSpec[]): boolean {
  return hosts.some((h) => parseHostUrl(h.url).kind === 'sftp');
}

/** Draws the progress line on a TTY, at most a few times a second. */
export function progressPrinter(): { onEvent: (e: PublishEvent) => void; finish: () => void } {
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

export interface PublishToOptions extends PublishingOptions {
  dryRun?: boolean;
  concurrency?: number;
  fullCheck?: boolean;
}

export async function publishTo(paths: TerminalPaths, hosts: HostSpec[], publishSigner: Signer | undefined, opts: PublishToOptions): Promise<PublishReport[]> {
  if (hosts.length === 0) return [];
  const printer = opts.json ? undefined : progressPrinter();
  try {
    return await publish(paths.repository, hosts, {
      ...(publishSigner ? { publishSigner } : {}),
      ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
      dryRun: Boolean(opts.dryRun),
      fullCheck: Boolean(opts.fullCheck),
      digestCacheDir: join(paths.home, 'publish-cache'),
      onEvent: opts.json ? (e) => process.stdout.write(`${JSON.stringify(e)}\n`) : printer!.onEvent,
    });
  } finally {
    printer?.finish();
  }
}

/** 0 when every host took the change; else the exit code of the first failure's kind. */
export function exitCodeFor(reports: readonly PublishReport[]): ExitCode {
  const failed = reports.find((r) => !r.ok);
  if (!failed) return EXIT.ok;
  return exitCodeOf(failed.error?.code);
}

export function describeReports(reports: readonly PublishReport[]): string[] {
  return reports.map((r) => (r.ok ? `published to ${r.host} (${r.uploaded} file(s) uploaded)` : `NOT published to ${r.host}: ${r.error?.code} ${r.error?.message ?? ''}; run the command's publish again`));
}
