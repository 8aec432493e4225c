// `airlock sync --from HOST`: brings the terminal's repository copy up to date from a
// host, trusting nothing the host says that the copy's own root does not vouch for.
// The host's metadata is checked as a client checks it (lib/verify's TrustedMetadataSet:
// TUF §5.3 root chain from the copy's newest root, §5.4 timestamp, §5.5 snapshot,
// §5.6 targets and every delegated role the snapshot lists), every target is fetched and
// checked by length and hashes (§5.7), and only then is anything written — staged, then
// committed in publishing order (commitStaged), so the copy is a consistent repository
// at every instant. The apt indices are checked as far as they can be (sync-apt.ts).
// Other files the TUF metadata does not cover (the .asc/.minisig/.sshsig signatures
// beside releases, SHA256SUMS, keys/ other than root.json, the rpm .repo file) cannot be
// verified this way and are not copied: the host keeps serving them. The apt and rpm
// indices the next release builds on are checked through their own signatures
// (sync-apt.ts, sync-rpm.ts), signed by the current pgp key alone (sync-pgp-keys.ts).
//
// Refused: a host behind the copy (E_SYNC_AHEAD: publish instead), a host whose signed
// snapshot lists any role at a version below the copy's (E_ROLLBACK), and a host whose
// history is not the copy's continued (E_SYNC_DIVERGED: another terminal released
// other bytes under the same versions — the copy or the host is not what you think).
// Every version compared is read from metadata whose signature already verified.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { sha256Hex } from '../core/digest.js';
import { digestOfLocalFile, openLocalFile, readLocalFile } from '../core/local-copy-file.js';
import { AirlockError, fromSystemError, isAirlockError } from '../core/errors.js';
import { classifyPath } from '../core/host-layout.js';
import { writeAll } from '../core/write-all.js';
import { isCanonicalFile, metadataFileName, type RootSigned, type SnapshotSigned, type TargetFileInfo, type TargetsSigned } from '../core/tuf-metadata.js';
import { TrustedMetadataSet, DEFAULT_LIMITS, type Source } from '../verify/index.js';
import { commitStaged, LocalRepository } from './local-repository.js';
import { aptFilesOf, aptSuitesOf } from './sync-apt.js';
import { type ListedPgpKey, syncPgpKeys } from './sync-pgp-keys.js';
import { rpmFilesOf } from './sync-rpm.js';

const ROLE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Root versions followed at most in one sync (a bound on a hostile host). */
const MAX_ROOTS = 1024;
/** A file of the copy sync reads whole (the pgp keyring, apt and rpm indices) is at most this big, as the host's. */
const MAX_OWN_FILE_BYTES = 256 * 1024 * 1024;

export interface SyncPlan {
  /** Timestamp versions: the copy's and the host's. */
  local: number;
  host: number;
  upToDate: boolean;
  /** Files the copy gets, in host paths. */
  files: string[];
  bytes: number;
}

export interface SyncOptions {
  /**
   * The newest pgp key of the terminal's keystore (its public listing): the key the next
   * release signs with, so the only one whose signature vouches for the host's apt and
   * rpm indices. Without it, the first key of the copy's keys/release-signing.asc.
   */
  signingPgpKey?: ListedPgpKey;
}

export interface SyncResult extends SyncPlan {
  /** Root version of the copy after the sync. */
  rootVersion: number;
}

interface Wanted {
  path: string;
  /** Bytes already verified (metadata). */
  bytes?: Uint8Array;
  /** A target: fetched from `from` and checked against `info`. */
  target?: { from: string; info: TargetFileInfo };
}

async function fetchBytes(source: Source, path: string, max: number): Promise<Uint8Array | undefined> {
  const controller = new AbortController();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of source.fetch({ path: path.split('/'), signal: controller.signal })) {
      size += chunk.length;
      if (size > max) {
        controller.abort();
        throw new AirlockError('E_TOO_LARGE', `${path} on ${source.name} is larger than ${max} bytes; the host is not serving this repository`, { details: { path } });
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (isAirlockError(err, 'E_NOT_FOUND')) return undefined;
    throw err;
  }
  return Buffer.concat(chunks);
}

async function needBytes(source: Source, path: string, max: number): Promise<Uint8Array> {
  const b = await fetchBytes(source, path, max);
  if (b === undefined) throw new AirlockError('E_NOT_FOUND', `${source.name} has no ${path}, which its metadata names; the host is incomplete — publish to it, or sync from another`, { details: { path } });
  return b;
}

/** TUF §5.7: streams a target into `file`, refusing past its length, then checks length and every hash listed. */
/** A target path airlock writes: project/version/file, plain segments only. */
export function assertTargetPath(path: string): void {
  const parts = path.split('/');
  if (parts.length < 3 || parts.some((seg) => seg === '' || seg === '.' || seg === '..' || seg.includes('\\') || seg.includes('\0'))) {
    throw new AirlockError('E_METADATA_INVALID', `the host's metadata lists the target ${JSON.stringify(path)}, which is not a project/version/file path inside the repository; do not sync from this host`, {
      details: { path },
    });
  }
}

async function fetchTarget(source: Source, path: string, info: TargetFileInfo, file: string): Promise<void> {
  const controller = new AbortController();
  const hashes = Object.keys(info.hashes);
  // As the verifier does: a listed hash that cannot be checked is refused, never skipped.
  const unknown = hashes.filter((a) => a !== 'sha256' && a !== 'sha512');
  if (unknown.length > 0) throw new AirlockError('E_METADATA_INVALID', `the signed metadata lists ${unknown.join(', ')} for ${path}, which airlock cannot check; do not sync from this host`, { details: { path } });
  if (!hashes.includes('sha256')) throw new AirlockError('E_METADATA_INVALID', `the targets metadata lists no sha256 for ${path}`, { details: { path } });
  const hs = hashes.map((a) => [a, createHash(a)] as const);
  await mkdir(dirname(file), { recursive: true });
  // A file handle, not a write stream: a full disk is a rejected write here, never an
  // 'error' event nobody listens to.
  const out = await open(file, 'wx', 0o644);
  let length = 0;
  try {
    for await (const chunk of source.fetch({ path: path.split('/'), signal: controller.signal, maxBytes: info.length })) {
      length += chunk.length;
      if (length > info.length) {
        controller.abort();
        throw new AirlockError('E_LENGTH', `${path} on ${source.name} is longer than the ${info.length} bytes its signed metadata lists`, { details: { path } });
      }
      for (const [, h] of hs) h.update(chunk);
      await writeAll(out, chunk);
    }
  } finally {
    await out.close();
  }
  if (length !== info.length) {
    throw new AirlockError('E_LENGTH', `${path} on ${source.name} is ${length} bytes, not the ${info.length} its signed metadata lists; do not sync from this host`, { details: { path } });
  }
  const bad = hs.filter(([a, h]) => h.digest('hex') !== info.hashes[a]!.toLowerCase()).map(([a]) => a);
  if (bad.length > 0) {
    throw new AirlockError('E_HASH', `${path} on ${source.name} is not the file its signed metadata lists (${bad.join(', ')} differ); do not sync from this host`, { details: { path } });
  }
}

/** The SHA-256 of the copy's own file, undefined when it has none; a symlink there is damage, never followed (lib/core/local-copy-file.ts). */
async function localSha256(repoDir: string, file: string): Promise<string | undefined> {
  return (await digestOfLocalFile(repoDir, file))?.sha256;
}

function consistentTargetPath(targetPath: string, sha256: string): string {
  const slash = targetPath.lastIndexOf('/');
  return `targets/${targetPath.slice(0, slash + 1)}${sha256}.${targetPath.slice(slash + 1)}`;
}

function delegatedNames(role: TargetsSigned, listed: string[]): string[] {
  const d = role.delegations;
  if (d === undefined) return [];
  if (d.roles) return d.roles.map((r) => r.name).filter((n) => listed.includes(n));
  const s = d.succinct_roles!;
  return listed.filter((n) => n.startsWith(`${s.name_prefix}-`));
}

/** Everything the host's verified metadata names, and whether the copy may take it. */
async function verifyHost(repoDir: string, source: Source, options: SyncOptions): Promise<{ plan: SyncPlan; wanted: Wanted[]; root: RootSigned }> {
  const local = new LocalRepository(repoDir);
  const current = await local.current();
  const rootVersion = current.root.signed.version;
  const localRootBytes = await local.readMetadataBytes(metadataFileName('root', rootVersion));
  const localTimestampBytes = await local.readMetadataBytes(metadataFileName('timestamp'));

  // TUF §5.2–§5.3: from the copy's own newest root, each next root checked by its predecessor.
  // Expiry is not judged (reference time 0): a terminal is offline for months, and a
  // sync is how an expired repository is brought back to be refreshed; rollback is still
  // refused, by versions against the copy's own.
  const set = new TrustedMetadataSet(localRootBytes, new Date(0));
  const wanted: Wanted[] = [];
  for (let i = 0; i < MAX_ROOTS; i++) {
    const name = `metadata/${metadataFileName('root', set.root.version + 1)}`;
    const bytes = await fetchBytes(source, name, DEFAULT_LIMITS.rootMaxBytes);
    if (bytes === undefined) break;
    set.updateRoot(bytes);
    assertAsAirlockWrites(source, name, bytes);
    wanted.push({ path: name, bytes });
  }
  // TUF §5.4.1–§5.4.2: the host's timestamp, its signature checked under the newest root
  // before its version means anything — an unsigned number must not make the host look
  // behind (and the user publish over it) or ahead.
  const tsBytes = await needBytes(source, 'metadata/timestamp.json', DEFAULT_LIMITS.timestampMaxBytes);
  const localTs = current.timestamp.signed.version;
  set.updateTimestamp(tsBytes);
  assertAsAirlockWrites(source, 'metadata/timestamp.json', tsBytes);
  const hostTs = set.timestamp!.version;
  // TUF §5.4.3 against the copy's own timestamp (the set holds none of the copy's).
  if (hostTs < localTs) {
    throw new AirlockError('E_SYNC_AHEAD', `the repository copy (timestamp v${localTs}) is ahead of ${source.name} (v${hostTs}); nothing to bring in — publish the copy to the host instead (airlock publish)`, {
      details: { local: localTs, host: hostTs },
    });
  }
  if (hostTs === localTs && Buffer.compare(Buffer.from(tsBytes), localTimestampBytes) === 0 && wanted.length === 0) {
    return { plan: { local: localTs, host: localTs, upToDate: true, files: [], bytes: 0 }, wanted: [], root: set.root };
  }
  if (hostTs === localTs) {
    throw diverged(source, `it holds timestamp v${hostTs} signed differently from the copy's`);
  }
  wanted.push({ path: 'metadata/timestamp.json', bytes: tsBytes });
  // TUF §5.5, §5.6: snapshot, top-level targets, then every delegated role the snapshot lists.
  const snapVersion = set.timestamp!.meta['snapshot.json']!.version;
  const snapName = `metadata/${metadataFileName('snapshot', snapVersion)}`;
  const snapBytes = await needBytes(source, snapName, set.timestamp!.meta['snapshot.json']!.length ?? DEFAULT_LIMITS.snapshotMaxBytes);
  set.updateSnapshot(snapBytes);
  assertAsAirlockWrites(source, snapName, snapBytes);
  assertNoRollback(source, current.snapshot.signed, set.snapshot!);
  wanted.push({ path: snapName, bytes: snapBytes });
  const meta = set.snapshot!.meta;
  const targetsName = `metadata/${metadataFileName('targets', meta['targets.json']!.version)}`;
  const targetsBytes = await needBytes(source, targetsName, meta['targets.json']!.length ?? DEFAULT_LIMITS.targetsMaxBytes);
  set.updateTargets(targetsBytes);
  assertAsAirlockWrites(source, targetsName, targetsBytes);
  wanted.push({ path: targetsName, bytes: targetsBytes });
  const listed = Object.keys(meta).filter((f) => f !== 'targets.json').map((f) => f.replace(/\.json$/, ''));
  const roles: TargetsSigned[] = [set.targets!];
  const queue: { role: string; delegator: string }[] = delegatedNames(set.targets!, listed).map((r) => ({ role: r, delegator: 'targets' }));
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    if (set.getTargets(next.role) !== undefined) continue;
    if (!ROLE_NAME.test(next.role)) throw new AirlockError('E_METADATA_INVALID', `delegated role name ${JSON.stringify(next.role)} is not one airlock writes`, { details: { role: next.role } });
    const m = meta[metadataFileName(next.role)]!;
    const name = `metadata/${metadataFileName(next.role, m.version)}`;
    const bytes = await needBytes(source, name, m.length ?? DEFAULT_LIMITS.targetsMaxBytes);
    const signed = set.updateDelegatedTargets(bytes, next.role, next.delegator);
    assertAsAirlockWrites(source, name, bytes);
    roles.push(signed);
    wanted.push({ path: name, bytes });
    queue.push(...delegatedNames(signed, listed).map((r) => ({ role: r, delegator: next.role })));
  }
  // The copy's history must be the start of the host's: every version the copy signed is
  // on the host with the same bytes (snapshot and targets files are never rewritten).
  const hostTargets = new Map<string, TargetFileInfo>();
  for (const r of roles) {
    for (const [p, info] of Object.entries(r.targets)) {
      // The path becomes file names in the copy: a signed name like ../../x must never
      // reach outside it (a compromised online key is not a way onto the terminal).
      assertTargetPath(p);
      const seen = hostTargets.get(p);
      if (seen !== undefined && seen.hashes.sha256 !== info.hashes.sha256) {
        throw new AirlockError('E_METADATA_INVALID', `the host's metadata lists ${p} twice with different bytes; airlock never writes that — do not sync from this host`, { details: { path: p } });
      }
      hostTargets.set(p, info);
    }
  }
  const localMeta = [metadataFileName('snapshot', current.snapshot.signed.version)];
  const localTargetsVersion = current.snapshot.signed.meta['targets.json']?.version;
  if (localTargetsVersion !== undefined) localMeta.push(metadataFileName('targets', localTargetsVersion));
  for (const name of localMeta) {
    const path = `metadata/${name}`;
    const there = await fetchBytes(source, path, DEFAULT_LIMITS.targetsMaxBytes);
    const here = await local.readMetadataBytes(name);
    if (there === undefined || Buffer.compare(Buffer.from(there), here) !== 0) throw diverged(source, `its ${path} is ${there === undefined ? 'missing' : 'other bytes than the copy’s'}`);
  }
  for (const [p, info] of Object.entries(current.targets.signed.targets)) {
    const h = hostTargets.get(p);
    if (h === undefined || h.hashes.sha256 !== info.hashes.sha256) throw diverged(source, `it does not list ${p} as the copy does`);
  }

  // An immutable path the copy does not hold as the host lists it: absent, it is fetched
  // (and its source probed below); with other bytes, it is refused now, before anything
  // is staged — commitStaged would refuse it only after every byte was fetched.
  const notHeld = new Set<string>();
  const wantTarget = async (path: string, from: string, info: TargetFileInfo): Promise<void> => {
    const own = await localSha256(repoDir, join(repoDir, path));
    if (own === info.hashes.sha256) return;
    if (own !== undefined && classifyPath(path).immutable) throw otherBytesInCopy(path);
    notHeld.add(path);
    wanted.push({ path, target: { from, info } });
  };
  for (const [p, info] of [...hostTargets].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const sha = info.hashes.sha256;
    if (sha === undefined) throw new AirlockError('E_METADATA_INVALID', `the targets metadata lists no sha256 for ${p}`, { details: { path: p } });
    const consistent = consistentTargetPath(p, sha);
    for (const path of [consistent, `releases/${p}`]) await wantTarget(path, consistent, info);
  }
  // apt and rpm: vouched for by the current pgp key alone (sync-pgp-keys.ts), never older than the copy's own.
  const keyring = await readOwn(repoDir, 'keys/release-signing.asc');
  const pgpKeys = syncPgpKeys(keyring === undefined ? undefined : Buffer.from(keyring).toString('utf8'), options.signingPgpKey);
  // apt: the indices the next release extends, checked against Release and the verified .deb targets (sync-apt.ts).
  const apt = await aptFilesOf(await aptSuitesOf(repoDir), (path, max) => fetchBytes(source, path, max), hostTargets, pgpKeys, (path) => readOwn(repoDir, path));
  for (const i of apt.indices) {
    if ((await localSha256(repoDir, join(repoDir, i.path))) !== sha256Hex(i.bytes)) wanted.push({ path: i.path, bytes: i.bytes });
  }
  for (const f of apt.pool) await wantTarget(f.path, consistentTargetPath(f.target, f.info.hashes.sha256!), f.info);
  // rpm: the repodata the next release indexes on top of, and the signed packages it lists (sync-rpm.ts).
  const rpm = await rpmFilesOf((path, max) => fetchBytes(source, path, max), pgpKeys, (path) => readOwn(repoDir, path));
  for (const i of rpm.indices) {
    if ((await localSha256(repoDir, join(repoDir, i.path))) !== sha256Hex(i.bytes)) wanted.push({ path: i.path, bytes: i.bytes });
  }
  for (const p of rpm.packages) await wantTarget(p.path, p.path, p.info);
  // The bootstrap copy users pin from follows the newest root (docs/host-layout.md).
  const newestRoot = wanted.filter((w) => /^metadata\/\d+\.root\.json$/.test(w.path)).at(-1);
  if (newestRoot) wanted.push({ path: 'keys/root.json', bytes: newestRoot.bytes! });

  // What only the host can give is there as a regular file (a directory host: no symlink
  // on the way), before anything is staged; its bytes are checked as they are fetched.
  // Every `from` is a path wantTarget checked (a .deb of the pool is a target too): one
  // the copy holds is copied from the copy, one in notHeld comes from the host.
  if (source.probe !== undefined) {
    for (const from of new Set(wanted.flatMap((w) => (w.target === undefined ? [] : [w.target.from])))) {
      if (notHeld.has(from)) await source.probe(from.split('/'));
    }
  }

  const bytes = wanted.reduce((n, w) => n + (w.bytes?.length ?? w.target!.info.length), 0);
  return { plan: { local: localTs, host: set.timestamp!.version, upToDate: false, files: wanted.map((w) => w.path), bytes }, wanted, root: set.root };
}

/**
 * Every metadata file the copy takes must be byte for byte what airlock writes: the copy
 * reads its own metadata back only in that form (parseUnverifiedEnvelope), while the
 * signatures cover only the canonical form of `signed` — a host without keys can
 * re-indent a file, keep it valid for clients, and leave a copy that no command (sync
 * included) could read. Checked as each file is verified, before anything is staged.
 */
function assertAsAirlockWrites(source: Source, path: string, bytes: Uint8Array): void {
  if (isCanonicalFile(bytes)) return;
  throw new AirlockError(
    'E_METADATA_INVALID',
    `${path} on ${source.name} is not in the canonical JSON form airlock writes (re-indented or re-encoded by someone without the keys; its signatures may still verify), and the terminal's copy could not read it back; do not sync from this host — re-publish to it from the terminal that holds the keys`,
    { details: { host: source.name, path } },
  );
}

/**
 * TUF §5.5.5 against the copy's own snapshot (the set holds none of the copy's): the
 * host's snapshot and every role the copy's snapshot lists are at the copy's version or
 * later. A role the host no longer lists is left to the history checks (re-binning
 * retires bins).
 */
function assertNoRollback(source: Source, own: SnapshotSigned, host: SnapshotSigned): void {
  const below: { role: string; local: number; host: number }[] = [];
  if (host.version < own.version) below.push({ role: 'snapshot.json', local: own.version, host: host.version });
  for (const [file, m] of Object.entries(own.meta)) {
    const there = Object.hasOwn(host.meta, file) ? host.meta[file]! : undefined;
    if (there !== undefined && there.version < m.version) below.push({ role: file, local: m.version, host: there.version });
  }
  if (below.length === 0) return;
  const list = below.map((b) => `${b.role} v${b.host} (the copy has v${b.local})`).join(', ');
  throw new AirlockError('E_ROLLBACK', `${source.name} signs ${list}: versions below the copy's own, a rollback — do not sync from this host`, { details: { host: source.name, below } });
}

/** The copy holds an immutable path with other bytes than the host's signed metadata lists. */
function otherBytesInCopy(path: string): AirlockError {
  return new AirlockError(
    'E_PUBLISH_IMMUTABLE',
    `${path} in the terminal's copy holds other bytes than the host's signed metadata lists; a published file is never overwritten, and nothing was staged — find out how the copy changed, or restore it (docs/release-manager.md "Backup and restore")`,
    { details: { path } },
  );
}

function diverged(source: Source, what: string): AirlockError {
  return new AirlockError(
    'E_SYNC_DIVERGED',
    `${source.name} is not this repository copy continued: ${what}; another terminal signed other metadata under the same versions — find out which copy is the real one before releasing from either (docs/release-manager.md "Backup and restore")`,
    { details: { host: source.name } },
  );
}

/** Verifies the host and returns what a sync would bring in; writes nothing. */
export async function planSync(repoDir: string, source: Source, options: SyncOptions = {}): Promise<SyncPlan> {
  return (await verifyHost(repoDir, source, options)).plan;
}

/** Verifies the host, stages everything it has that the copy lacks (each target checked), then commits it in publishing order. */
export async function syncFromHost(repoDir: string, stagingRoot: string, source: Source, options: SyncOptions = {}): Promise<SyncResult> {
  const { plan, wanted, root } = await verifyHost(repoDir, source, options);
  if (plan.upToDate) return { ...plan, rootVersion: root.version };
  try {
    await stageAndCommit(repoDir, stagingRoot, source, wanted);
  } catch (err) {
    // A refusal stays what it is; a failed write (full disk, permissions) is the machine's (E_IO, E_PERMISSIONS).
    throw fromSystemError(err, `writing the sync from ${source.name} into ${repoDir} (staged under ${stagingRoot})`);
  }
  return { ...plan, rootVersion: root.version };
}

async function stageAndCommit(repoDir: string, stagingRoot: string, source: Source, wanted: readonly Wanted[]): Promise<void> {
  await mkdir(stagingRoot, { recursive: true, mode: 0o700 });
  const staging = await mkdtemp(join(stagingRoot, 'sync-'));
  try {
    const fetched = new Map<string, string>();
    for (const w of wanted) {
      const file = join(staging, ...w.path.split('/'));
      await mkdir(dirname(file), { recursive: true });
      if (w.bytes) {
        await writeFile(file, w.bytes, { flag: 'wx', mode: 0o644 });
        continue;
      }
      const { from, info } = w.target!;
      const already = fetched.get(from);
      if (already !== undefined) {
        await copyFile(already, file); // staged by this sync
      } else if (from === w.path || !(await copyOwnTarget(repoDir, join(repoDir, from), info, file))) {
        await fetchTarget(source, from, info, file);
        fetched.set(from, file);
      }
    }
    await commitStaged(staging, repoDir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** A file of the copy's own tree, or undefined when it has none (a symlink there is damage, never followed). */
async function readOwn(repoDir: string, path: string): Promise<Uint8Array | undefined> {
  return readLocalFile(repoDir, join(repoDir, ...path.split('/')), MAX_OWN_FILE_BYTES);
}

/**
 * Copies the copy's own file for a target into `to` when it holds the verified bytes,
 * checked in the same read (one open, never through a symlink); false, with nothing
 * left at `to`, when it has none or other bytes.
 */
async function copyOwnTarget(repoDir: string, own: string, info: TargetFileInfo, to: string): Promise<boolean> {
  const opened = await openLocalFile(repoDir, own);
  if (opened === undefined) return false;
  let same = false;
  try {
    if (opened.st.size !== info.length) return false;
    const h = createHash('sha256');
    const out = await open(to, 'wx', 0o644);
    try {
      for await (const chunk of opened.fh.createReadStream({ autoClose: false, highWaterMark: 1 << 20 })) {
        h.update(chunk as Buffer);
        await writeAll(out, chunk as Buffer);
      }
    } finally {
      await out.close();
    }
    same = h.digest('hex') === info.hashes.sha256;
    return same;
  } finally {
    await opened.fh.close();
    if (!same) await rm(to, { force: true });
  }
}
