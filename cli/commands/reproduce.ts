// `airlock reproduce PROJECT/VERSION --from URL_OR_DIR --source GIT`: rebuild a signed
// release on a machine with no keys and compare it byte for byte. Exit 0 identical,
// 1 different or unverifiable. All checks are in lib/reproduce; this file reads the
// options, prints the report and picks the exit code.
import { AirlockError, EXIT } from '../../lib/core/errors.js';
import { parseReleaseId, reproduceRelease, verifiedRootChain, type ArtifactReport, type ReproduceReport } from '../../lib/reproduce/index.js';
import { initState, openSource } from '../../lib/verify/index.js';
import { emit, note } from '../run.js';
import { openUpdater, readRootFile } from '../verify-session.js';

export interface ReproduceCommandOptions {
  from?: string[];
  source: string;
  root?: string;
  fingerprint?: string;
  state?: string;
  workDir?: string;
  output?: string;
  allowNetwork?: boolean;
  diffoscope?: boolean;
  keepBuild?: boolean;
  json?: boolean;
}

/** Entries listed per artifact in the text report; --json and report.json have all. */
const TEXT_ENTRY_LIMIT = 40;

function show(v: string | number | null): string {
  return v === null ? '-' : String(v);
}

function artifactLines(a: ArtifactReport): string[] {
  if (a.status === 'identical') return [`  identical  ${a.name}  sha256:${a.published.sha256}`];
  const lines = [`  DIFFERENT  ${a.name}`, `      published  ${a.published.length} bytes  sha256:${a.published.sha256}`];
  lines.push(a.rebuilt ? `      rebuilt    ${a.rebuilt.length} bytes  sha256:${a.rebuilt.sha256}` : '      rebuilt    (not produced by the rebuild)');
  const diffs = a.archive?.differences ?? [];
  if (diffs.length > 0) lines.push(`      ${diffs.length} of ${a.archive!.entries} entries differ (published → rebuilt):`);
  for (const d of diffs.slice(0, TEXT_ENTRY_LIMIT)) {
    if (d.change === 'only-published') lines.push(`        ${d.entry}: only in the published archive`);
    else if (d.change === 'only-rebuilt') lines.push(`        ${d.entry}: only in the rebuilt archive`);
    else lines.push(`        ${d.entry}: ${d.fields.map((f) => `${f.field} ${show(f.published)} → ${show(f.rebuilt)}`).join(', ')}`);
  }
  if (diffs.length > TEXT_ENTRY_LIMIT) lines.push(`      … and ${diffs.length - TEXT_ENTRY_LIMIT} more entries (see --json or report.json)`);
  if (a.archive?.orderDiffers) lines.push('      the entries are in another order');
  for (const u of a.archive?.unreadable ?? []) lines.push(`      ${u.side} ${u.member}: not compared entry by entry (${u.reason})`);
  if (a.archiveError) lines.push(`      not compared entry by entry: ${a.archiveError}`);
  if (a.note) lines.push(`      ${a.note}`);
  if (a.diffoscope) lines.push(a.diffoscope.output !== null ? `      diffoscope report: ${a.diffoscope.output}` : `      diffoscope: ${a.diffoscope.error}`);
  return lines;
}

function textReport(r: ReproduceReport): string[] {
  const different = r.artifacts.filter((a) => a.status !== 'identical').length;
  return [
    `${r.project} ${r.version}: commit ${r.commit} (${r.branch}), rebuilt from ${r.source}`,
    ...r.artifacts.flatMap(artifactLines),
    ...r.unaccounted.map((t) => `  UNACCOUNTED  ${t}: a target of this release that the provenance does not name`),
    ...(r.rebuild.zlib.recorded !== r.rebuild.zlib.rebuilt ? [`  note: built with zlib ${show(r.rebuild.zlib.recorded)}, rebuilt with zlib ${show(r.rebuild.zlib.rebuilt)}`] : []),
    ...(r.rebuild.buildDir ? [`  build directory kept: ${r.rebuild.buildDir}`] : []),
    ...(r.outputDir ? [`  report, build log and differing files: ${r.outputDir}`] : []),
    r.reproducible
      ? `reproducible: all ${r.artifacts.length} artifact(s) are identical`
      : `NOT reproducible: ${different} of ${r.artifacts.length} artifact(s) differ${r.unaccounted.length ? `, ${r.unaccounted.length} target(s) unaccounted for` : ''}`,
  ];
}

export async function reproduce(release: string, opts: ReproduceCommandOptions): Promise<number> {
  const id = parseReleaseId(release);
  if (opts.fingerprint !== undefined) {
    if (opts.root === undefined) throw new AirlockError('E_USAGE', '--fingerprint checks the --root file: give --root too');
    await initState(undefined, await readRootFile(opts.root), opts.fingerprint);
  }
  const updater = await openUpdater({ from: opts.from, root: opts.root, state: opts.state });
  // From a pinned --root, the roots since name a provenance signed before a targets-key rotation.
  const mirror = opts.from?.[0];
  const earlierRoots = opts.root === undefined || mirror === undefined ? undefined : await verifiedRootChain(await readRootFile(opts.root), openSource(mirror));
  const report = await reproduceRelease({
    updater,
    ...(earlierRoots ? { earlierRoots } : {}),
    release: id,
    source: opts.source,
    ...(opts.workDir !== undefined ? { workRoot: opts.workDir } : {}),
    ...(opts.output !== undefined ? { outputDir: opts.output } : {}),
    ...(opts.allowNetwork ? { allowNetwork: true } : {}),
    ...(opts.diffoscope === false ? { diffoscope: false as const } : {}),
    keepBuild: Boolean(opts.keepBuild),
    onNote: opts.json ? undefined : note,
    onOutput: opts.json ? undefined : (chunk) => process.stderr.write(chunk),
  });
  const error = report.reproducible
    ? undefined
    : { code: 'E_NOT_REPRODUCIBLE', message: `${id.project} ${id.version} is not reproducible from commit ${report.commit}: the published artifacts differ from the rebuild` };
  emit(opts, { ok: report.reproducible, ...report, ...(error ? { error } : {}) }, () => textReport(report));
  if (error) {
    note(`error ${error.code}: ${error.message}; do not trust this release until the difference is explained`);
    return EXIT.refused;
  }
  return EXIT.ok;
}
