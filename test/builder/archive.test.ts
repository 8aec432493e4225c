import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, chmodSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDeterministicTarGz } from '../../lib/builder/archive.js';
import { codeOf as code } from '../support/error-codes.js';

const work = mkdtempSync(join(tmpdir(), 'airlock-archive-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const EPOCH = 1_700_000_000;
let n = 0;

function tree(files: Record<string, string | { mode: number; content?: string } | { link: string } | { dir: true }>): string {
  const root = join(work, `tree-${n++}`);
  mkdirSync(root);
  for (const [rel, f] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    if (typeof f === 'string') writeFileSync(p, f);
    else if ('link' in f) symlinkSync(f.link, p);
    else if ('dir' in f) mkdirSync(p, { recursive: true });
    else {
      writeFileSync(p, f.content ?? '');
      chmodSync(p, f.mode);
    }
  }
  return root;
}

interface Header {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  mtime: number;
  linkname: string | null;
  body: string;
}

async function entries(file: string): Promise<Header[]> {
  const out: Header[] = [];
  const ex = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => { chunks.push(c as Buffer); });
      stream.on('end', () => {
        out.push({
          name: h.name,
          type: h.type ?? '',
          mode: h.mode ?? -1,
          uid: h.uid ?? -1,
          gid: h.gid ?? -1,
          uname: h.uname ?? '',
          gname: h.gname ?? '',
          mtime: (h.mtime?.getTime() ?? 0) / 1000,
          linkname: h.linkname ?? null,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        next();
      });
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(gunzipSync(readFileSync(file)));
  await done;
  return out;
}

async function archive(root: string, opts: { prefix?: string; exclude?: string[]; boundary?: string } = {}): Promise<string> {
  const out = join(work, `out-${n++}.tar.gz`);
  await writeDeterministicTarGz({ root, prefix: opts.prefix ?? 'p-1/', exclude: opts.exclude ?? [], mtime: EPOCH, boundary: opts.boundary }, out);
  return out;
}

describe('deterministic tar.gz', () => {
  it('sorts entries by name, depth first, with normalised owners, modes and mtimes', async () => {
    const root = tree({
      'b.txt': 'b',
      'a/z.txt': 'z',
      'a/B.txt': 'B',
      'A.txt': 'A',
      'run.sh': { mode: 0o700, content: '#!/bin/sh\n' },
      'group-exec': { mode: 0o610, content: 'x' },
      'secret': { mode: 0o600, content: 's' },
      'link': { link: 'a/z.txt' },
      'empty': { dir: true },
      'out/skip.txt': 'skip',
      '.git/config': 'never',
    });
    utimesSync(join(root, 'b.txt'), 12345, 12345);
    const file = await archive(root, { exclude: ['out'] });
    const es = await entries(file);
    expect(es.map((e) => e.name)).toEqual(['p-1/', 'p-1/A.txt', 'p-1/a/', 'p-1/a/B.txt', 'p-1/a/z.txt', 'p-1/b.txt', 'p-1/empty/', 'p-1/group-exec', 'p-1/link', 'p-1/run.sh', 'p-1/secret']);
    for (const e of es) {
      expect([e.uid, e.gid, e.uname, e.gname, e.mtime]).toEqual([0, 0, '', '', EPOCH]);
    }
    const mode = (name: string) => es.find((e) => e.name === `p-1/${name}`)!.mode;
    expect(mode('a/')).toBe(0o755);
    expect(mode('A.txt')).toBe(0o644);
    expect(mode('run.sh')).toBe(0o755);
    expect(mode('group-exec')).toBe(0o755);
    expect(mode('secret')).toBe(0o644);
    const link = es.find((e) => e.name === 'p-1/link')!;
    expect([link.type, link.linkname]).toEqual(['symlink', 'a/z.txt']);
    expect(es.find((e) => e.name === 'p-1/a/z.txt')!.body).toBe('z');
  });

  it('has a fixed gzip header: no timestamp, no name, OS unix', async () => {
    const bytes = readFileSync(await archive(tree({ 'x.txt': 'x' })));
    // ID1 ID2 CM=deflate FLG=0 (no FNAME/FCOMMENT/FEXTRA) MTIME=0 XFL=2 (max compression) OS=3
    expect([...bytes.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]);
  });

  it('gives the same bytes for the same tree whatever the file modes, times and owners on disk', async () => {
    const a = tree({ 'f.txt': { mode: 0o600, content: 'same' }, 'd/g.sh': { mode: 0o744, content: 'g' } });
    const b = tree({ 'f.txt': { mode: 0o664, content: 'same' }, 'd/g.sh': { mode: 0o755, content: 'g' } });
    utimesSync(join(b, 'f.txt'), 1, 1);
    execFileSync('chown', ['-R', '12345:54321', b]);
    expect(readFileSync(await archive(a))).toEqual(readFileSync(await archive(b)));
  });

  it('is read by GNU tar with numeric owners 0/0', async () => {
    const file = await archive(tree({ [`${'long/'.repeat(30)}name.txt`]: 'deep', 'x': 'x' }));
    const listing = execFileSync('tar', ['--numeric-owner', '-tvzf', file], { encoding: 'utf8', env: { PATH: process.env.PATH, TZ: 'UTC' } });
    expect(listing).toContain('0/0');
    expect(listing).toContain('2023-11-14 22:13');
    expect(listing).toContain(`p-1/${'long/'.repeat(30)}name.txt`);
  });

  it('refuses a symlink whose target leaves the tree', async () => {
    expect(await code(archive(tree({ 'x': 'x', 'abs': { link: '/etc/passwd' } })))).toBe('E_ARCHIVE');
    expect(await code(archive(tree({ 'x': 'x', 'd/up': { link: '../../outside' } })))).toBe('E_ARCHIVE');
    // In the tree by its text, out of it through another link: a/b/l -> s/../.. with s -> ../../top.
    expect(await code(archive(tree({ 'top/f': 'f', 'a/b/s': { link: '../../top' }, 'a/b/l': { link: 's/../..' } })))).toBe('E_ARCHIVE');
    // Links inside the tree, dangling or not, are kept.
    expect(await code(archive(tree({ 'top/f': 'f', 'a/b/ok': { link: '../../top/f' }, 'dangling': { link: 'nowhere' } })))).toBe('ok');
  });

  it('refuses devices, sockets and FIFOs, and a root outside its boundary', async () => {
    const root = tree({ 'x': 'x' });
    execFileSync('mkfifo', [join(root, 'fifo')]);
    expect(await code(archive(root))).toBe('E_ARCHIVE');
    const outside = tree({ 'y': 'y' });
    const boundary = tree({ 'escape': { link: outside } });
    expect(await code(archive(join(boundary, 'escape'), { boundary }))).toBe('E_ARCHIVE');
  });

  it('leaves no partial output when refused', async () => {
    const root = tree({ 'a': 'a', 'z': { link: '/etc' } });
    const out = join(work, 'refused.tar.gz');
    expect(await code(writeDeterministicTarGz({ root, prefix: '', exclude: [], mtime: EPOCH }, out))).toBe('E_ARCHIVE');
    expect(execFileSync('ls', ['-A', work], { encoding: 'utf8' })).not.toMatch(/refused/);
  });
});

// `airlock reproduce` rebuilds an old release with today's airlock: the archive's bytes
// for a given tree may never change. The digest below is what airlock wrote before the
// archive was sped up (writes gathered before gzip, small files read whole); a tree with
// files on both sides of the whole-read size, empty and odd-sized files, a pax long
// name, a link and an executable. (It also pins node's zlib: a Node whose deflate
// writes other bytes would break reproducing on it, and this says so.)
describe('the archive bytes', () => {
  function bytes(seed: string, size: number): Buffer {
    const out = Buffer.alloc(size);
    for (let i = 0, o = 0; o < size; i++, o += 32) createHash('sha256').update(`${seed}:${i}`).digest().copy(out, o);
    return out;
  }

  it('are the same as before for the same tree', async () => {
    const root = join(work, `golden-${n++}`);
    mkdirSync(join(root, 'src', 'deep'), { recursive: true });
    for (const [name, size] of [['empty', 0], ['h511', 511], ['h513', 513], ['m1', (1 << 20) + 3], ['big.bin', (9 << 20) + 1]] as const) writeFileSync(join(root, name), bytes(name, size));
    for (let i = 0; i < 200; i++) writeFileSync(join(root, 'src', `f${String(i).padStart(3, '0')}.txt`), `line ${i}\n`.repeat(i));
    writeFileSync(join(root, 'src', 'deep', `${'n'.repeat(140)}.txt`), 'long name');
    writeFileSync(join(root, 'run.sh'), '#!/bin/sh\n');
    chmodSync(join(root, 'run.sh'), 0o755);
    symlinkSync('run.sh', join(root, 'link'));
    const out = join(work, `golden-${n++}.tar.gz`);
    await writeDeterministicTarGz({ root, prefix: 'golden-1/', exclude: [], mtime: EPOCH }, out);
    expect(createHash('sha256').update(readFileSync(out)).digest('hex')).toBe('ff852335e71c1b099056a648fc3364c2f1d8df7ff94f1a6ecbebc5b33f2e6011');
  });
});
