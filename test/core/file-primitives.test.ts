// lib/core's file primitives: atomic writes (temporary file, fsync, rename or link,
// directory fsync), bounded reads of regular files only, and the tree walk.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { syncDirectory, viaTemporaryFile, writeFileAtomic, writeStreamAtomic } from '../../lib/core/atomic-file.js';
import { AirlockError, EXIT, exitCodeOf } from '../../lib/core/errors.js';
import { listRegularFiles, walkTree } from '../../lib/core/file-tree.js';
import { readRegularFile } from '../../lib/core/regular-file.js';
import { expectCode } from '../support/error-codes.js';

const tempDir = (): string => mkdtempSync(join(tmpdir(), 'airlock-core-files-'));

describe('atomic writes', () => {
  it('writes with the mode asked for whatever the umask, and leaves no temporary file', async () => {
    const dir = tempDir();
    await writeFileAtomic(join(dir, 'a'), 'one', { mode: 0o666 });
    await writeStreamAtomic(join(dir, 'b'), Readable.from([Buffer.from('two')]), { mode: 0o600 });
    expect(statSync(join(dir, 'a')).mode & 0o777).toBe(0o666);
    expect(statSync(join(dir, 'b')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(['a', 'b']);
  });

  it('replaces an existing file, or with replace: false refuses it and keeps the old bytes', async () => {
    const dir = tempDir();
    const path = join(dir, 'f');
    await writeFileAtomic(path, 'old');
    await writeFileAtomic(path, 'new');
    expect(readFileSync(path, 'utf8')).toBe('new');
    const err = await expectCode(writeFileAtomic(path, 'other', { replace: false }), 'E_IO');
    expect(((err as AirlockError).cause as NodeJS.ErrnoException).code).toBe('EEXIST');
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(readdirSync(dir)).toEqual(['f']);
  });

  it('never writes through a symlink at the final name: the link is replaced, its target untouched', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'target'), 'precious');
    symlinkSync(join(dir, 'target'), join(dir, 'link'));
    await writeFileAtomic(join(dir, 'link'), 'written');
    expect(readFileSync(join(dir, 'target'), 'utf8')).toBe('precious');
    expect(statSync(join(dir, 'link')).isFile()).toBe(true);
  });

  it('a fill that fails leaves neither the file nor a temporary', async () => {
    const dir = tempDir();
    await expectCode(
      viaTemporaryFile(join(dir, 'x'), async (tmp) => {
        writeFileSync(tmp, 'half');
        throw new AirlockError('E_HASH', 'refused what was written');
      }),
      'E_HASH',
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('syncs a directory', async () => {
    await syncDirectory(tempDir());
  });
});

describe('bounded regular-file reads', () => {
  it('reads a regular file up to the cap, and refuses one byte more', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'f'), Buffer.alloc(100, 7));
    const ok = await readRegularFile(join(dir, 'f'), 100);
    expect('bytes' in ok && ok.bytes.length).toBe(100);
    expect(await readRegularFile(join(dir, 'f'), 99)).toEqual({ refused: 'too-large' });
    expect(await readRegularFile(join(dir, 'absent'), 10)).toEqual({ refused: 'absent' });
  });

  it('refuses a symlink (unless the user named it), a FIFO without hanging, a directory and a device', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'f'), 'data');
    symlinkSync(join(dir, 'f'), join(dir, 'link'));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    mkdirSync(join(dir, 'd'));
    symlinkSync('/dev/zero', join(dir, 'zero'));
    expect(await readRegularFile(join(dir, 'link'), 10)).toEqual({ refused: 'symlink' });
    const followed = await readRegularFile(join(dir, 'link'), 10, { followSymlink: true });
    expect('bytes' in followed && Buffer.from(followed.bytes).toString()).toBe('data');
    expect(await readRegularFile(join(dir, 'fifo'), 10)).toEqual({ refused: 'not-regular' });
    expect(await readRegularFile(join(dir, 'd'), 10)).toEqual({ refused: 'not-regular' });
    expect(await readRegularFile(join(dir, 'zero'), 10, { followSymlink: true })).toEqual({ refused: 'not-regular' });
    expect(await readRegularFile('/dev/zero', 10)).toEqual({ refused: 'not-regular' });
  });
});

describe('tree walk', () => {
  it('walks in byte order, reports symlinks without entering them, and prunes', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'b/c'), { recursive: true });
    writeFileSync(join(dir, 'b/c/z'), '');
    writeFileSync(join(dir, 'a'), '');
    writeFileSync(join(dir, 'B'), '');
    mkdirSync(join(dir, '.hidden'));
    writeFileSync(join(dir, '.hidden/secret'), '');
    const outside = tempDir();
    writeFileSync(join(outside, 'o'), '');
    symlinkSync(outside, join(dir, 'b/out'));
    const seen: [string, string][] = [];
    for await (const e of walkTree(dir)) seen.push([e.path, e.kind]);
    expect(seen).toEqual([
      ['.hidden', 'directory'],
      ['B', 'file'],
      ['a', 'file'],
      ['b', 'directory'],
      ['.hidden/secret', 'file'],
      ['b/c', 'directory'],
      ['b/out', 'symlink'],
      ['b/c/z', 'file'],
    ]);
    expect(await listRegularFiles(dir, { prune: (e) => e.name.startsWith('.') })).toEqual(['B', 'a', 'b/c/z']);
  });
});

describe('exitCodeOf', () => {
  it('maps a code or an error to its kind, and anything else to E_INTERNAL (3)', () => {
    expect(exitCodeOf(new AirlockError('E_SIG_THRESHOLD', ''))).toBe(EXIT.refused);
    expect(exitCodeOf('E_USAGE')).toBe(EXIT.usage);
    expect(exitCodeOf(new TypeError('bug'))).toBe(EXIT.environment);
    expect(exitCodeOf('not a code')).toBe(EXIT.environment);
    expect(exitCodeOf(undefined)).toBe(EXIT.environment);
  });
});
