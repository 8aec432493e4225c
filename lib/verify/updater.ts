// The TUF client workflow (TUF §5; python-tuf `ngclient/updater.py`): fetch each file
// from the mirrors in order, hand the bytes to the TrustedMetadataSet, persist what it
// accepts. This module does the I/O and the order; every trust decision is in
// trusted-metadata-set.ts.
import { stat } from 'node:fs/promises';
import { sha256Hex } from '../core/digest.js';
import { AirlockError, fromSystemError, isAirlockError } from '../core/errors.js';
import { metadataFileName, parseMetadata, type RootSigned, type TargetFileInfo } from '../core/tuf-metadata.js';
import { delegatedRoleNames, rolesForTarget } from './delegations.js';
import { fetchBytes, fetchTargetToFile, outputExists } from './fetch-bounded.js';
import { resolveLimits, type Limits } from './limits.js';
import { remoteMetadataName } from './role-file-name.js';
import { openSource, type Source } from './source.js';
import { StateDirectory } from './state-directory.js';
import { checkFile } from './target-check.js';
import { TrustedMetadataSet, type Origin } from './trusted-metadata-set.js';

export interface UpdaterOptions {
  /** Bytes of the pinned root; optional when `stateDir` already holds a root.json. */
  trustedRoot?: Uint8Array;
  /** Where trusted metadata is kept between runs; without it, nothing is kept. */
  stateDir?: string;
  /** Mirrors, tried in order: http(s) base URLs, directories holding the host tree, or Source objects. */
  sources: readonly (string | Source)[];
  /** The fixed update start time (TUF §5.1); the time of refresh() when not given. */
  now?: Date;
  limits?: Partial<Limits>;
  /** Skipped mirrors, dropped state files, search bounds reached. */
  onWarning?: (message: string) => void;
}

/** A target as trusted metadata describes it. */
export interface TargetFile {
  path: string;
  length: number;
  hashes: Record<string, string>;
  custom: NonNullable<TargetFileInfo['custom']>;
}

interface MirrorRequest<T> {
  what: string;
  path: readonly string[];
  quoted?: boolean;
  maxBytes: number;
  trustedLength: boolean;
  accept: (bytes: Uint8Array) => T;
}

export class Updater {
  readonly limits: Limits;
  readonly #sources: readonly Source[];
  readonly #state: StateDirectory | undefined;
  readonly #initialRoot: Uint8Array | undefined;
  readonly #now: Date | undefined;
  readonly #warn: (message: string) => void;
  #trusted: TrustedMetadataSet | undefined;

  constructor(options: UpdaterOptions) {
    if (options.sources.length === 0) throw new AirlockError('E_USAGE', 'no source given: pass --from URL_OR_DIR at least once');
    this.#sources = options.sources.map((s) => (typeof s === 'string' ? openSource(s) : s));
    this.#state = options.stateDir === undefined ? undefined : new StateDirectory(options.stateDir);
    this.#initialRoot = options.trustedRoot;
    this.#now = options.now;
    this.limits = resolveLimits(options.limits);
    this.#warn = options.onWarning ?? (() => undefined);
  }

  /** The trusted metadata after refresh(); read-only views through its getters. */
  get trusted(): TrustedMetadataSet | undefined {
    return this.#trusted;
  }

  /** TUF §5.1–§5.6.6: brings root, timestamp, snapshot and top-level targets up to date. */
  async refresh(): Promise<void> {
    // TUF §5.1: fix the update start time. §5.2: load the trusted root.
    this.#trusted = undefined;
    const trusted = await this.#loadTrustedRoot(this.#now ?? new Date());
    await this.#updateRoot(trusted);
    await this.#updateTimestamp(trusted);
    await this.#updateSnapshot(trusted);
    await this.#loadTargets(trusted, 'targets', 'root');
    this.#trusted = trusted;
  }

  async #loadTrustedRoot(referenceTime: Date): Promise<TrustedMetadataSet> {
    const stored = await this.#state?.read('root');
    if (stored !== undefined) {
      try {
        return new TrustedMetadataSet(stored, referenceTime);
      } catch (err) {
        // Not the host's fault and not a refusal of the host: the trust anchor on this
        // machine is damaged, and nothing may be verified until the user restores it.
        if (!isAirlockError(err)) throw err;
        throw new AirlockError('E_STATE', `the trusted root in ${this.#state!.fileFor('root')} is damaged (${err.code}); restore the state directory from a backup, or pin the root again in a new one with init`, { cause: err });
      }
    }
    if (this.#initialRoot === undefined) {
      throw new AirlockError('E_NOT_INITIALISED', 'no trusted root: run `airlock-verify init --root root.json --fingerprint HEX --state DIR`, or pass --root');
    }
    // Checked (self-signed, well-formed) before it becomes the state's trust anchor.
    const trusted = new TrustedMetadataSet(this.#initialRoot, referenceTime);
    await this.#state?.writePinnedFingerprint(sha256Hex(this.#initialRoot));
    await this.#state?.write('root', this.#initialRoot);
    return trusted;
  }

  // TUF §5.3: follow root versions N+1, N+2 … until one is missing, each checked by the set.
  async #updateRoot(trusted: TrustedMetadataSet): Promise<void> {
    for (let i = 0; i < this.limits.maxRootRotations; i++) {
      const version = trusted.root.version + 1;
      // TUF §5.3.3: N+1.root.json, up to the root byte cap (its size is unknown).
      const bytes = await this.#fromMirrors(
        {
          what: metadataFileName('root', version),
          path: ['metadata', metadataFileName('root', version)],
          maxBytes: this.limits.rootMaxBytes,
          trustedLength: false,
          accept: (b) => {
            const before = trusted.root;
            trusted.updateRoot(b);
            return { bytes: b, before, after: trusted.root };
          },
        },
        true,
      );
      if (bytes === undefined) return;
      // TUF §5.3.11, done for each new root before it is persisted: were the run to stop
      // after persisting (a later root refused, a crash), the next run would start from
      // the new root and no longer see that the keys changed.
      await this.#recoverFromFastForward(bytes.value.before, bytes.value.after);
      // TUF §5.3.8: persist the root under its non-versioned name.
      await this.#state?.write('root', bytes.value.bytes);
    }
    this.#warn(`stopped after following ${this.limits.maxRootRotations} root versions in one update; run refresh again to continue`);
  }

  // TUF §5.3.11: if the timestamp or snapshot keys were rotated, delete the trusted
  // timestamp and snapshot, so a fast-forward attack made with the old keys is undone.
  async #recoverFromFastForward(before: RootSigned, after: RootSigned): Promise<void> {
    if (this.#state === undefined) return;
    // Rotated: another set of keys (ids or key values) or another threshold.
    const keys = (root: RootSigned, role: 'timestamp' | 'snapshot'): string =>
      JSON.stringify([root.roles[role].threshold, root.roles[role].keyids.map((id) => [id, Object.hasOwn(root.keys, id) ? root.keys[id]!.keyval.public : '']).sort()]);
    const same = (role: 'timestamp' | 'snapshot'): boolean => keys(before, role) === keys(after, role);
    if (!same('timestamp') || !same('snapshot')) {
      await this.#state.remove('timestamp');
      await this.#state.remove('snapshot');
    }
  }

  /**
   * Loads a file from state into the set. One that no longer verifies (an older version,
   * or signed by keys since rotated) is dropped: it only served as a floor. One that is
   * not even well-formed metadata is refused (E_STATE) rather than dropped: it was
   * written atomically after it verified, so it was damaged since, and dropping it would
   * quietly give up the rollback protection it stands for.
   */
  async #fromState(role: string, type: 'timestamp' | 'snapshot' | 'targets', load: (bytes: Uint8Array, origin: Origin) => unknown): Promise<boolean> {
    const bytes = await this.#state?.read(role);
    if (bytes === undefined) return false;
    try {
      parseMetadata(bytes, type, `stored ${metadataFileName(role)}`);
    } catch (err) {
      if (!isAirlockError(err)) throw err;
      const file = this.#state!.fileFor(role);
      throw new AirlockError('E_STATE', `${file} is damaged (${err.code}); restore the state directory from a backup, or remove ${file} to accept the host's current ${role} metadata without the rollback protection it gave`, { cause: err });
    }
    try {
      load(bytes, 'state');
      return true;
    } catch (err) {
      if (!isAirlockError(err)) throw err;
      return false;
    }
  }

  // TUF §5.4: timestamp.json, capped at the timestamp byte limit.
  async #updateTimestamp(trusted: TrustedMetadataSet): Promise<void> {
    await this.#fromState('timestamp', 'timestamp', (b, o) => trusted.updateTimestamp(b, o));
    const changed = await this.#fromMirrors({
      what: metadataFileName('timestamp'),
      path: ['metadata', metadataFileName('timestamp')],
      maxBytes: this.limits.timestampMaxBytes,
      trustedLength: false,
      accept: (b) => (trusted.updateTimestamp(b, 'remote') ? b : undefined),
    });
    // TUF §5.4.5: persist the timestamp (nothing to do when its version is unchanged).
    if (changed?.value !== undefined) await this.#state?.write('timestamp', changed.value);
  }

  // TUF §5.5: the snapshot the timestamp lists, capped at its listed length.
  async #updateSnapshot(trusted: TrustedMetadataSet): Promise<void> {
    await this.#fromState('snapshot', 'snapshot', (b, o) => trusted.updateSnapshot(b, o));
    if (trusted.hasFinalSnapshot()) return;
    const listing = trusted.timestamp!.meta['snapshot.json'];
    const file = metadataFileName('snapshot', trusted.root.consistent_snapshot ? listing.version : undefined);
    const bytes = await this.#fromMirrors({
      what: file,
      path: ['metadata', file],
      maxBytes: listing.length ?? this.limits.snapshotMaxBytes,
      trustedLength: listing.length !== undefined,
      accept: (b) => {
        trusted.updateSnapshot(b, 'remote');
        return b;
      },
    });
    // TUF §5.5.7: persist the snapshot.
    await this.#state?.write('snapshot', bytes!.value);
  }

  // TUF §5.6: a targets role the snapshot lists, signed by its delegator's keys.
  async #loadTargets(trusted: TrustedMetadataSet, role: string, delegator: string): Promise<void> {
    if (trusted.getTargets(role) !== undefined) {
      // Loaded before, perhaps through another delegator: its keys must vouch for it too.
      trusted.checkDelegatedBy(role, delegator);
      return;
    }
    if (await this.#fromState(role, 'targets', (b, o) => trusted.updateDelegatedTargets(b, role, delegator, o))) return;
    const file = metadataFileName(role);
    const listing = Object.hasOwn(trusted.snapshot!.meta, file) ? trusted.snapshot!.meta[file] : undefined;
    if (listing === undefined) {
      throw new AirlockError('E_METADATA_INVALID', `the snapshot does not list ${file}; the repository is inconsistent, tell the publisher`, { details: { role } });
    }
    // TUF §5.6.1: the role name quoted as python-tuf and tuf-js quote it, one segment.
    const remote = remoteMetadataName(role, trusted.root.consistent_snapshot ? listing.version : undefined);
    const bytes = await this.#fromMirrors({
      what: remote,
      path: ['metadata', remote],
      quoted: true,
      maxBytes: listing.length ?? this.limits.targetsMaxBytes,
      trustedLength: listing.length !== undefined,
      accept: (b) => {
        trusted.updateDelegatedTargets(b, role, delegator, 'remote');
        return b;
      },
    });
    // TUF §5.6.6: persist the targets metadata.
    await this.#state?.write(role, bytes!.value);
  }

  /**
   * Fetches a file from each mirror in turn until one serves bytes the set accepts. A
   * mirror that fails or serves bad bytes is skipped with a warning; the set is never
   * changed by a refused file, so the next mirror is judged exactly like the first.
   * With `missingEnds`, "not found on any mirror" returns undefined (the end of the
   * root chain, TUF §5.3.3).
   */
  async #fromMirrors<T>(req: MirrorRequest<T>, missingEnds = false): Promise<{ value: T } | undefined> {
    const failures: { source: Source; error: AirlockError }[] = [];
    for (const source of this.#sources) {
      try {
        const bytes = await fetchBytes({ source, path: req.path, quoted: req.quoted, maxBytes: req.maxBytes, trustedLength: req.trustedLength, limits: this.limits });
        return { value: req.accept(bytes) };
      } catch (err) {
        if (!isAirlockError(err)) throw err;
        failures.push({ source, error: err });
        if (this.#sources.length > 1 && !(missingEnds && err.code === 'E_NOT_FOUND')) {
          this.#warn(`mirror ${source.name}: ${req.what} refused (${err.code}: ${err.message}); trying the next mirror`);
        }
      }
    }
    if (missingEnds && failures.some((f) => f.error.code === 'E_NOT_FOUND')) return undefined;
    throw combinedFailure(req.what, failures);
  }

  /**
   * TUF §5.6.7: the trusted description of a target, found by a pre-order depth-first
   * search of the delegations from the top-level targets; undefined if no role that
   * may speak for the path lists it.
   */
  async getTargetInfo(targetPath: string): Promise<TargetFile | undefined> {
    if (this.#trusted === undefined) await this.refresh();
    return this.#findTarget(this.#trusted!, targetPath, true);
  }

  /**
   * The search of getTargetInfo. With `fetch` false it reads only the roles already
   * loaded and gives up (undefined) at the first role it would have to fetch: the answer
   * it gives is then the one the full search would give, and it costs no download.
   */
  async #findTarget(trusted: TrustedMetadataSet, targetPath: string, fetch: boolean): Promise<TargetFile | undefined> {
    const stack: { role: string; delegator: string }[] = [{ role: 'targets', delegator: 'root' }];
    const visited = new Set<string>();
    while (stack.length > 0) {
      // TUF §5.6.7.1: a bound on roles visited, so a host cannot make us walk forever.
      if (visited.size >= this.limits.maxDelegations) {
        this.#warn(`stopped searching for ${targetPath} after ${this.limits.maxDelegations} targets roles; ${stack.length} left unvisited`);
        return undefined;
      }
      const { role, delegator } = stack.pop()!;
      // TUF §5.6.7.1: skip a role visited before (cycles in the delegation graph).
      if (visited.has(role)) continue;
      if (!fetch && trusted.getTargets(role) === undefined) return undefined;
      await this.#loadTargets(trusted, role, delegator);
      const targets = trusted.getTargets(role)!;
      const info = Object.hasOwn(targets.targets, targetPath) ? targets.targets[targetPath] : undefined;
      if (info !== undefined) return { path: targetPath, length: info.length, hashes: { ...info.hashes }, custom: { ...(info.custom ?? {}) } };
      visited.add(role);
      if (targets.delegations === undefined) continue;
      // TUF §5.6.7.2: the delegations in order; a terminating one ends the search below it.
      const children: { role: string; delegator: string }[] = [];
      for (const child of rolesForTarget(targets.delegations, targetPath)) {
        children.push({ role: child.name, delegator: role });
        if (child.terminating) {
          stack.length = 0;
          break;
        }
      }
      stack.push(...children.reverse());
    }
    return undefined;
  }

  /**
   * Like getTargetInfo, but a target no trusted role lists is refused (E_TARGET_UNKNOWN),
   * naming the targets with the nearest names among the roles already loaded.
   */
  async requireTargetInfo(targetPath: string): Promise<TargetFile> {
    const info = await this.getTargetInfo(targetPath);
    if (info === undefined) {
      const near = await this.#nearTargets(targetPath);
      const hint = near.length > 0 ? `; did you mean ${near.join(', ')}?` : '; check the name (project/version/file), or list what the repository offers with `airlock-verify list`';
      throw new AirlockError('E_TARGET_UNKNOWN', `${targetPath} is not a target of this repository${hint}`, { details: { target: targetPath, near } });
    }
    return info;
  }

  /**
   * Up to three listed targets whose names are close to `wanted` (edit distance, or the
   * same file name), from the roles loaded so far, each one checked to be what the
   * trusted search finds — over those roles only: a hint never fetches metadata (a
   * target whose search would need another role is not suggested).
   */
  async #nearTargets(wanted: string): Promise<string[]> {
    const trusted = this.#trusted!;
    const base = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
    const scored: { path: string; score: number }[] = [];
    const seen = new Set<string>();
    for (const role of trusted.loadedTargetsRoles()) {
      for (const path of Object.keys(trusted.getTargets(role)!.targets)) {
        if (seen.has(path)) continue;
        seen.add(path);
        const distance = editDistance(wanted.toLowerCase(), path.toLowerCase(), 3);
        const score = distance <= Math.max(2, Math.floor(wanted.length / 5)) ? distance : base(path) === base(wanted) ? 3 : Number.POSITIVE_INFINITY;
        if (Number.isFinite(score)) scored.push({ path, score });
      }
    }
    scored.sort((a, b) => a.score - b.score || a.path.localeCompare(b.path));
    const out: string[] = [];
    for (const { path } of scored) {
      if (out.length === 3) break;
      if ((await this.#findTarget(trusted, path, false)) !== undefined) out.push(path);
    }
    return out;
  }

  /**
   * TUF §5.6.7 over every role: the targets the repository offers under `prefix`,
   * walking delegations depth-first (at most `maxListedRoles` roles, else `complete` is
   * false). A path is listed only when the trusted search for it finds it — a role
   * listing a path its delegator did not give it is not believed — with the description
   * that search returns.
   */
  async listTargets(prefix = ''): Promise<{ targets: TargetFile[]; complete: boolean }> {
    if (this.#trusted === undefined) await this.refresh();
    const trusted = this.#trusted!;
    const candidates = new Set<string>();
    const stack: { role: string; delegator: string }[] = [{ role: 'targets', delegator: 'root' }];
    const visited = new Set<string>();
    let complete = true;
    while (stack.length > 0) {
      const { role, delegator } = stack.pop()!;
      if (visited.has(role)) continue;
      if (visited.size >= this.limits.maxListedRoles) {
        complete = false;
        this.#warn(`listed the targets of ${this.limits.maxListedRoles} roles; the others are not shown (the bound on roles walked)`);
        break;
      }
      visited.add(role);
      await this.#loadTargets(trusted, role, delegator);
      const targets = trusted.getTargets(role)!;
      for (const path of Object.keys(targets.targets)) if (path.startsWith(prefix)) candidates.add(path);
      if (targets.delegations === undefined) continue;
      const children: { role: string; delegator: string }[] = [];
      for (const name of delegatedRoleNames(targets.delegations)) {
        // Enough to reach the bound; a succinct delegation may name 2^32 bins.
        if (children.length >= this.limits.maxListedRoles) {
          complete = false;
          break;
        }
        children.push({ role: name, delegator: role });
      }
      stack.push(...children.reverse());
    }
    const found: TargetFile[] = [];
    for (const path of [...candidates].sort()) {
      const info = await this.getTargetInfo(path);
      if (info !== undefined) found.push(info);
    }
    return { targets: found, complete };
  }

  /**
   * TUF §5.7: downloads a target to `outPath` (atomically, length and hashes checked
   * while streaming). When `outPath` already holds exactly the target, nothing is
   * transferred. Any other file there is replaced, unless `replace` is false: then it
   * is refused (E_OUTPUT_EXISTS) and left as it is, whether it was there before the
   * transfer or appeared during it. Returns whether bytes were transferred.
   */
  async downloadTarget(target: TargetFile, outPath: string, options: { onProgress?: (received: number) => void; replace?: boolean } = {}): Promise<{ transferred: boolean }> {
    const here = await localCopy(target, outPath);
    if (here === 'same') return { transferred: false };
    if (here === 'different' && options.replace === false) throw outputExists(outPath);
    const trusted = this.#trusted;
    if (trusted === undefined) throw new Error('downloadTarget: call refresh() or getTargetInfo() first');
    const path = target.path.split('/');
    if (trusted.root.consistent_snapshot) {
      // TUF §5.7.3: HASH.FILENAME.EXT, with the first hash the targets metadata lists.
      const hash = Object.values(target.hashes)[0]!;
      path[path.length - 1] = `${hash}.${path[path.length - 1]}`;
    }
    const failures: { source: Source; error: AirlockError }[] = [];
    for (const source of this.#sources) {
      try {
        await fetchTargetToFile({ source, path: ['targets', ...path], maxBytes: target.length, trustedLength: true, limits: this.limits, onBytes: options.onProgress }, target, outPath, options.replace ?? true);
        return { transferred: true };
      } catch (err) {
        if (!isAirlockError(err) || err.code === 'E_IO' || err.code === 'E_PERMISSIONS' || err.code === 'E_OUTPUT_EXISTS') throw err;
        failures.push({ source, error: err });
        if (this.#sources.length > 1) this.#warn(`mirror ${source.name}: ${target.path} refused (${err.code}: ${err.message}); trying the next mirror`);
      }
    }
    throw combinedFailure(target.path, failures);
  }

  /** Whether `path` is missing, already holds exactly the target, or holds something else. */
  localCopyOf(target: TargetFile, path: string): Promise<'absent' | 'same' | 'different'> {
    return localCopy(target, path);
  }

  /** Checks a file on disk against a trusted target (E_LENGTH, E_HASH). */
  async verifyLocalFile(target: TargetFile, filePath: string): Promise<void> {
    await checkFile(target, filePath);
  }
}

/** What `path` holds: nothing, exactly the target (length and every hash), or something else. */
async function localCopy(target: TargetFile, path: string): Promise<'absent' | 'same' | 'different'> {
  try {
    const s = await stat(path);
    if (!s.isFile() || s.size !== target.length) return 'different';
    await checkFile(target, path);
    return 'same';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    if (isAirlockError(err) && (err.code === 'E_HASH' || err.code === 'E_LENGTH')) return 'different';
    if (isAirlockError(err)) throw err;
    throw fromSystemError(err, `reading ${path}`);
  }
}

/** Levenshtein distance of a and b, or `cap + 1` as soon as it must exceed `cap`. */
function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) > cap) return cap + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      best = Math.min(best, row[j]!);
    }
    if (best > cap) return cap + 1;
    prev = row;
  }
  return prev[b.length]!;
}

/** One mirror's error as is; several mirrors failing the same way, the first; otherwise E_MIRRORS_FAILED. */
function combinedFailure(what: string, failures: { source: Source; error: AirlockError }[]): AirlockError {
  const first = failures[0]!.error;
  if (failures.every((f) => f.error.code === first.code)) return first;
  return new AirlockError('E_MIRRORS_FAILED', `no mirror served an acceptable ${what}: ${failures.map((f) => `${f.source.name} ${f.error.code}`).join(', ')}`, {
    cause: first,
    details: { mirrors: failures.map((f) => ({ source: f.source.name, code: f.error.code, message: f.error.message })) },
  });
}
