// An archive of earlier releases, as `airlock import DIR` reads it (the format is
// specified in docs/import.md): DIR/<project>/<version>/ holds the release's files and
// one `release.json` record, {"commit", "branch", "date"}, which gives the targets the
// `custom.airlock` record a built release carries. This module parses that record and
// walks the archive in byte order (projects, then versions), one release at a time,
// so an archive of a million files is never held in memory: only one directory's names
// are. Symbolic links, special files, nested directories and names a target path cannot
// carry are refused (E_IMPORT_LAYOUT), naming the path. The calls are synchronous: the
// walk is all an import does meanwhile, and a trip through the thread pool per call cost
// more than the call (a million targets are 100,000 directories, walked twice).
import { readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { AirlockError, fromSystemError, isAirlockError } from '../core/errors.js';
import { checkNames } from './release.js';

export const RELEASE_RECORD_FILE = 'release.json';
/** A release.json is a few hundred bytes; anything near this is not one. */
const RECORD_MAX_BYTES = 64 * 1024;
const RECORD_FIELDS = ['commit', 'branch', 'date'] as const;
const COMMIT = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
// git check-ref-format's spirit, kept simple: printable, no spaces, no `..`.
const BRANCH = /^[A-Za-z0-9._/+-]{1,255}$/;
const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** What an archived release records about where it came from. */
export interface ReleaseRecord {
  /** The full commit id the release was built from (40 or 64 hex digits). */
  commit: string;
  branch: string;
  /** The release date, ISO 8601 with a zone; becomes `sourceDateEpoch`. */
  date: string;
  sourceDateEpoch: number;
}

export interface ArchivedRelease {
  project: string;
  version: string;
  /** The version directory. */
  dir: string;
  record: ReleaseRecord;
  /** Artifact file names (everything but release.json), byte order. */
  artifacts: string[];
}

export function layoutError(path: string, why: string, cause?: unknown): AirlockError {
  return new AirlockError('E_IMPORT_LAYOUT', `${path} ${why}; an import archive is DIR/<project>/<version>/ holding the release's files and a release.json (docs/import.md) — fix the archive and run the import again`, {
    ...(cause === undefined ? {} : { cause }),
    details: { path },
  });
}

/** Parses a release.json, naming every bad field (docs/import.md "release.json"). */
export function parseReleaseRecord(bytes: Uint8Array, where: string): ReleaseRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw layoutError(where, 'is not JSON', err);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw layoutError(where, 'is not a JSON object');
  const r = raw as Record<string, unknown>;
  const problems: string[] = [];
  for (const k of Object.keys(r)) if (!(RECORD_FIELDS as readonly string[]).includes(k)) problems.push(`unknown field "${k}"`);
  if (typeof r.commit !== 'string' || !COMMIT.test(r.commit)) problems.push('"commit" must be the full commit id (40 or 64 lowercase hex digits)');
  if (typeof r.branch !== 'string' || !BRANCH.test(r.branch) || r.branch.includes('..')) problems.push('"branch" must be a branch name (letters, digits, . _ / + -)');
  const epoch = typeof r.date === 'string' && DATE.test(r.date) ? Math.floor(Date.parse(r.date) / 1000) : Number.NaN;
  if (!Number.isSafeInteger(epoch) || epoch < 0) problems.push('"date" must be an ISO 8601 time with a zone, e.g. "2024-05-01T12:00:00Z"');
  if (problems.length > 0) throw layoutError(where, `is not a valid release record: ${problems.join('; ')}`);
  return { commit: r.commit as string, branch: r.branch as string, date: r.date as string, sourceDateEpoch: epoch };
}

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Byte order of (project, version): the order of the walk, of batches and of the resume point. */
export function compareReleases(a: { project: string; version: string }, b: { project: string; version: string }): number {
  return byteOrder(a.project, b.project) || byteOrder(a.version, b.version);
}

function entries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).sort((a, b) => byteOrder(a.name, b.name));
  } catch (err) {
    throw fromSystemError(err, `listing ${dir}`);
  }
}

function kind(e: Dirent): string {
  return e.isSymbolicLink() ? 'is a symbolic link' : e.isDirectory() ? 'is a directory' : 'is not a regular file';
}

/** One version directory, checked: regular files only, a release record, names a target path can carry. */
export async function readArchivedRelease(archive: string, project: string, version: string): Promise<ArchivedRelease> {
  const dir = join(archive, project, version);
  const artifacts: string[] = [];
  let record: ReleaseRecord | undefined;
  for (const e of entries(dir)) {
    const path = join(dir, e.name);
    if (!e.isFile()) throw layoutError(path, `${kind(e)} (a version directory holds regular files only)`);
    if (e.name !== RELEASE_RECORD_FILE) {
      artifacts.push(e.name);
      continue;
    }
    let bytes: Buffer;
    try {
      if (statSync(path).size > RECORD_MAX_BYTES) throw layoutError(path, `is larger than ${RECORD_MAX_BYTES} bytes`);
      bytes = readFileSync(path);
    } catch (err) {
      if (isAirlockError(err)) throw err;
      throw fromSystemError(err, `reading ${path}`);
    }
    record = parseReleaseRecord(bytes, path);
  }
  if (!record) throw layoutError(dir, `has no ${RELEASE_RECORD_FILE}`);
  if (artifacts.length === 0) throw layoutError(dir, 'holds no files to release');
  try {
    checkNames({ project, version, artifacts: artifacts.map((name) => ({ name })) });
  } catch (err) {
    if (isAirlockError(err)) throw layoutError(dir, `cannot be released as it is (${err.message})`, err);
    throw err;
  }
  return { project, version, dir, record, artifacts };
}

/**
 * Every release of the archive, in byte order of (project, version), starting after
 * `after` when given (a resumed import). Only one directory listing is held at a time.
 */
export async function* walkArchive(archive: string, after?: { project: string; version: string }): AsyncGenerator<ArchivedRelease> {
  let top;
  try {
    top = statSync(archive);
  } catch (err) {
    throw fromSystemError(err, `reading the archive ${archive}`);
  }
  if (!top.isDirectory()) throw layoutError(archive, 'is not a directory');
  for (const p of entries(archive)) {
    if (!p.isDirectory()) throw layoutError(join(archive, p.name), `${kind(p)} (the archive holds one directory per project)`);
    if (after && byteOrder(p.name, after.project) < 0) continue;
    for (const v of entries(join(archive, p.name))) {
      if (!v.isDirectory()) throw layoutError(join(archive, p.name, v.name), `${kind(v)} (a project directory holds one directory per version)`);
      if (after && compareReleases({ project: p.name, version: v.name }, after) <= 0) continue;
      yield await readArchivedRelease(archive, p.name, v.name);
    }
  }
}
