// An SFTP host (draft-ietf-secsh-filexfer-02, as OpenSSH's internal-sftp speaks it),
// reached with ssh2. The server must show the pinned host key (checked against the key
// exchange signature by ssh2, compared here); the client logs in only with the
// keystore's publish key through the Signer (signer-agent.ts). Uploads are pipelined
// (many WRITE requests in flight, bounded memory) and flushed with fsync@openssh.com;
// immutable files are put in place with plain SSH_FXP_RENAME, which OpenSSH implements
// with link(2) and so refuses to replace an existing file, mutable ones with
// posix-rename@openssh.com, an atomic rename(2). sftp-server creates files and
// directories under its own umask, so modes are set explicitly (host-modes.ts): fsetstat
// on every file before it is written, setstat on every directory made.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import ssh2 from 'ssh2';
import type { AgentAuthMethod, Client as SshClient, ConnectConfig, SFTPWrapper, Stats } from 'ssh2';
import { AirlockError, isAirlockError } from '../core/errors.js';
import type { Signer } from '../keys/signer.js';
import { fingerprintOf, hostKeyAlgorithmsFor, hostKeyMatches } from './host-key.js';
import type { HostLocation } from './host-url.js';
import { SignerAgent } from './signer-agent.js';
import { DEFAULT_HOST_MODES, permissionBits, type HostModes } from './host-modes.js';
import { assertTreePath, type RemoteDigest, type RemoteDirectory, type RemoteFile, type RenameOptions, type Transport } from './transport.js';

/**
 * Bytes per READ/WRITE request: 255 KiB is what OpenSSH's sftp-server announces as its
 * limit (limits@openssh.com), so each call is one request; ssh2 splits larger ones.
 * Measured on loopback (scripts/bench/upload-sftp.mjs), 32 KiB requests were CPU-bound
 * at about half the rate of OpenSSH's sftp; 255 KiB ones match it.
 */
const CHUNK = 255 * 1024;
/** Requests in flight per file: CHUNK × IN_FLIGHT (4 MiB) is the memory one transfer holds. */
const IN_FLIGHT = 16;
/** Files uploaded at once within a run of the plan (apply.ts). */
const PARALLEL_FILES = 4;
const STATUS = { EOF: 1, NO_SUCH_FILE: 2, PERMISSION_DENIED: 3 } as const;

type SftpLocation = Extract<HostLocation, { kind: 'sftp' }>;

export interface SftpConnectOptions {
  publishSigner?: Signer;
  timeoutMs?: number;
  modes?: HostModes;
}

function statusOf(err: unknown): number | undefined {
  const c = (err as { code?: unknown } | undefined)?.code;
  return typeof c === 'number' ? c : undefined;
}

function p<T>(fn: (cb: (err: Error | undefined | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));
}

export class SftpTransport implements Transport {
  private readonly madeDirs = new Set<string>();
  /**
   * Files of one run in flight at once: each small file costs several round trips (open,
   * write, fsync, close, read back, rename), so a tree of small files is bound by latency;
   * memory stays bounded (IN_FLIGHT writes of CHUNK per file).
   */
  parallelFiles = PARALLEL_FILES;

  private constructor(
    readonly host: string,
    private readonly client: SshClient,
    private readonly sftp: SFTPWrapper,
    private readonly root: string,
    private readonly modes: HostModes,
  ) {}

  static async connect(host: { name: string; hostKey?: string }, loc: SftpLocation, opts: SftpConnectOptions): Promise<SftpTransport> {
    const pin = host.hostKey;
    if (pin === undefined) {
      throw new AirlockError('E_HOST_KEY', `host ${host.name} has no pinned host key; add it again with \`airlock host add ${host.name} URL --host-key KEY\``, {
        details: { host: host.name },
      });
    }
    const signer = opts.publishSigner;
    if (signer === undefined) {
      throw new AirlockError('E_KEY_NOT_FOUND', `publishing to ${host.name} over SFTP needs the keystore's publish key; run \`airlock key generate publish\` and install it on the host`);
    }
    if (signer.role !== 'publish') {
      // A key signs in one format for one role (docs/formats.md "One key, one role, one format"): never offer another role's key to a server.
      throw new AirlockError('E_KEY_ROLE', `SFTP logins use the keystore's publish key, not the ${signer.role} key`);
    }
    const session = `${loc.user}@${loc.hostname}:${loc.port}`;
    const agent = new SignerAgent(signer, session);
    const client = new ssh2.Client();
    let presented: Buffer | undefined;
    let hostKeyRefused = false;
    const config: ConnectConfig = {
      host: loc.hostname,
      port: loc.port,
      username: loc.user,
      readyTimeout: opts.timeoutMs ?? 20_000,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 4,
      agentForward: false,
      authHandler: [{ type: 'agent', username: loc.user, agent } satisfies AgentAuthMethod] as AgentAuthMethod[],
      hostVerifier: (key: Buffer) => {
        presented = key;
        hostKeyRefused = !hostKeyMatches(pin, key);
        return !hostKeyRefused;
      },
    };
    const algorithms = hostKeyAlgorithmsFor(pin);
    if (algorithms) config.algorithms = { serverHostKey: algorithms as NonNullable<NonNullable<ConnectConfig['algorithms']>['serverHostKey']> };

    try {
      await new Promise<void>((resolve, reject) => {
        // SFTP is request and answer, and ssh2 may write one SSH packet in several pieces
        // (its JavaScript ciphers, used whenever its native binding does not load — built
        // for another Node, or installed without scripts — write length, ciphertext and
        // MAC separately). With Nagle's algorithm on, the later pieces wait for the host's
        // delayed ACK: about 40 ms for every request, 20 times slower on loopback.
        client.once('connect', () => client.setNoDelay(true));
        client.once('ready', resolve);
        client.once('error', reject);
        client.connect(config);
      });
    } catch (err) {
      client.end();
      if (hostKeyRefused || (presented === undefined && /no matching host key/i.test(String((err as Error).message)))) {
        throw new AirlockError(
          'E_HOST_KEY',
          `host ${host.name} (${session}) showed host key ${presented ? fingerprintOf(presented) : 'of another type'}, not the pinned one; if the host was really re-keyed, check the new key out of band and add the host again — otherwise someone is in the way`,
          { cause: err, details: { host: host.name, presented: presented ? fingerprintOf(presented) : null } },
        );
      }
      if (agent.lastError && isAirlockError(agent.lastError)) throw agent.lastError;
      const level = (err as { level?: string }).level;
      if (level === 'client-authentication') {
        throw new AirlockError('E_HOST_AUTH', `host ${host.name} refused the publish key for ${loc.user}; install it with the lines \`airlock host add\` printed (authorized_keys on the host)`, {
          cause: err,
          details: { host: host.name },
        });
      }
      throw new AirlockError('E_NETWORK', `cannot reach host ${host.name} at ${loc.hostname}:${loc.port}; check the network and the URL, then run the publish again`, {
        cause: err,
        details: { host: host.name },
      });
    }
    let sftp: SFTPWrapper;
    try {
      sftp = await p<SFTPWrapper>((cb) => client.sftp(cb));
    } catch (err) {
      client.end();
      throw new AirlockError('E_HOST_AUTH', `host ${host.name} allows no SFTP for ${loc.user}; configure the sshd lines \`airlock host add\` printed`, { cause: err });
    }
    return new SftpTransport(host.name, client, sftp, loc.path, opts.modes ?? DEFAULT_HOST_MODES);
  }

  private abs(path: string): string {
    assertTreePath(path);
    return posix.join(this.root, path);
  }

  private fail(err: unknown, what: string): AirlockError {
    if (err instanceof AirlockError) return err;
    const status = statusOf(err);
    if (status === STATUS.PERMISSION_DENIED) {
      return new AirlockError('E_PERMISSIONS', `host ${this.host}: ${what}: permission denied; the publish user must own the release tree`, { cause: err });
    }
    if (status !== undefined) return new AirlockError('E_IO', `host ${this.host}: ${what} failed (SFTP status ${status}); check the host's disk and the publish user's rights`, { cause: err });
    return new AirlockError('E_NETWORK', `host ${this.host}: ${what}: connection lost; run the publish again to continue`, { cause: err });
  }

  /** The entries of the directory `rel` (below the root) but `.` and `..`, each with its path from the root; undefined when the root itself is missing. */
  private async readDirectory(rel: string): Promise<{ path: string; attrs: Stats }[] | undefined> {
    const dir = rel === '' ? this.root : posix.join(this.root, rel);
    let entries;
    try {
      entries = await p<{ filename: string; attrs: Stats }[]>((cb) => this.sftp.readdir(dir, cb));
    } catch (err) {
      if (rel === '' && statusOf(err) === STATUS.NO_SUCH_FILE) return undefined;
      throw this.fail(err, `listing ${dir}`);
    }
    return entries.filter((e) => e.filename !== '.' && e.filename !== '..').map((e) => ({ path: rel === '' ? e.filename : `${rel}/${e.filename}`, attrs: e.attrs }));
  }

  async *list(): AsyncGenerator<RemoteFile> {
    // Depth first (only the directories still to read are held, not the files), a few
    // directories at once: listing a large tree is latency-bound.
    const pending: string[] = [''];
    while (pending.length > 0) {
      const batch = pending.splice(-4);
      const read = await Promise.all(batch.map((rel) => this.readDirectory(rel)));
      for (const entries of read) {
        if (entries === undefined) return; // a first publish: the tree is made on upload
        for (const { path, attrs } of entries) {
          if (attrs.isDirectory()) pending.push(path);
          else if (attrs.isFile()) yield { path, size: attrs.size, mtime: attrs.mtime, mode: permissionBits(attrs.mode) };
        }
      }
    }
  }

  private async readAt(handle: Buffer, offset: number, length: number): Promise<Buffer> {
    const buf = Buffer.alloc(length);
    let got = 0;
    // A READ may return fewer bytes than asked (SFTP v3 §6.4); ask again for the rest.
    while (got < length) {
      const n = await new Promise<number>((resolve, reject) =>
        this.sftp.read(handle, buf, got, length - got, offset + got, (err, bytesRead) => {
          if (err && statusOf(err) !== STATUS.EOF) reject(err);
          else resolve(err ? 0 : bytesRead);
        }),
      );
      if (n === 0) break;
      got += n;
    }
    return got === length ? buf : buf.subarray(0, got);
  }

  /** Opens `path` for reading, runs `use` on the handle, then closes it; undefined when there is no such file. */
  private async reading<T>(path: string, use: (handle: Buffer) => Promise<T>): Promise<T | undefined> {
    const remote = this.abs(path);
    let handle: Buffer;
    try {
      handle = await p<Buffer>((cb) => this.sftp.open(remote, 'r', cb));
    } catch (err) {
      if (statusOf(err) === STATUS.NO_SUCH_FILE) return undefined;
      throw this.fail(err, `reading ${path}`);
    }
    try {
      return await use(handle);
    } catch (err) {
      throw this.fail(err, `reading ${path}`);
    } finally {
      await p<void>((cb) => this.sftp.close(handle, cb)).catch(() => undefined);
    }
  }

  async digest(path: string): Promise<RemoteDigest | undefined> {
    return this.reading(path, async (handle) => {
      const st = await p<Stats>((cb) => this.sftp.fstat(handle, cb));
      const size = st.size;
      const hash = createHash('sha256');
      let length = 0;
      let next = 0;
      const queue: Promise<Buffer>[] = [];
      const issue = () => {
        if (next >= size) return;
        const len = Math.min(CHUNK, size - next);
        queue.push(this.readAt(handle, next, len));
        next += len;
      };
      for (let i = 0; i < IN_FLIGHT; i++) issue();
      // Reads are issued ahead but hashed in order.
      while (queue.length > 0) {
        const buf = await queue.shift()!;
        hash.update(buf);
        length += buf.length;
        issue();
      }
      // The file may have grown since fstat: whatever is past `size` still counts.
      for (;;) {
        const more = await this.readAt(handle, length, CHUNK);
        if (more.length === 0) break;
        hash.update(more);
        length += more.length;
      }
      return { length, sha256: hash.digest('hex'), mtime: st.mtime, mode: permissionBits(st.mode) };
    });
  }

  async readSmall(path: string, maxBytes: number): Promise<Uint8Array | undefined> {
    return this.reading(path, async (handle) => {
      const buf = await this.readAt(handle, 0, maxBytes + 1);
      if (buf.length > maxBytes) throw new AirlockError('E_TOO_LARGE', `${path} on host ${this.host} is larger than ${maxBytes} bytes`);
      return new Uint8Array(buf);
    });
  }

  private async mkdirs(dir: string): Promise<void> {
    if (dir === this.root || this.madeDirs.has(dir)) return;
    const parent = posix.dirname(dir);
    if (parent !== dir && dir !== '/') await this.mkdirs(parent);
    try {
      await p<void>((cb) => this.sftp.mkdir(dir, { mode: this.modes.dir }, cb));
      await p<void>((cb) => this.sftp.chmod(dir, this.modes.dir, cb));
    } catch (err) {
      let st: Stats | undefined;
      try {
        st = await p<Stats>((cb) => this.sftp.stat(dir, cb));
      } catch {
        throw this.fail(err, `making directory ${dir}`);
      }
      if (!st.isDirectory()) throw new AirlockError('E_IO', `host ${this.host}: ${dir} exists and is not a directory; remove it on the host`);
    }
    this.madeDirs.add(dir);
  }

  async put(localFile: string, path: string, onProgress?: (bytesSent: number) => void): Promise<void> {
    const remote = this.abs(path);
    try {
      // 'wx': created exclusively (SSH_FXF_CREAT|SSH_FXF_EXCL), never over an existing file.
      const handle = await this.inDirectory(remote, () => p<Buffer>((cb) => this.sftp.open(remote, 'wx', { mode: this.modes.file }, cb)));
      try {
        await p<void>((cb) => this.sftp.fchmod(handle, this.modes.file, cb));
        let offset = 0;
        let sent = 0;
        let failure: unknown;
        const inFlight = new Set<Promise<void>>();
        for await (const chunk of createReadStream(localFile, { highWaterMark: CHUNK })) {
          if (failure !== undefined) break;
          const buf = chunk as Buffer;
          const at = offset;
          offset += buf.length;
          const w: Promise<void> = p<void>((cb) => this.sftp.write(handle, buf, 0, buf.length, at, cb)).then(
            () => {
              sent += buf.length;
              onProgress?.(sent);
              inFlight.delete(w);
            },
            (err: unknown) => {
              failure ??= err;
              inFlight.delete(w);
            },
          );
          inFlight.add(w);
          if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
        }
        await Promise.all(inFlight);
        if (failure !== undefined) throw failure;
        // Flush to the host's disk before the file can be renamed into place.
        try {
          await p<void>((cb) => this.sftp.ext_openssh_fsync(handle, cb as never));
        } catch (err) {
          if (!/does not support/i.test(String((err as Error).message))) throw err;
        }
      } finally {
        await p<void>((cb) => this.sftp.close(handle, cb)).catch(() => undefined);
      }
    } catch (err) {
      await this.remove(path).catch(() => undefined);
      throw this.fail(err, `uploading ${path}`);
    }
  }

  private async exists(remote: string): Promise<boolean> {
    try {
      await p<Stats>((cb) => this.sftp.lstat(remote, cb));
      return true;
    } catch (err) {
      if (statusOf(err) === STATUS.NO_SUCH_FILE) return false;
      throw err;
    }
  }

  /**
   * Runs `op` once the parent directory of `remote` exists. Directories made are
   * remembered; if one vanished on the host since (NO_SUCH_FILE), they are made again.
   */
  private async inDirectory<T>(remote: string, op: () => Promise<T>): Promise<T> {
    await this.mkdirs(posix.dirname(remote));
    try {
      return await op();
    } catch (err) {
      if (statusOf(err) !== STATUS.NO_SUCH_FILE) throw err;
      this.madeDirs.clear();
      await this.mkdirs(posix.dirname(remote));
      return op();
    }
  }

  async rename(from: string, to: string, options: RenameOptions): Promise<'renamed' | 'exists'> {
    const src = this.abs(from);
    const dest = this.abs(to);
    try {
      if (options.overwrite) {
        try {
          await this.inDirectory(dest, () => p<void>((cb) => this.sftp.ext_openssh_rename(src, dest, cb)));
        } catch (err) {
          if (/does not support/i.test(String((err as Error).message))) {
            throw new AirlockError('E_TOOL_MISSING', `host ${this.host}: the SFTP server lacks posix-rename@openssh.com, so ${to} cannot be replaced atomically; use OpenSSH's sftp server`, { cause: err });
          }
          throw err;
        }
        return 'renamed';
      }
      try {
        await this.inDirectory(dest, () => p<void>((cb) => this.sftp.rename(src, dest, cb)));
        return 'renamed';
      } catch (err) {
        if (await this.exists(dest)) return 'exists';
        throw err;
      }
    } catch (err) {
      throw this.fail(err, `renaming ${from} to ${to}`);
    }
  }

  async remove(path: string): Promise<void> {
    try {
      await p<void>((cb) => this.sftp.unlink(this.abs(path), cb));
    } catch (err) {
      if (statusOf(err) !== STATUS.NO_SUCH_FILE) throw this.fail(err, `removing ${path}`);
    }
  }

  /**
   * Every directory below the tree's root (the root itself belongs to the host's
   * administrator), depth first: what waits is one directory's subdirectories per level,
   * not the whole breadth of the tree.
   */
  async *listDirectories(): AsyncGenerator<RemoteDirectory> {
    const pending: string[] = [''];
    for (let rel = pending.pop(); rel !== undefined; rel = pending.pop()) {
      const entries = await this.readDirectory(rel);
      if (entries === undefined) return;
      const below: string[] = [];
      for (const { path, attrs } of entries) {
        if (!attrs.isDirectory()) continue;
        yield { path, mode: permissionBits(attrs.mode) };
        below.push(path);
      }
      // Reversed onto the stack, so the first listed is walked first.
      for (let i = below.length - 1; i >= 0; i--) pending.push(below[i]!);
    }
  }

  /** SETSTAT; inside the chroot a symlink can point only within the publish user's own tree. */
  async chmod(path: string, mode: number): Promise<void> {
    try {
      await p<void>((cb) => this.sftp.chmod(this.abs(path), mode, cb));
    } catch (err) {
      throw this.fail(err, `setting the mode of ${path}`);
    }
  }

  async close(): Promise<void> {
    this.sftp.end();
    this.client.end();
  }
}
