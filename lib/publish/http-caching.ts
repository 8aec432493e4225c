// HTTP caching and Content-Type for every path of the host tree (docs/host-layout.md,
// "Modes and caching"), so that a CDN or proxy cache in front of a host is safe:
// what changes in place (timestamp.json, keys/, the apt and rpm indices) is never kept
// past a short max-age — a cached timestamp freezes clients — and what is published
// once under a name that never changes (versioned metadata, consistent-snapshot
// targets, N.root.json, by-hash files, releases/, pools) is cached for a year.
// S3 hosts get these as object metadata (s3-transport.ts); for directory hosts
// docs/publishing.md gives the same rules as nginx configuration.
// RFC 9111 §5.2.2 (Cache-Control: no-cache, max-age), RFC 8246 (immutable).
import { classifyPath } from './layout.js';

/** A year: what a versioned name can be cached for (RFC 8246's example, and what CDNs cap at). */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable';

export interface CachingPolicy {
  /**
   * Seconds a cache may keep a file that changes in place (timestamp.json, keys/, apt and
   * rpm indices). 0 (the default) sends `no-cache`: every read is revalidated. A longer
   * value delays new releases by as much, and apt without by-hash may then see an
   * InRelease and a Packages file of different releases.
   */
  mutableMaxAge?: number;
}

export interface HttpHeaders {
  cacheControl: string;
  contentType: string;
}

// createrepo_c names every repodata file but repomd.xml by its checksum ("<hex>-primary.xml.gz").
const HASH_NAMED_REPODATA = /^rpm\/(?:.+\/)?repodata\/[0-9a-f]{40,128}-[^/]+$/;

/** Whether a path's bytes never change once published (so caches may keep it for a year). */
export function isCacheImmutable(path: string): boolean {
  if (/^apt\/dists\/.+\/by-hash\/[^/]+\/[0-9a-f]+$/.test(path)) return true;
  if (HASH_NAMED_REPODATA.test(path) || path.startsWith('rpm/Packages/')) return true;
  try {
    return classifyPath(path).immutable;
  } catch {
    return false;
  }
}

export function cacheControlFor(path: string, policy: CachingPolicy = {}): string {
  if (isCacheImmutable(path)) return IMMUTABLE_CACHE_CONTROL;
  const age = policy.mutableMaxAge ?? 0;
  return age > 0 ? `public, max-age=${age}` : 'no-cache';
}

const TEXT = 'text/plain; charset=utf-8';

// By file name suffix; longest first where one is a suffix of another.
const BY_SUFFIX: readonly [string, string][] = [
  ['.tar.gz', 'application/gzip'],
  ['.tar.xz', 'application/x-xz'],
  ['.tar.zst', 'application/zstd'],
  ['.json', 'application/json'],
  ['.asc', 'application/pgp-signature'],
  ['.gpg', 'application/pgp-signature'],
  ['.sig', 'application/pgp-signature'],
  ['.minisig', TEXT],
  ['.sshsig', TEXT],
  ['.pub', TEXT],
  ['.sha256', TEXT],
  ['.sha512', TEXT],
  ['.txt', TEXT],
  ['.md', 'text/markdown; charset=utf-8'],
  ['.repo', TEXT],
  ['.xml', 'application/xml'],
  ['.deb', 'application/vnd.debian.binary-package'],
  ['.udeb', 'application/vnd.debian.binary-package'],
  ['.dsc', TEXT],
  ['.rpm', 'application/x-rpm'],
  ['.tgz', 'application/gzip'],
  ['.gz', 'application/gzip'],
  ['.xz', 'application/x-xz'],
  ['.bz2', 'application/x-bzip2'],
  ['.zst', 'application/zstd'],
  ['.tar', 'application/x-tar'],
  ['.zip', 'application/zip'],
];

const BY_NAME: Readonly<Record<string, string>> = {
  InRelease: TEXT,
  Release: TEXT,
  Packages: TEXT,
  Sources: TEXT,
  SHA256SUMS: TEXT,
  SHA512SUMS: TEXT,
  KEYS: 'application/pgp-keys',
  allowed_signers: TEXT,
};

export function contentTypeFor(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  // Under keys/ an .asc file is a public key (release-signing.asc), not a signature.
  if (path.startsWith('keys/') && base.endsWith('.asc')) return 'application/pgp-keys';
  if (path.startsWith('keys/') && base.endsWith('.gpg')) return 'application/pgp-keys';
  const named = BY_NAME[base];
  if (named !== undefined) return named;
  for (const [suffix, type] of BY_SUFFIX) if (base.endsWith(suffix)) return type;
  return 'application/octet-stream';
}

export function httpHeadersFor(path: string, policy: CachingPolicy = {}): HttpHeaders {
  return { cacheControl: cacheControlFor(path, policy), contentType: contentTypeFor(path) };
}
