// Host URLs: `file:///abs/dir` or `/abs/dir` (a directory), `sftp://user@host[:port]/path`
// (RFC 3986 authority; the path is the release tree as the SFTP server shows it, i.e.
// inside the ChrootDirectory when one is set).
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AirlockError } from '../core/errors.js';

export type HostLocation =
  | { kind: 'directory'; path: string }
  | { kind: 'sftp'; user: string; hostname: string; port: number; path: string };

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
  if (isAbsolute(url)) return { kind: 'directory', path: resolve(url) };
  throw new AirlockError('E_USAGE', `${url} is not a host URL; use file:///abs/dir, /abs/dir or sftp://user@host:port/path`);
}
