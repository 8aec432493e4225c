// The host `airlock sync --from` reads. An http(s) host is lib/verify's HttpSource; a
// directory host is read here, as strictly as publish writes one
// (lib/publish/directory-transport.ts): such a tree is often writable by others (a web
// server's, a shared volume), and a symlink planted in it — `metadata -> ~/.airlock`,
// a target -> the keystore — would have the terminal read its own files as the host's.
// lib/verify's DirectorySource follows links (a downstream mirror may be made of them);
// this one does not: no directory below the host's root may be a symlink or anything but
// a directory, and each file must be a regular file opened without following a final
// symlink (O_NOFOLLOW) or waiting on a FIFO — E_HOST_UNSAFE otherwise, even for a link
// to the very bytes the metadata vouches for. Each directory is opened without following
// and the next component through it (lib/core/path-beneath.ts), so a host that swaps a
// directory for a link while a file is being opened is not followed either (on Linux;
// elsewhere each directory is lstat'ed first, which such a swap can still race). The
// root is the user's own word and may itself be a symlink.
import type { FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AirlockError, fromSystemError } from '../core/errors.js';
import { openFileBeneath } from '../core/path-beneath.js';
import { checkSegment, openSource, type FetchRequest, type Source } from '../verify/index.js';

/** Bytes per read: large targets in few reads, as lib/verify's DirectorySource. */
const READ_BYTES = 1 << 20;

/** A --from value for sync: an http(s) URL (lib/verify), else a directory read without following a symlink. */
export function openSyncSource(from: string): Source {
  return openSource(from, (dir) => new HostTreeSource(dir));
}

export class HostTreeSource implements Source {
  readonly name: string;
  private readonly root: string;

  constructor(dir: string) {
    this.name = dir;
    this.root = resolve(dir);
  }

  /**
   * Refuses now what fetch would refuse (E_HOST_UNSAFE, E_NOT_FOUND) without reading a
   * byte (Source.probe): sync checks every target the host must serve before it stages anything.
   */
  async probe(path: readonly string[]): Promise<void> {
    const { fh } = await this.open(path);
    await fh.close();
  }

  private async open(segments: readonly string[]): Promise<{ fh: FileHandle; size: number; file: string }> {
    const path = segments.join('/');
    segments.forEach(checkSegment);
    const file = join(this.root, ...segments);
    let opened: Awaited<ReturnType<typeof openFileBeneath>>;
    try {
      opened = await openFileBeneath(this.root, segments);
    } catch (err) {
      throw fromSystemError(err, `reading ${file}`);
    }
    if ('refused' in opened) {
      const at = join(this.root, opened.at);
      switch (opened.refused) {
        case 'absent':
          throw this.notFound(path);
        case 'linked-directory':
          throw this.unsafe(path, `${at} is a symlink`);
        case 'not-directory':
          throw this.unsafe(path, `${at} is not a directory`);
        case 'symlink':
          throw this.unsafe(path, `${file} is a symlink`);
        case 'not-regular':
          throw this.unsafe(path, `${file} is not a regular file`);
      }
    }
    return { fh: opened.fh, size: opened.st.size, file };
  }

  async *fetch(request: FetchRequest): AsyncIterable<Uint8Array> {
    const { fh, size, file } = await this.open(request.path);
    try {
      // One byte past the caller's cap proves the file too long (`end` is inclusive);
      // small metadata in one small read, never a 1 MiB buffer for a 2 KiB file.
      const highWaterMark = Math.min(READ_BYTES, Math.max(1 << 14, size + 1));
      const stream = fh.createReadStream({ autoClose: false, highWaterMark, ...(request.maxBytes === undefined ? {} : { end: request.maxBytes }) });
      try {
        for await (const chunk of stream) {
          if (request.signal.aborted) return;
          yield chunk as Buffer;
        }
      } catch (err) {
        if (request.signal.aborted) return;
        throw fromSystemError(err, `reading ${file}`);
      } finally {
        stream.destroy();
      }
    } finally {
      await fh.close();
    }
  }

  private notFound(path: string, cause?: unknown): AirlockError {
    return new AirlockError('E_NOT_FOUND', `${path} is not in ${this.name}: the host is incomplete (an interrupted publish, or files removed); publish to it again, or sync from another host`, { cause, details: { host: this.name, path } });
  }

  private unsafe(path: string, problem: string): AirlockError {
    return new AirlockError('E_HOST_UNSAFE', `host ${this.name}: ${problem}; airlock never reads through it — remove it on the host and find out who put it there`, { details: { host: this.name, path } });
  }
}
