// `airlock import DIR`: an archive of earlier releases (DIR/<project>/<version>/ with a
// release.json each, docs/import.md) signed into the terminal's repository copy in
// batches. The archive is walked and checked, and the plan made, before a passphrase is
// read; --dry-run prints the plan and writes nothing; a re-run continues after the last
// committed batch. Publishing is `airlock publish`, afterwards.
import { join } from 'node:path';
import { AirlockError, EXIT } from '../../lib/core/errors.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import { readPassphrase } from '../../lib/keys/passphrase.js';
import { DEFAULT_BATCH_TARGETS, IMPORT_COMPAT, IMPORT_PARALLEL_UNLOCKS, importArchive, surveyArchive, type ImportCompat } from '../../lib/repo/import.js';
import { importJournalPath } from '../../lib/repo/import-journal.js';
import { LocalRepository } from '../../lib/repo/local-repository.js';
import { openpgpUserId, readConfig } from '../../lib/terminal/config.js';
import { terminalPaths } from '../../lib/terminal/home.js';
import { listKeystore } from '../../lib/terminal/observe.js';
import { describeImportPlan, planImport } from '../../lib/terminal/plan-import.js';
import { SigningSession } from '../../lib/terminal/session.js';
import { emit, note } from '../run.js';

export interface ImportCommandOptions {
  batch?: number;
  compat?: string;
  dryRun?: boolean;
  keystore?: string;
  passphraseFd?: number;
  json?: boolean;
}

export async function importReleases(dir: string, opts: ImportCommandOptions): Promise<number> {
  const compat = (opts.compat ?? 'tuf') as ImportCompat;
  if (!IMPORT_COMPAT.includes(compat)) throw new AirlockError('E_USAGE', `--compat takes ${IMPORT_COMPAT.join(' or ')}`);
  const paths = terminalPaths();
  const config = await readConfig(paths);
  const current = await new LocalRepository(paths.repository).current();
  const keystore = await listKeystore(keystoreDirFor(opts));
  const journal = await importJournalPath(join(paths.home, 'imports'), dir);
  const survey = await surveyArchive(paths.repository, dir, journal);
  const plan = planImport({ survey, current, config, keystore, compat, batchTargets: opts.batch ?? DEFAULT_BATCH_TARGETS, journal: journal.path });
  if (opts.dryRun || (plan.releases === 0 && plan.unsigned === 0)) {
    emit(opts, { ok: true, ...(opts.dryRun ? { dryRun: true } : {}), plan }, () => describeImportPlan(plan));
    return EXIT.ok;
  }
  const session = await SigningSession.open(plan.keys, (d, keyIds) => readPassphrase({ fd: opts.passphraseFd }, `Passphrase for ${d}: `, { check: keystore.keystore.passphraseCheckFor(keyIds) }), new Map([[keystore.dir, keystore.keystore]]), { parallelUnlocks: IMPORT_PARALLEL_UNLOCKS });
  try {
    const started = Date.now();
    const result = await importArchive(
      paths.repository,
      paths.staging,
      dir,
      { targets: session.required('targets'), snapshot: session.required('snapshot'), timestamp: session.required('timestamp'), pgp: session.signer('pgp'), minisign: session.signer('minisign'), ssh: session.signer('ssh') },
      {
        now: new Date(),
        expiryDays: config.expiryDays,
        hashBins: { afterTargets: config.hashBins.afterTargets, layout: { bitLength: config.hashBins.bitLength, namePrefix: 'bins' } },
        batchTargets: plan.batchTargets,
        compat,
        name: config.name,
        userId: openpgpUserId(config),
        journal,
        onBatch: (e) => {
          if (!opts.json) note(`batch ${e.batch}: ${e.releases} releases, ${e.targets} targets, through ${e.last.project} ${e.last.version} (${e.totalTargets} in the copy, ${Math.round((Date.now() - started) / 1000)} s)`);
        },
        onSigning: (e) => {
          if (!opts.json) note(`signing ${e.targets} targets: each hash bin once, then snapshot and timestamp`);
        },
      },
    );
    emit(opts, { ok: true, ...result }, () => [
      `imported ${result.releases} releases (${result.targets} targets) in ${result.batches} batches; signed ${result.signedTargets} targets into ${result.bins} hash bins${result.metadataVersions ? `, snapshot v${result.metadataVersions.snapshot}` : ''}`,
      'publish them with `airlock publish`',
    ]);
    return EXIT.ok;
  } finally {
    await session.close();
  }
}
