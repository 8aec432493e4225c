// `airlock release`: build from the pinned branch, sign, write into the terminal's
// repository copy, publish to the hosts. Each step is a lib/ call; this file only
// sequences them, unlocks keys and prints.
import { buildRelease, signProvenance } from '../../lib/build/index.js';
import { AirlockError, ERROR_KINDS, EXIT } from '../../lib/core/errors.js';
import { Keystore } from '../../lib/keys/keystore.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import { readPassphrase } from '../../lib/keys/passphrase.js';
import type { KeyRole, Signer } from '../../lib/keys/signer.js';
import { resolveHosts } from '../../lib/publish/hosts.js';
import { publish } from '../../lib/publish/index.js';
import { releaseToRepository } from '../../lib/repo/release.js';
import { readConfig, terminalPaths } from '../../lib/repo/terminal-home.js';
import { emit, note } from '../run.js';

export interface ReleaseOptions {
  source: string;
  branch: string;
  commit: string;
  to?: string[];
  allowNetwork?: boolean;
  keystore?: string;
  passphraseFd?: number;
  json?: boolean;
}

export async function release(opts: ReleaseOptions): Promise<number> {
  const paths = terminalPaths();
  const config = await readConfig(paths);
  const keystore = await Keystore.open(keystoreDirFor(opts));
  const hosts = await resolveHosts(paths.hosts, opts.to ?? []);
  const passphrase = await readPassphrase({ fd: opts.passphraseFd }, `Passphrase for ${keystore.dir}`);
  let signers: Partial<Record<KeyRole, Signer>>;
  try {
    // Unlock before building, so a wrong passphrase costs nothing and nothing is written.
    const roles = new Set((await keystore.list()).map((k) => k.role));
    signers = {};
    for (const role of ['targets', 'snapshot', 'timestamp', 'pgp', 'minisign', 'publish'] as const) {
      if (roles.has(role)) signers[role] = await keystore.unlock(role, passphrase);
    }
  } finally {
    passphrase.wipe();
  }
  const { targets, snapshot, timestamp } = signers;
  if (!targets || !snapshot || !timestamp) {
    throw new AirlockError('E_KEY_NOT_FOUND', 'the keystore lacks a targets, snapshot or timestamp key; run `airlock key generate ROLE` or give --keystore');
  }

  const build = await buildRelease({
    source: opts.source,
    branch: opts.branch,
    commit: opts.commit,
    releasePattern: config.releaseBranchPattern,
    allowNetwork: Boolean(opts.allowNetwork),
    onOutput: opts.json ? undefined : (chunk) => process.stderr.write(chunk),
  });
  try {
    const provenance = await signProvenance(build.statement, targets);
    const result = await releaseToRepository(
      paths.repository,
      paths.staging,
      {
        project: build.project,
        version: build.version,
        commit: build.commit,
        branch: build.branch,
        sourceDateEpoch: build.sourceDateEpoch,
        artifacts: build.artifacts.map((a) => ({ name: a.name, path: a.path })),
        provenance,
      },
      { targets, snapshot, timestamp, pgp: signers.pgp, minisign: signers.minisign },
      {
        now: new Date(),
        expiryDays: config.expiryDays,
        name: config.name,
        hashBins: { afterTargets: config.hashBins.afterTargets, layout: { bitLength: config.hashBins.bitLength, namePrefix: 'bins' } },
      },
    );
    if (!opts.json) note(`signed ${result.project} ${result.version}: ${result.targets.length} targets, targets v${result.metadataVersions.targets}, snapshot v${result.metadataVersions.snapshot}`);
    const reports = await publish(paths.repository, hosts, {
      publishSigner: signers.publish,
      onEvent: opts.json ? (e) => process.stdout.write(`${JSON.stringify(e)}\n`) : undefined,
    });
    const failed = reports.filter((r) => !r.ok);
    emit(opts, { ok: failed.length === 0, project: result.project, version: result.version, targets: result.targets, hosts: reports }, () => [
      `released ${result.project} ${result.version} (commit ${build.commit})`,
      ...result.targets.map((t) => `  ${t.target}  sha256:${t.sha256}`),
      ...reports.map((r) => (r.ok ? `published to ${r.host}` : `NOT published to ${r.host}`)),
    ]);
    if (failed.length > 0) {
      const first = failed[0]!.error;
      for (const r of failed) note(`error ${r.error?.code ?? 'E_INTERNAL'}: host ${r.host}: ${r.error?.message ?? 'failed'}`);
      note('the release is signed in the terminal\'s repository copy; fix the host, then run `airlock publish` to finish (hosts that succeeded are consistent)');
      return first?.code && first.code !== 'E_INTERNAL' ? EXIT[ERROR_KINDS[first.code]] : EXIT.environment;
    }
    return EXIT.ok;
  } finally {
    await build.cleanup();
  }
}
