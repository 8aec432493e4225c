// Archives for the comparison tests, made by real tools: tarballs written entry by entry
// with tar-stream (any header a test wants), Debian packages built by dpkg-deb, ar
// archives by binutils `ar`.
import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';

export interface TarEntrySpec {
  name: string;
  content?: string;
  type?: 'file' | 'directory' | 'symlink';
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  mtime?: number;
  linkname?: string;
}

export const EPOCH = 1_768_478_400;

/** Writes a tar (gzip at `level`, or plain with level null) holding exactly these entries in this order. */
export async function writeTar(path: string, entries: readonly TarEntrySpec[], level: number | null = 9): Promise<void> {
  const pack = tar.pack();
  const writing = level === null ? pipeline(pack, createWriteStream(path)) : pipeline(pack, createGzip({ level }), createWriteStream(path));
  for (const e of entries) {
    const type = e.type ?? 'file';
    const body = Buffer.from(type === 'file' ? (e.content ?? '') : '');
    await new Promise<void>((resolve, reject) =>
      pack.entry(
        {
          name: e.name,
          type,
          mode: e.mode ?? (type === 'directory' ? 0o755 : type === 'symlink' ? 0o777 : 0o644),
          uid: e.uid ?? 0,
          gid: e.gid ?? 0,
          uname: e.uname ?? '',
          gname: e.gname ?? '',
          mtime: new Date((e.mtime ?? EPOCH) * 1000),
          ...(e.linkname ? { linkname: e.linkname } : {}),
        },
        body,
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  }
  pack.finalize();
  await writing;
}

export interface DebSpec {
  /** Content of /usr/bin/hello. */
  hello: string;
  /** mtime of /usr/bin/hello (everything else gets EPOCH). */
  helloMtime?: number;
  compression?: 'gzip' | 'xz';
}

/** Builds a real .deb with dpkg-deb (root owner and group, fixed mtimes). */
export async function buildDeb(path: string, spec: DebSpec): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'airlock-deb-'));
  try {
    await chmod(root, 0o755);
    await mkdir(join(root, 'DEBIAN'));
    await mkdir(join(root, 'usr', 'bin'), { recursive: true });
    await writeFile(join(root, 'DEBIAN', 'control'), 'Package: hello\nVersion: 1.0.0\nArchitecture: all\nMaintainer: Tester <t@example.org>\nDescription: test package\n');
    await writeFile(join(root, 'usr', 'bin', 'hello'), spec.hello, { mode: 0o755 });
    await chmod(join(root, 'usr', 'bin', 'hello'), 0o755);
    for (const p of ['DEBIAN/control', 'DEBIAN', 'usr/bin', 'usr', '.']) await utimes(join(root, p), EPOCH, EPOCH);
    const t = spec.helloMtime ?? EPOCH;
    await utimes(join(root, 'usr', 'bin', 'hello'), t, t);
    await mkdir(dirname(path), { recursive: true });
    execFileSync('dpkg-deb', ['--root-owner-group', `-Z${spec.compression ?? 'gzip'}`, '--build', root, path], {
      stdio: 'ignore',
      env: { PATH: process.env.PATH, SOURCE_DATE_EPOCH: String(EPOCH) },
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** An ar archive made by binutils `ar` (deterministic mode) from the given files. */
export function writeAr(path: string, files: readonly string[]): void {
  execFileSync('ar', ['rcD', path, ...files], { stdio: 'ignore' });
}
