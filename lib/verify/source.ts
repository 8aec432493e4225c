// Where bytes come from: the one-method source interface (tuf-js `BaseFetcher.fetch`)
// and its two implementations, a directory holding the static host tree and an
// http(s) base URL. Sources only move bytes; caps, timeouts and every check of what
// the bytes mean sit outside (fetch-bounded.ts, trusted-metadata-set.ts).
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type http from 'node:http';
import { join, resolve } from 'node:path';
import { AirlockError, fromSystemError } from '../core/errors.js';

export interface FetchRequest {
  /** Path segments under the host root, e.g. ['metadata', '3.root.json']. */
  readonly path: readonly string[];
  /**
   * The segments are already URL-quoted (a role's metadata file: `1.%2Fdelegatedrole.json`,
   * role-file-name.ts). An http(s) source sends them as they are — the URL python-tuf
   * and tuf-js request; a directory reads the file of exactly that name.
   */
  readonly quoted?: boolean;
  /** Aborted by the caller when it stops reading (cap reached, timeout, done). */
  readonly signal: AbortSignal;
  /**
   * The caller refuses the file past this many bytes: a source that can stop reads at
   * most one byte more (enough to prove the file too long), however long the file is.
   */
  readonly maxBytes?: number;
  /**
   * The caller is done with each chunk before it asks for the next one, so a source may
   * read the next chunk into the same memory (no fresh buffer, no page faults, per MiB).
   */
  readonly transientChunks?: boolean;
}

/**
 * A place that serves the static host tree. `fetch` yields the file's bytes; a file
 * that does not exist is E_NOT_FOUND, any other failure E_NETWORK or E_IO.
 */
export interface Source {
  /** How the user wrote it (the --from value), for messages. */
  readonly name: string;
  fetch(request: FetchRequest): AsyncIterable<Uint8Array>;
  /**
   * Refuses now what fetch would refuse, without reading a byte (a directory host's
   * missing file or symlink): a caller that checks every file before it writes anything
   * (sync) calls it where the source has it.
   */
  probe?(path: readonly string[]): Promise<void>;
}

/** Refuses path segments that could step outside the host tree or mean another file. */
export function checkSegment(segment: string): void {
  if (segment === '' || segment === '.' || segment === '..' || /[/\\\0]/.test(segment)) {
    throw new AirlockError('E_METADATA_INVALID', `"${segment}" cannot be fetched: it is not a plain file name; the repository's metadata names a path outside its tree`);
  }
}

export class DirectorySource implements Source {
  readonly name: string;
  private readonly root: string;

  constructor(dir: string) {
    this.name = dir;
    this.root = resolve(dir);
  }

  async *fetch(request: FetchRequest): AsyncIterable<Uint8Array> {
    request.path.forEach(checkSegment);
    const file = join(this.root, ...request.path);
    let fh: FileHandle;
    let size: number;
    try {
      // O_NONBLOCK: a FIFO planted in the tree opens at once (and is refused below)
      // instead of blocking until someone writes to it; regular files ignore the flag.
      fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      throw notFoundOr(err, request, this.name, file);
    }
    try {
      try {
        const info = await fh.stat();
        if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
        size = info.size;
      } catch (err) {
        throw notFoundOr(err, request, this.name, file);
      }
      // One byte past the caller's cap proves the file too long: nothing more is read.
      let left = request.maxBytes === undefined ? Number.POSITIVE_INFINITY : request.maxBytes + 1;
      // Small metadata in one read, large targets in 1 MiB reads (each read costs a
      // timer and a hash call); never a 1 MiB buffer for a 2 KiB file.
      const chunkBytes = Math.min(READ_BYTES, Math.max(1 << 14, Math.min(size + 1, left)));
      // Two buffers: the next read runs while the caller holds the chunk just yielded.
      // Reused only when the caller is done with each chunk before the next (transientChunks).
      const buffers: Buffer[] = [];
      let turn = 0;
      const readNext = (): Promise<number> => {
        if (left <= 0 || request.signal.aborted) return Promise.resolve(0);
        if (!request.transientChunks || buffers[turn] === undefined) buffers[turn] = Buffer.allocUnsafe(chunkBytes);
        return fh.read(buffers[turn]!, 0, Math.min(chunkBytes, left), null).then((r) => r.bytesRead);
      };
      let reading = readNext();
      try {
        for (;;) {
          const n = await reading;
          if (n === 0) return;
          left -= n;
          const chunk = buffers[turn]!.subarray(0, n);
          turn ^= 1;
          reading = readNext();
          yield chunk;
        }
      } catch (err) {
        if (request.signal.aborted) return;
        throw fromSystemError(err, `reading ${file}`);
      } finally {
        // A read still in flight must land before its file is closed.
        await reading.catch(() => undefined);
      }
    } finally {
      await fh.close();
    }
  }
}

/** Reads in 1 MiB: large enough that per-read costs vanish, small enough to stay in cache. */
const READ_BYTES = 1 << 20;

function notFoundOr(err: unknown, request: FetchRequest, name: string, file: string): AirlockError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new AirlockError('E_NOT_FOUND', `${request.path.join('/')} is not in ${name}`, { cause: err });
  return fromSystemError(err, `reading ${file}`);
}

const MAX_REDIRECTS = 5;

export class HttpSource implements Source {
  readonly name: string;
  private readonly base: URL;

  constructor(url: string) {
    this.name = url;
    try {
      this.base = new URL(url.endsWith('/') ? url : `${url}/`);
    } catch (err) {
      throw new AirlockError('E_USAGE', `${url} is not a valid URL; give --from an http(s):// URL or a directory`, { cause: err });
    }
  }

  async *fetch(request: FetchRequest): AsyncIterable<Uint8Array> {
    request.path.forEach(checkSegment);
    const url = new URL(request.path.map((s) => (request.quoted ? s : encodeURIComponent(s))).join('/'), this.base);
    const res = await get(url, request.signal, MAX_REDIRECTS);
    try {
      for await (const chunk of res) yield chunk as Buffer;
    } catch (err) {
      if (request.signal.aborted) return;
      throw new AirlockError('E_NETWORK', `${url.href}: the connection broke; check the network or try another mirror`, { cause: err });
    } finally {
      res.destroy();
    }
  }
}

/**
 * Where a redirect may lead: a URL that parses, over http(s), and never from https down
 * to plain http (a mirror cannot hand the transfer to anyone on the network path).
 * `location` is the host's header: untrusted.
 */
export function redirectTarget(from: URL, location: string): URL {
  let next: URL;
  try {
    next = new URL(location, from);
  } catch (err) {
    throw new AirlockError('E_NETWORK', `${from.href} redirects to something that is not a URL; try another mirror`, { cause: err });
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    throw new AirlockError('E_NETWORK', `${from.href} redirects to a ${next.protocol} URL; give an http(s) mirror`);
  }
  if (from.protocol === 'https:' && next.protocol !== 'https:') {
    throw new AirlockError('E_NETWORK', `${from.href} redirects to plain http (${next.origin}); refused, use a mirror that stays on https`);
  }
  return next;
}

async function get(url: URL, signal: AbortSignal, redirects: number): Promise<http.IncomingMessage> {
  // Loaded on first use: `--help`, `check` and directory mirrors never pay for the
  // http/https modules at start-up (docs/verifier.md: the verifier starts about as fast as node).
  const client = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise((resolvePromise, reject) => {
    // identity: a compressed body would make byte caps count the wrong bytes.
    const req = client.get(url, { signal, headers: { 'accept-encoding': 'identity', 'user-agent': 'airlock-verify' } }, (res) => {
      // Everything here reacts to the host's answer: nothing may throw out of this
      // callback, or the process dies with a stack trace instead of a refusal.
      try {
        const status = res.statusCode ?? 0;
        if (status === 200) {
          resolvePromise(res);
          return;
        }
        res.resume();
        res.destroy();
        const location = res.headers.location;
        if (status >= 300 && status < 400 && location && redirects > 0) {
          get(redirectTarget(url, location), signal, redirects - 1).then(resolvePromise, reject);
          return;
        }
        // S3-like hosts answer 403 for a missing key; both mean "not here".
        if (status === 404 || status === 403 || status === 410) {
          reject(new AirlockError('E_NOT_FOUND', `${url.href}: HTTP ${status}`));
          return;
        }
        reject(new AirlockError('E_NETWORK', `${url.href}: HTTP ${status}; the host is failing, try again later or another mirror`));
      } catch (err) {
        res.destroy();
        reject(err instanceof AirlockError ? err : new AirlockError('E_NETWORK', `${url.href}: unusable answer; try another mirror`, { cause: err }));
      }
    });
    req.on('error', (err) => {
      reject(new AirlockError('E_NETWORK', `${url.href}: ${(err as NodeJS.ErrnoException).code ?? 'request failed'}; check the address and the network`, { cause: err }));
    });
  });
}

/** A --from value: an http(s) URL, or else a directory path (read by `directory`: airlock sync reads it without following links). */
export function openSource(from: string, directory: (dir: string) => Source = (dir) => new DirectorySource(dir)): Source {
  if (/^https?:\/\//i.test(from)) return new HttpSource(from);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(from)) {
    throw new AirlockError('E_USAGE', `${from}: --from takes an http(s):// URL or a directory`);
  }
  return directory(from);
}
