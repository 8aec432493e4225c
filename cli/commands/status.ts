// `airlock status`: each role's version, expiry, threshold and keys (marking those this
// terminal's keystore holds), with what to run before something expires. Exit 1 when a
// role has expired: clients refuse the repository until it is renewed.
import { join } from 'node:path';
import { Keystore } from '../../lib/keys/keystore.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import type { ReleaseRef } from '../../lib/repo/import-journal.js';
import { repositoryStatus, type BinStatus, type RoleStatus } from '../../lib/repo/status.js';
import type { UnfinishedImport } from '../../lib/repo/unfinished-imports.js';
import { readConfig } from '../../lib/terminal/config.js';
import { terminalPaths } from '../../lib/terminal/home.js';
import { describeKeyIdentity, keyIdentityChange, publishedKeyIds } from '../../lib/repo/compat/key-history.js';
import { signingKeyIds } from '../../lib/terminal/key-identity.js';
import { displayWord, shellCommand } from '../../lib/core/shell-words.js';
import { emit } from '../run.js';

const LISTED_RELEASES = 20;

function advice(r: RoleStatus): string {
  if (!r.warning) return '';
  const what = r.warning === 'expired' ? 'EXPIRED' : 'expires soon';
  return r.renewWith === 'refresh'
    ? `   <-- ${what}: run \`airlock refresh\``
    : `   <-- ${what}: renew root with the ceremony (\`airlock root propose -o FILE\`, \`root sign\`, \`root publish\`)`;
}

/** Bins: one summary line, and a line for each bin that expires first or warns (hundreds of bins would drown the table). */
function binLines(bins: readonly BinStatus[]): string[] {
  if (bins.length === 0) return [];
  const soonest = [...bins].sort((a, b) => Date.parse(a.expires) - Date.parse(b.expires))[0]!;
  const warned = bins.filter((b) => b.warning);
  return [
    `hash bins: ${bins.length} (versions ${Math.min(...bins.map((b) => b.version))}–${Math.max(...bins.map((b) => b.version))}), first to expire ${soonest.role} at ${soonest.expires} (${soonest.daysLeft} days left); --json lists each`,
    ...warned.map((b) => `  ${b.role} v${b.version} ${b.warning === 'expired' ? 'EXPIRED' : 'expires soon'} at ${b.expires}: run \`airlock refresh --resign targets\``),
  ];
}

/** Releases named while a few; past that a count (100k targets are ~10,000 releases: --json lists each). */
function releasesLine(targets: number, releases: readonly string[]): string {
  if (releases.length <= LISTED_RELEASES) return `${targets} targets in ${releases.length} releases${releases.length ? `: ${releases.map(displayWord).join(', ')}` : ''}`;
  const projects = new Set(releases.map((r) => r.slice(0, r.indexOf('/')))).size;
  return `${targets} targets in ${releases.length} releases of ${projects} projects; --json lists each`;
}

/** Release directories no signed target is under: not releases (made by hand, empty, an interrupted release). */
function unsignedDirectoriesLine(dirs: readonly string[]): string[] {
  if (dirs.length === 0) return [];
  const named = dirs.slice(0, LISTED_RELEASES).map((d) => displayWord(`releases/${d}`)).join(', ');
  return [`WARNING: ${dirs.length} release ${dirs.length === 1 ? 'directory' : 'directories'} in the copy that no signed metadata lists (made by hand, or left by an interrupted release; not counted above): ${named}${dirs.length > LISTED_RELEASES ? ', …; --json lists each' : ''}`];
}

/**
 * One line whatever the archive's path holds: the command to run again quoted for sh
 * (shell-words.ts), or, when the path has a control character, no command but the path
 * escaped — a newline pasted would run the rest as another command.
 */
function unfinishedImportLine(i: UnfinishedImport): string {
  const ref = (r: ReleaseRef): string => displayWord(`${r.project}/${r.version}`);
  const command = shellCommand(['airlock', 'import', i.source]);
  const rerun = command !== undefined ? `run \`${command}\` again to finish it` : 'run `airlock import` again on that archive to finish it (its path holds control characters, shown escaped: type it quoted)';
  return `WARNING: an unfinished import of ${displayWord(i.source)} moved releases ${i.signedThrough ? `after ${ref(i.signedThrough)} ` : ''}through ${ref(i.movedThrough)} into the copy without signing them (not counted above); ${rerun}`;
}

export async function status(opts: { json?: boolean; warnDays?: number; keystore?: string }): Promise<number> {
  const paths = terminalPaths();
  const config = await readConfig(paths);
  // Public key ids only: no passphrase, nothing decrypted. A missing keystore just marks nothing.
  const listed = await Keystore.open(keystoreDirFor(opts))
    .then((ks) => ks.list())
    .catch(() => undefined);
  const held = listed ? new Set(listed.map((k) => k.keyId)) : undefined;
  // What users compare: keys/ as published, against what this keystore signs with next.
  const published = await publishedKeyIds(join(paths.repository, 'keys'));
  const keys = keyIdentityChange(published, listed ? signingKeyIds(listed) : published);
  const warnDays = opts.warnDays ?? config.warnDays;
  const result = await repositoryStatus(paths.repository, new Date(), warnDays, { importsDir: join(paths.home, 'imports'), ...(held ? { heldKeyIds: held } : {}) });
  emit(opts, { ok: true, ...result, keys, expiryDays: config.expiryDays, warnDays }, () => [
    'role       version  expires               days left  threshold  keys (* = in this keystore)',
    ...result.roles.map(
      (r) =>
        `${r.role.padEnd(10)} ${String(r.version).padEnd(8)} ${r.expires.padEnd(21)} ${String(r.daysLeft).padEnd(10)} ${`${r.threshold}/${r.keyids.length}`.padEnd(10)} ${r.keyids.map((k) => `${k.slice(0, 12)}${r.heldHere?.includes(k) ? '*' : ''}`).join(' ')}${advice(r)}`,
    ),
    ...binLines(result.bins),
    ...result.apt.map(
      (a) =>
        `apt ${a.dist.padEnd(6)} Release valid until ${a.validUntil ?? '(no Valid-Until)'}${a.daysLeft !== undefined ? ` (${a.daysLeft} days left)` : ''}${a.warning ? `   <-- ${a.warning === 'expired' ? 'EXPIRED' : 'expires soon'}: run \`airlock refresh\`` : ''}`,
    ),
    releasesLine(result.targets, result.releases),
    ...unsignedDirectoriesLine(result.unsignedReleaseDirectories),
    ...result.unfinishedImports.map(unfinishedImportLine),
    ...(result.rootFingerprint ? [`root fingerprint (keys/root.json): ${result.rootFingerprint}`] : []),
    ...describeKeyIdentity(keys, 'changes at the next release (this keystore signs with another key than keys/ publishes)'),
    `expiry on signing: ${(['root', 'targets', 'snapshot', 'timestamp'] as const).map((r) => `${r} ${config.expiryDays[r]}d`).join(', ')}; warn ${warnDays}d before (airlock expiry to change)`,
  ]);
  return result.roles.some((r) => r.warning === 'expired') || result.bins.some((b) => b.warning === 'expired') || result.apt.some((a) => a.warning === 'expired') ? 1 : 0;
}
