// A signed apt repository, grown release by release: packages go into the first
// component of the configured layout (default suite and codename "stable", component
// "main"). Formats: https://wiki.debian.org/DebianRepository/Format (Packages paragraphs
// with Filename/Size/SHA256, binary-all indexes, by-hash/SHA256/<hex> copies of every
// index), deb822(5); the Release file and its signatures are apt-release.ts.
//
// Earlier releases stay installable: the indexes already in `previousAptDir` are read
// and the new packages added — incrementally, from the previous index's paragraphs,
// never from the earlier .deb files — and only what changes is written to `aptDir` (a
// staging tree), so only `dists/` of the previous tree must be present (the pool files
// of earlier releases are already on the host). A package version that is
// already listed with other bytes is refused: a published version is immutable.
// Architecture "all" packages go into every binary-<arch> index (what older apt reads)
// and into binary-all, listed in Architectures (what apt ≥ 1.1 reads, so a client of an
// architecture we never named still finds them).
import { createReadStream } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { writeFileAtomic, writeStreamAtomic } from '../../core/atomic-file.js';
import { sha256Hex, hashStream } from '../../core/digest.js';
import { AirlockError, fromSystemError } from '../../core/errors.js';
import { field, formatParagraphs, parseParagraphs, type Paragraph } from './deb822.js';
import { poolPath, readDebPackage } from './deb-package.js';
import { DEFAULT_APT_LAYOUT, aptSignedBy, formatRelease, writeSignedRelease, type AptLayout, type AptSigners, type IndexFile } from './apt-release.js';

/** Fields an index computes itself; a .deb's control file may not supply them. */
const INDEX_FIELDS = new Set(['filename', 'size', 'md5sum', 'sha1', 'sha256', 'sha512', 'description-md5']);

export interface AptRepositoryOptions {
  /** The apt/ directory the new pool files, indexes and Release go to (a staging tree); created when absent. */
  aptDir: string;
  /**
   * The apt/ directory of the repository copy, read only: its indexes are extended (their
   * paragraphs parsed, never the earlier .deb files) and its pool is not written again.
   * aptDir itself when absent.
   */
  previousAptDir?: string;
  /** Paths of the .deb files to add. */
  debs: string[];
  /** The current pgp key, then the earlier ones still co-signing (apt-release.ts AptSigners). */
  pgp: AptSigners;
  /** Release "Date" and signature time: the release time (or SOURCE_DATE_EPOCH). */
  date: Date;
  origin: string;
  label: string;
  /** Suite, codename, components and the architectures served besides those the packages name. */
  layout?: AptLayout;
  /** Valid-Until of the Release: apt refuses the repository after it (renewed by `airlock refresh`). */
  validUntil: Date;
}

/** dists/<codename>: where a client's `deb URL <codename> <component>` line looks. */
export function distPath(layout: AptLayout): string {
  return `dists/${layout.codename}`;
}

interface IndexEntry {
  key: string;
  architecture: string;
  sha256: string;
  paragraph: Paragraph;
}

function entryKey(pkg: string, version: string, arch: string): string {
  return `${pkg} ${version} ${arch}`;
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function fileSha256(path: string): Promise<{ sha256: string; size: number }> {
  try {
    const { length, digests } = await hashStream(createReadStream(path, { highWaterMark: 1 << 20 }), ['sha256']);
    return { sha256: digests.sha256!, size: length };
  } catch (err) {
    throw fromSystemError(err, `reading ${path}`);
  }
}

/** Every package the existing indexes list, deduplicated (arch-all packages sit in several). */
async function readExistingIndexes(aptDir: string, layout: AptLayout): Promise<{ entries: Map<string, IndexEntry>; architectures: Set<string> }> {
  const entries = new Map<string, IndexEntry>();
  const architectures = new Set<string>();
  const componentDir = join(aptDir, distPath(layout), layout.components[0]!);
  const dirs = await readdir(componentDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw fromSystemError(err, `reading ${componentDir}`);
  });
  for (const dir of dirs.sort()) {
    const m = /^binary-([a-z0-9-]+)$/.exec(dir);
    if (!m) continue;
    architectures.add(m[1]!);
    const path = join(componentDir, dir, 'Packages');
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new AirlockError('E_APT_INDEX', `${path} is missing from the local apt tree; restore it from the host before releasing`, { cause: err });
    }
    for (const p of parseParagraphs(text, path)) {
      const [pkg, version, arch, sha256, filename] = ['Package', 'Version', 'Architecture', 'SHA256', 'Filename'].map((f) => field(p, f));
      if (!pkg || !version || !arch || !sha256 || !filename || !field(p, 'Size')) {
        throw new AirlockError('E_APT_INDEX', `${path} lists a package without Package, Version, Architecture, Filename, Size and SHA256; restore the index from the host`);
      }
      const key = entryKey(pkg, version, arch);
      const seen = entries.get(key);
      if (seen && seen.sha256 !== sha256) throw new AirlockError('E_APT_INDEX', `the local apt indexes list ${key} with two different hashes; restore them from the host`);
      entries.set(key, { key, architecture: arch, sha256, paragraph: p });
    }
  }
  return { entries, architectures };
}

/**
 * Adds .deb files to the repository and re-signs it. Returns the paths written,
 * relative to aptDir: new pool files, then the indexes, then Release, Release.gpg and
 * InRelease, in the order a publisher should upload them.
 */
export async function updateAptRepository(opts: AptRepositoryOptions): Promise<string[]> {
  const layout = opts.layout ?? DEFAULT_APT_LAYOUT;
  const DIST = distPath(layout);
  const previous = opts.previousAptDir ?? opts.aptDir;
  const { entries, architectures: existingArchitectures } = await readExistingIndexes(previous, layout);
  const written: string[] = [];

  const additions: { source: string; pool: string; entry: IndexEntry }[] = [];
  for (const deb of opts.debs) {
    const pkg = await readDebPackage(deb);
    const { sha256, size } = await fileSha256(deb);
    const pool = poolPath(pkg, layout.components[0]!);
    const key = entryKey(pkg.package, pkg.version, pkg.architecture);
    const listed = entries.get(key);
    if (listed && listed.sha256 !== sha256) {
      throw new AirlockError('E_APT_CONFLICT', `${pkg.package} ${pkg.version} (${pkg.architecture}) is already in the apt repository with other bytes; a published version cannot change, so release it under a new version`, {
        details: { package: pkg.package, version: pkg.version, architecture: pkg.architecture },
      });
    }
    if (listed) continue;
    const paragraph: Paragraph = pkg.control.filter(([name]) => !INDEX_FIELDS.has(name.toLowerCase()));
    paragraph.push(['Filename', pool], ['Size', String(size)], ['SHA256', sha256]);
    const entry = { key, architecture: pkg.architecture, sha256, paragraph };
    entries.set(key, entry);
    additions.push({ source: deb, pool, entry });
  }

  // Pool first: an index must never name a file that is not there yet.
  for (const { source, pool, entry } of additions) {
    const target = join(opts.aptDir, pool);
    const there = join(previous, pool);
    if (await exists(there)) {
      if ((await fileSha256(there)).sha256 !== entry.sha256) {
        throw new AirlockError('E_APT_CONFLICT', `${pool} already exists in the apt pool with other bytes; release the package under a new version`);
      }
      continue;
    }
    try {
      await writeStreamAtomic(target, createReadStream(source, { highWaterMark: 1 << 20 }));
    } catch (err) {
      throw fromSystemError(err, `copying ${source} into the apt pool`);
    }
    written.push(pool);
  }

  const all = [...entries.values()];
  const concrete = new Set([...existingArchitectures, ...all.map((e) => e.architecture), ...layout.architectures]);
  const hasAll = concrete.delete('all');
  const indexArchitectures = [...concrete].sort(byteOrder);
  if (hasAll) indexArchitectures.push('all');

  const sums: IndexFile[] = [];
  for (const [i, component] of layout.components.entries()) {
    for (const arch of indexArchitectures) {
      // Packages live in the first component; the others are listed with empty indexes,
      // so a sources line naming them updates without warnings.
      const listed =
        i > 0
          ? []
          : all
              .filter((e) => e.architecture === arch || e.architecture === 'all')
              .sort((a, b) => byteOrder(a.key, b.key))
              .map((e) => e.paragraph);
      const text = Buffer.from(formatParagraphs(listed), 'utf8');
      // gzip from node's zlib writes mtime 0 and no file name: the same bytes every time.
      const gz = gzipSync(text, { level: 9 });
      const dir = `${component}/binary-${arch}`;
      for (const [name, bytes] of [['Packages', text], ['Packages.gz', gz]] as const) {
        const sha256 = sha256Hex(bytes);
        // by-hash first: a client reading the new InRelease fetches indexes by hash, and
        // a copy under its hash never changes, so caches cannot serve a mismatched one.
        await writeFileAtomic(join(opts.aptDir, DIST, dir, 'by-hash', 'SHA256', sha256), bytes);
        await writeFileAtomic(join(opts.aptDir, DIST, dir, name), bytes);
        written.push(`${DIST}/${dir}/by-hash/SHA256/${sha256}`, `${DIST}/${dir}/${name}`);
        sums.push({ path: `${dir}/${name}`, sha256, size: bytes.length });
      }
    }
  }

  const release = formatRelease({
    origin: opts.origin,
    label: opts.label,
    layout,
    architectures: indexArchitectures,
    date: opts.date,
    validUntil: opts.validUntil,
    signedBy: aptSignedBy(opts.pgp),
    files: sums,
  });
  for (const name of await writeSignedRelease(join(opts.aptDir, DIST), release, opts.pgp, opts.date, `apt/${DIST}/Release`)) written.push(`${DIST}/${name}`);
  return written;
}
