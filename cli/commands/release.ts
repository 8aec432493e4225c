// `airlock release`: build from the pinned branch, sign, write into the terminal's
// repository copy, publish to the hosts. Each step is a lib/ call; this file only
// sequences them, asks, unlocks keys and prints.
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { buildRelease, checkPins, describeBranchHead, signatureInWords, signProvenance } from '../../lib/builder/index.js';
import { AirlockError, EXIT } from '../../lib/core/errors.js';
import { Keystore } from '../../lib/keys/keystore.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import { readPassphrase } from '../../lib/keys/passphrase.js';
import type { Signer } from '../../lib/keys/signer.js';
import { resolveHosts } from '../../lib/publish/hosts.js';
import { LocalRepository } from '../../lib/repo/local-repository.js';
import { releaseToRepository } from '../../lib/repo/release.js';
import { closeSigners, keysListedBy, unlockListed, unlockNewest } from '../../lib/repo/role-keys.js';
import { openpgpUserId, readConfig, terminalPaths } from '../../lib/repo/terminal-home.js';
import { progressLine } from '../progress.js';
import { askLine } from '../prompt.js';
import { describeReports, exitCodeFor, publishTo } from '../publishing.js';
import { emit, note, printable } from '../run.js';

export interface ReleaseOptions {
  source: string;
  branch: string;
  commit?: string;
  to?: string[];
  allowNetwork?: boolean;
  dryRun?: boolean;
  keystore?: string;
  passphraseFd?: number;
  json?: boolean;
}

/** Without --commit, the release manager confirms the branch head they see, on a terminal only. */
async function confirmCommit(source: string, branch: string): Promise<string> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new AirlockError('E_USAGE', `give --commit with the full commit id you confirmed as the head of ${branch} (no terminal to ask on)`);
  }
  const head = await describeBranchHead(source, branch);
  note(`head of ${branch}:\n  commit    ${head.commit}\n  author    ${head.author}\n  date      ${head.authorDate}\n  subject   ${head.subject}\n  signature ${signatureInWords(head.signature)}`);
  const answer = await askLine(`Release exactly this commit? Type its first 12 characters to confirm: `);
  if (answer.trim().toLowerCase() !== head.commit.slice(0, 12)) throw new AirlockError('E_PIN_COMMIT', 'not confirmed; nothing was built');
  return head.commit;
}

export async function release(opts: ReleaseOptions): Promise<number> {
  const paths = terminalPaths();
  const config = await readConfig(paths);
  const commit = opts.commit ?? (await confirmCommit(opts.source, opts.branch));
  const request = {
    source: opts.source,
    branch: opts.branch,
    commit,
    releasePattern: config.releaseBranchPattern,
    allowNetwork: Boolean(opts.allowNetwork),
  };
  if (opts.dryRun) {
    const pins = await checkPins(request);
    emit(opts, { ok: true, dryRun: true, ...pins }, () => [
      `pins hold: ${pins.branch} @ ${pins.commit}, SOURCE_DATE_EPOCH=${pins.sourceDateEpoch}`,
      `recipe: ${pins.recipe.project} ${pins.recipe.version}, ${pins.recipe.steps.length} steps, artifacts ${pins.recipe.artifacts.join(', ')}`,
      ...Object.entries(pins.lockfileDigests).map(([f, d]) => `lockfile ${f} sha256:${d}`),
    ]);
    return EXIT.ok;
  }

  const root = (await new LocalRepository(paths.repository).current()).root.signed;
  const keystore = await Keystore.open(keystoreDirFor(opts));
  const hosts = await resolveHosts(paths.hosts, opts.to ?? []);
  // Public information only: a missing key is found before the build, without a passphrase.
  for (const role of ['targets', 'snapshot', 'timestamp'] as const) {
    if ((await keysListedBy(keystore, root, role)).length === 0) {
      throw new AirlockError('E_KEY_NOT_FOUND', `${keystore.dir} holds no ${role} key that root v${root.version} lists; give --keystore with the one that does (airlock key list)`);
    }
  }

  // The recipe's steps are the project's code, running as this user: while they run, no
  // private key is unlocked and no passphrase has been read (docs/recipe.md "What a step
  // can reach"). A wrong passphrase therefore costs a build; it never costs a key.
  const build = await buildRelease({ ...request, hide: [keystore.dir], onOutput: opts.json ? undefined : (chunk) => process.stderr.write(printable(chunk, { keepCarriageReturn: true })) });
  const held: Signer[] = [];
  try {
    const firstKey = (await keysListedBy(keystore, root, 'targets')).map((k) => k.keyId);
    const passphrase = await readPassphrase({ fd: opts.passphraseFd }, `Passphrase for ${keystore.dir}: `, { check: keystore.passphraseCheckFor(firstKey) });
    let signers;
    let publishSigner: Signer | undefined;
    try {
      // Online keys are the ones root lists (after a rotation the keystore may hold a retired one).
      const one = async (role: 'targets' | 'snapshot' | 'timestamp'): Promise<Signer> => {
        const [s] = await unlockListed(keystore, root, role, passphrase);
        if (!s) throw new AirlockError('E_KEY_NOT_FOUND', `${keystore.dir} holds no ${role} key that root v${root.version} lists; give --keystore with the one that does (airlock key list)`);
        held.push(s);
        return s;
      };
      const byRole = async (role: 'pgp' | 'minisign' | 'ssh' | 'publish'): Promise<Signer | undefined> => {
        const s = await unlockNewest(keystore, role, passphrase);
        if (s) held.push(s);
        return s;
      };
      signers = { targets: await one('targets'), snapshot: await one('snapshot'), timestamp: await one('timestamp'), pgp: await byRole('pgp'), minisign: await byRole('minisign'), ssh: await byRole('ssh') };
      publishSigner = await byRole('publish');
    } finally {
      passphrase.wipe();
    }

    // The build log stays on the terminal; its SHA-256 is in the provenance.
    const logs = join(paths.home, 'build-logs');
    await mkdir(logs, { recursive: true, mode: 0o700 });
    await copyFile(build.buildLog, join(logs, `${build.project}-${build.version}.log`));
    const provenance = await signProvenance(build.statement, signers.targets);
    const progress = progressLine();
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
      signers,
      {
        now: new Date(),
        expiryDays: config.expiryDays,
        name: config.name,
        userId: openpgpUserId(config),
        ...(config.apt ? { apt: config.apt } : {}),
        ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
        hashBins: { afterTargets: config.hashBins.afterTargets, layout: { bitLength: config.hashBins.bitLength, namePrefix: 'bins' } },
        onProgress: (e) => progress.update(`${e.phase} ${e.file}`, e.bytes, e.total),
      },
    );
    progress.finish();
    if (!opts.json) note(`signed ${result.project} ${result.version}: ${result.targets.length} targets, snapshot v${result.metadataVersions.snapshot}`);
    const reports = await publishTo(paths, hosts, publishSigner, opts);
    const failed = reports.filter((r) => !r.ok);
    emit(opts, { ok: failed.length === 0, project: result.project, version: result.version, targets: result.targets, hosts: reports }, () => [
      `released ${result.project} ${result.version} (commit ${build.commit})`,
      ...result.targets.map((t) => `  ${t.target}  sha256:${t.sha256}`),
      ...describeReports(reports),
    ]);
    if (failed.length > 0) note("the release is signed in the terminal's repository copy; fix the host, then run `airlock publish` to finish (hosts that succeeded are consistent)");
    return exitCodeFor(reports);
  } finally {
    await closeSigners(held);
    await build.cleanup();
  }
}
