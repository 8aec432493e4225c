// Publishing after a trust-lifecycle change (root publish, key rotate, refresh): the
// terminal's repository copy goes to the hosts like a release does, or not at all with
// --no-publish (an offline terminal publishes later). Hosts are resolved before any
// passphrase is asked, so a typo in --to costs nothing.
import { EXIT, ERROR_KINDS, type ExitCode } from '../../lib/core/errors.js';
import type { Signer } from '../../lib/keys/signer.js';
import { parseHostUrl } from '../../lib/publish/host-url.js';
import { resolveHosts } from '../../lib/publish/hosts.js';
import { publish, type HostSpec, type PublishReport } from '../../lib/publish/index.js';
import type { TerminalPaths } from '../../lib/repo/terminal-home.js';

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

export async function publishTo(paths: TerminalPaths, hosts: HostSpec[], publishSigner: Signer | undefined, opts: PublishingOptions): Promise<PublishReport[]> {
  if (hosts.length === 0) return [];
  return publish(paths.repository, hosts, {
    publishSigner,
    onEvent: opts.json ? (e) => process.stdout.write(`${JSON.stringify(e)}\n`) : undefined,
  });
}

/** 0 when every host took the change; else the exit code of the first failure's kind. */
export function exitCodeFor(reports: readonly PublishReport[]): ExitCode {
  const failed = reports.find((r) => !r.ok);
  if (!failed) return EXIT.ok;
  const code = failed.error?.code;
  return code !== undefined && code !== 'E_INTERNAL' ? EXIT[ERROR_KINDS[code]] : EXIT.environment;
}

export function describeReports(reports: readonly PublishReport[]): string[] {
  return reports.map((r) => (r.ok ? `published to ${r.host} (${r.uploaded} file(s) uploaded)` : `NOT published to ${r.host}: ${r.error?.code} ${r.error?.message ?? ''}; run the command's publish again`));
}
