// `airlock publish [--to NAME…] [--dry-run] [--json]`: makes every host (or the named
// ones) hold the terminal's repository copy. Re-running finishes an interrupted publish.
// --dry-run prints the plan; --json prints one event per line, then the result object.
import { Keystore } from '../../lib/keys/keystore.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import { readPassphrase } from '../../lib/keys/passphrase.js';
import type { Signer } from '../../lib/keys/signer.js';
import { resolveHosts } from '../../lib/publish/hosts.js';
import { formatSize } from '../../lib/core/byte-size.js';
import type { PublishReport } from '../../lib/publish/index.js';
import { terminalPaths } from '../../lib/terminal/home.js';
import { exitCodeFor, needsPublishKey, publishTo } from '../publishing.js';
import { emit } from '../run.js';
import { unlockPublishKey } from '../../lib/terminal/keys.js';

export interface PublishOptions {
  to?: string[];
  /** The old spelling of --to. */
  host?: string[];
  dryRun?: boolean;
  fullCheck?: boolean;
  concurrency?: number;
  keystore?: string;
  passphraseFd?: number;
  json?: boolean;
}

function planLines(r: PublishReport): string[] {
  const plan = r.plan;
  if (!plan) return [`${r.host}: error ${r.error?.code}: ${r.error?.message}`];
  const shown = plan.firstUploads;
  return [
    `${r.host}: ${plan.upload} to upload (${formatSize(r.bytes)}), ${r.skipped} already there${plan.leftovers.length ? `, ${plan.leftovers.length} leftover temporary files to remove` : ''}`,
    ...plan.stages.map((s) => `  ${s.stage.padEnd(9)}  ${String(s.upload).padStart(9)} file(s)  ${formatSize(s.bytes)}`),
    ...shown.map((i, n) => `  ${String(n + 1).padStart(4)}  ${i.stage.padEnd(9)}  ${i.immutable ? 'new ' : 'set '}  ${i.path}  (${formatSize(i.length)})`),
    ...(plan.upload > shown.length ? [`        … and ${plan.upload - shown.length} more (--json lists every one)`] : []),
    ...plan.modeRepairs.map((m) => `        mode  ${m.from} -> ${m.to}  ${m.path || '(host root)'}${m.kind === 'dir' ? '/' : ''}`),
    ...(plan.modeRepairCount > plan.modeRepairs.length ? [`        … and ${plan.modeRepairCount - plan.modeRepairs.length} more mode repair(s)`] : []),
  ];
}

export async function publish(opts: PublishOptions): Promise<number> {
  const paths = terminalPaths();
  const hosts = await resolveHosts(paths.hosts, opts.to ?? opts.host ?? []);
  let publishSigner: Signer | undefined;
  if (needsPublishKey(hosts)) {
    const keystore = await Keystore.open(keystoreDirFor(opts));
    const passphrase = await readPassphrase({ fd: opts.passphraseFd }, `Passphrase for the publish key (${keystore.dir}): `);
    try {
      publishSigner = await unlockPublishKey(keystore, passphrase);
    } finally {
      passphrase.wipe();
    }
  }
  const reports = await publishTo(paths, hosts, publishSigner, opts);
  const failed = reports.filter((r) => !r.ok);
  emit(opts, { ok: failed.length === 0, dryRun: Boolean(opts.dryRun), hosts: reports }, () =>
    opts.dryRun
      ? reports.flatMap(planLines)
      : reports.map((r) =>
          r.ok ? `${r.host}: published (${r.uploaded} uploaded, ${formatSize(r.bytes)}; ${r.skipped} already there${r.modesRepaired ? `; ${r.modesRepaired} mode(s) repaired for the web server` : ''})` : `${r.host}: FAILED ${r.error?.code}: ${r.error?.message}`,
        ),
  );
  return exitCodeFor(reports);
}
