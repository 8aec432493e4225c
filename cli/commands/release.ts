// `airlock release`: plan (refusing what it can before anything runs), build from the
// pinned branch, sign in one session, write into the terminal's repository copy, publish
// to the hosts. Each step is a lib/ call; this file only sequences them, asks and prints.
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describeBranchHead, prepareBuild, signatureInWords, signProvenance } from '../../lib/builder/index.js';
import { AirlockError, EXIT } from '../../lib/core/errors.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import { readPassphrase } from '../../lib/keys/passphrase.js';
import { resolveHosts } from '../../lib/publish/hosts.js';
import { observeRpmTools } from '../../lib/repo/compat/rpm-tools.js';
import { releaseToRepository } from '../../lib/repo/release.js';
import { openpgpUserId } from '../../lib/terminal/config.js';
import { terminalPaths } from '../../lib/terminal/home.js';
import type { Signer } from '../../lib/keys/signer.js';
import { listKeystore, observeTerminalCurrent } from '../../lib/terminal/observe.js';
import { observeReleased } from '../../lib/terminal/observe-released.js';
import { describeReleasePlan, planRelease, type ReleasePlan } from '../../lib/terminal/plan-release.js';
import { SigningSession } from '../../lib/terminal/session.js';
import { aptSignersOf, observeAptSignedBy } from '../../lib/terminal/plan-apt-keys.js';
import { describeAptKeyTransition } from '../../lib/repo/compat/apt-key-transition.js';
import { describeKeyIdentity } from '../../lib/repo/compat/key-history.js';
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

/** The current pgp key, and the earlier ones co-signing the apt Release across a key change. */
function aptSigning(session: SigningSession, plan: ReturnType<typeof planRelease>): { pgp?: Signer; aptCosigners?: Signer[] } {
  if (session.signers('pgp').length === 0) return {};
  const [pgp, ...aptCosigners] = aptSignersOf(session.signers('pgp'), plan.aptKeys);
  return { pgp, aptCosigners };
}

export async function release(opts: ReleaseOptions): Promise<number> {
  const paths = terminalPaths();
  const { config, state } = await observeTerminalCurrent(paths);
  const keystore = await listKeystore(keystoreDirFor(opts));
  const hosts = await resolveHosts(paths.hosts, opts.to ?? []);
  const commit = opts.commit ?? (await confirmCommit(opts.source, opts.branch));
  const request = {
    source: opts.source,
    branch: opts.branch,
    commit,
    releasePattern: config.releaseBranchPattern,
    allowNetwork: Boolean(opts.allowNetwork),
  };
  // The recipe at the confirmed commit, from the one checkout the build then runs in: the
  // plan refuses what it can before the build runs, a passphrase is read or a byte written.
  const prepared = await prepareBuild(request);
  const { pins } = prepared;
  let plan: ReleasePlan;
  try {
    plan = planRelease({
      recipe: pins.recipe,
      pins: { commit: pins.commit, branch: pins.branch, sourceDateEpoch: pins.sourceDateEpoch },
      state,
      released: await observeReleased(paths.repository, state, pins.recipe),
      config,
      keystore,
      hosts,
      buildLog: join(paths.home, 'build-logs', `${pins.recipe.project}-${pins.recipe.version}.log`),
      ...(pins.recipe.artifacts.some((a) => a.endsWith('.rpm')) ? { rpmTools: await observeRpmTools() } : {}),
      // The keys apt users may pin (Signed-By of the copy's Releases): an earlier pgp key co-signs.
      aptSignedBy: await observeAptSignedBy(paths.repository),
    });
  } catch (err) {
    await prepared.cleanup();
    throw err;
  }
  if (opts.dryRun) {
    await prepared.cleanup();
    emit(opts, { ok: true, dryRun: true, plan, pins: { recipeDigest: pins.recipeDigest, lockfileDigests: pins.lockfileDigests } }, () => [
      `pins hold: ${pins.branch} @ ${pins.commit}, SOURCE_DATE_EPOCH=${pins.sourceDateEpoch}`,
      ...Object.entries(pins.lockfileDigests).map(([f, d]) => `lockfile ${f} sha256:${d}`),
      ...describeReleasePlan(plan),
    ]);
    return EXIT.ok;
  }

  if (plan.aptKeys && !opts.json) for (const line of describeAptKeyTransition(plan.aptKeys)) note(line);
  // The recipe's steps are the project's code, running as this user: while they run, no
  // private key is unlocked and no passphrase has been read (docs/recipe.md "What a step
  // can reach"). A wrong passphrase therefore costs a build; it never costs a key.
  const build = await prepared.build({ hide: [keystore.dir], onOutput: opts.json ? undefined : (chunk) => process.stderr.write(printable(chunk, { keepCarriageReturn: true })) });
  let session: SigningSession | undefined;
  try {
    if (build.project !== plan.project || build.version !== plan.version || build.commit !== plan.commit) {
      throw new AirlockError('E_PIN_COMMIT', `the build made ${build.project} ${build.version} @ ${build.commit}, and the plan was ${plan.project} ${plan.version} @ ${plan.commit}; the source changed under the release — run it again`);
    }
    session = await SigningSession.open(plan.keys, (dir, keyIds) => readPassphrase({ fd: opts.passphraseFd }, `Passphrase for ${dir}: `, { check: keystore.keystore.passphraseCheckFor(keyIds) }), new Map([[keystore.dir, keystore.keystore]]));
    const targets = session.required('targets');
    // The build log stays on the terminal; its SHA-256 is in the provenance.
    await mkdir(dirname(plan.buildLog), { recursive: true, mode: 0o700 });
    await copyFile(build.buildLog, plan.buildLog);
    const provenance = await signProvenance(build.statement, targets);
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
        artifacts: build.artifacts.map((a) => ({ name: a.name, path: a.path, content: a.content })),
        provenance,
      },
      { targets, snapshot: session.required('snapshot'), timestamp: session.required('timestamp'), ...aptSigning(session, plan), minisign: session.signer('minisign'), ssh: session.signer('ssh') },
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
    const reports = await publishTo(paths, hosts, session.signer('publish'), opts);
    const failed = reports.filter((r) => !r.ok);
    emit(opts, { ok: failed.length === 0, project: result.project, version: result.version, targets: result.targets, keys: result.keys, ...(plan.aptKeys ? { aptKeys: plan.aptKeys } : {}), hosts: reports }, () => [
      `released ${result.project} ${result.version} (commit ${build.commit})`,
      ...result.targets.map((t) => `  ${t.target}  sha256:${t.sha256}`),
      ...describeKeyIdentity(result.keys, 'changed since the previous release'),
      ...describeReports(reports),
    ]);
    if (failed.length > 0) note("the release is signed in the terminal's repository copy; fix the host, then run `airlock publish` to finish (hosts that succeeded are consistent)");
    return exitCodeFor(reports);
  } finally {
    await session?.close();
    await build.cleanup();
  }
}
