// Host URLs: `file:///abs/dir` or `/abs/dir` (a directory), `sftp://user@host[:port]/path`
// (RFC 3986 authority; the path is the release tree as the SFTP server shows it, i.e.
// inside the ChrootDirectory when one is set), `s3://bucket/prefix` (an S3 bucket; the
// endpoint, region and addressing style are recorded beside the URL in the registry).
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AirlockError } from '../core/errors.js';

export type HostLocation =
  | { kind: 'directory'; path: string }
  | { kind: 'sftp'; user: string; hostname: string; port: number; path: string }
  | { kind: 's3'; bucket: string; prefix: string };

// S3 bucket naming rules (also what path-style and virtual-hosted addressing both accept).
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
// A key prefix of plain segments: it is joined to every host path to make object keys.
const PREFIX_SEGMENT = /^[A-Za-z0-9._+-]+$/;

function parseS3Url(url: string): HostLocation {
  const rest = url.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
  if (!BUCKET.test(bucket) || bucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    throw new AirlockError('E_USAGE', `${url}: ${JSON.stringify(bucket)} is not an S3 bucket name (3-63 lowercase letters, digits, '.' and '-'); write s3://BUCKET/PREFIX`);
  }
  if (prefix !== '' && prefix.split('/').some((seg) => !PREFIX_SEGMENT.test(seg) || seg === '.' || seg === '..')) {
    throw new AirlockError('E_USAGE', `${url}: the prefix must be plain path segments (letters, digits, . _ + -; no "..", no empty segment)`);
  }
  return { kind: 's3', bucket, prefix };
}

const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

/** An absolute path of safe characters with no "." or ".." segment: it can be pasted into a shell or sshd_config unquoted. */
export function isPlainAbsolutePath(path: string): boolean {
  return /^\/[A-Za-z0-9._+\/-]*$/.test(path) && !path.split('/').some((seg) => seg === '.' || seg === '..');
}

export function parseHostUrl(url: string): HostLocation {
  if (url.startsWith('file:')) {
    try {
      return { kind: 'directory', path: fileURLToPath(url) };
    } catch (err) {
      throw new AirlockError('E_USAGE', `${url} is not a usable file: URL; write file:///absolute/dir`, { cause: err });
    }
  }
  if (url.startsWith('sftp:')) {
    let u: URL;
    try {
      u = new URL(url);
    } catch (err) {
      throw new AirlockError('E_USAGE', `${url} is not a valid URL; write sftp://user@host:port/path`, { cause: err });
    }
    const user = decodeURIComponent(u.username);
    if (user === '') throw new AirlockError('E_USAGE', `${url} names no user; write sftp://user@host:port/path`);
    // The user and path also go into the sshd lines `host add` prints for root to paste.
    if (!USER_NAME.test(user)) throw new AirlockError('E_USAGE', `${url}: the user name must be a plain login name (letters, digits, . _ -)`);
    if (u.password !== '') throw new AirlockError('E_USAGE', `${url} holds a password; airlock logs in only with its publish key — remove the password from the URL`);
    const hostname = u.hostname.replace(/^\[(.*)\]$/, '$1');
    if (hostname === '') throw new AirlockError('E_USAGE', `${url} names no host`);
    const path = decodeURIComponent(u.pathname);
    if (path === '' || path === '/') {
      throw new AirlockError('E_USAGE', `${url} names no directory; give the release tree's path, e.g. sftp://${user}@${hostname}/www`);
    }
    if (u.search !== '' || u.hash !== '') throw new AirlockError('E_USAGE', `${url}: query and fragment are not allowed in a host URL`);
    // Percent-encoding survives URL normalisation: /www/a%2F..%2F..%2Fetc decodes to a path out of the tree.
    if (!isPlainAbsolutePath(path)) {
      throw new AirlockError('E_USAGE', `${url}: the path must be a plain absolute directory (letters, digits, . _ + - and /; no "..")`);
    }
    return { kind: 'sftp', user, hostname, port: u.port === '' ? 22 : Number(u.port), path: path.replace(/\/+$/, '') };
  }
  if (url.startsWith('s3://')) return parseS3Url(url);
  if (isAbsolute(url)) return { kind: 'directory', path: resolve(url) };
  throw new AirlockError('E_USAGE', `${url} is not a host URL; use file:///abs/dir, /abs/dir, sftp://user@host:port/path or s3://bucket/prefix`);
}

/** How an s3:// host is reached, recorded with it in the host registry. */
export interface S3HostOptions {
  /** https://host[:port] of the S3 API (http:// only on the loopback interface). */
  endpoint: string;
  /** Signing region (SigV4); default us-east-1, what Ceph RGW and MinIO accept. */
  region?: string;
  /** https://endpoint/bucket/key instead of https://bucket.endpoint/key. */
  pathStyle?: boolean;
  /** Seconds caches may keep files that change in place (http-caching.ts); default 0, `no-cache`. */
  mutableMaxAge?: number;
}

const REGION = /^[a-z0-9][a-z0-9-]{0,62}$/;

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Checks an S3 host's options, returning them normalised. The endpoint must be https
 * (its certificate is verified; NODE_EXTRA_CA_CERTS adds a private CA): over plain http
 * anyone on the path could answer the read-back with the bytes that were sent while
 * storing others. Plain http is allowed on the loopback interface only (a local gateway).
 */
export function checkS3Options(opts: S3HostOptions): S3HostOptions {
  let u: URL;
  try {
    u = new URL(opts.endpoint);
  } catch (err) {
    throw new AirlockError('E_USAGE', `--endpoint ${opts.endpoint} is not a URL; write https://s3.example.org`, { cause: err });
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopback(u.hostname))) {
    throw new AirlockError('E_USAGE', `--endpoint ${opts.endpoint}: use https:// (plain http:// only for a gateway on 127.0.0.1)`);
  }
  if (u.username !== '' || u.password !== '') {
    throw new AirlockError('E_USAGE', `--endpoint ${opts.endpoint} holds credentials; give them in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the shared credentials file, never in a URL`);
  }
  if ((u.pathname !== '/' && u.pathname !== '') || u.search !== '' || u.hash !== '') {
    throw new AirlockError('E_USAGE', `--endpoint ${opts.endpoint}: give only scheme, host and port; the bucket and prefix go in the s3:// URL`);
  }
  if (opts.region !== undefined && !REGION.test(opts.region)) throw new AirlockError('E_USAGE', `--region ${JSON.stringify(opts.region)} is not a region name (e.g. us-east-1)`);
  const age = opts.mutableMaxAge;
  if (age !== undefined && (!Number.isSafeInteger(age) || age < 0 || age > 3600)) {
    throw new AirlockError('E_USAGE', `--mutable-max-age ${age}: give whole seconds from 0 to 3600 (0 sends no-cache)`);
  }
  const out: S3HostOptions = { endpoint: u.origin };
  if (opts.region !== undefined) out.region = opts.region;
  if (opts.pathStyle) out.pathStyle = true;
  if (age !== undefined) out.mutableMaxAge = age;
  return out;
}
