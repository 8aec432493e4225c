// The mismatch report inside archives: which entry differs and in which field (name,
// mode, owner, mtime, size, content digest), for tarballs and for Debian packages built
// by dpkg-deb; compression-only and order-only differences told apart; damaged archives
// and missing decompressors reported without failing the byte comparison; diffoscope
// run when it is installed.
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArMembers } from '../../lib/reproduce/ar.js';
import { archiveKindOf, compareArtifact, findDiffoscope, listArchive, runDiffoscope } from '../../lib/reproduce/index.js';
import { buildDeb, EPOCH, writeAr, writeTar, type TarEntrySpec } from '../support/reproduce-archives.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-archive-diff-'));
  await mkdir(join(dir, 'published'));
  await mkdir(join(dir, 'rebuilt'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base: TarEntrySpec[] = [
  { name: 'p/', type: 'directory' },
  { name: 'p/README', content: 'read me\n' },
  { name: 'p/bin.sh', content: '#!/bin/sh\n', mode: 0o755 },
  { name: 'p/link', type: 'symlink', linkname: 'README' },
];

async function pair(name: string, published: TarEntrySpec[], rebuilt: TarEntrySpec[], level: [number | null, number | null] = [9, 9]): Promise<[string, string]> {
  const a = join(dir, 'published', name);
  const b = join(dir, 'rebuilt', name);
  await writeTar(a, published, level[0]);
  await writeTar(b, rebuilt, level[1]);
  return [a, b];
}

describe('archive kinds', () => {
  it('are told by the file name', () => {
    expect(archiveKindOf('x-1.0.tar.gz')).toEqual({ format: 'tar', compression: 'gzip' });
    expect(archiveKindOf('x.tgz')).toEqual({ format: 'tar', compression: 'gzip' });
    expect(archiveKindOf('x.tar')).toEqual({ format: 'tar', compression: 'none' });
    expect(archiveKindOf('x.tar.xz')).toEqual({ format: 'tar', compression: 'xz' });
    expect(archiveKindOf('x_1.0_all.deb')).toEqual({ format: 'deb', compression: 'none' });
    expect(archiveKindOf('x.txt')).toBeUndefined();
  });
});

describe('tarballs, entry by entry', () => {
  it('names the entry whose content, mode, owner or mtime changed, and entries only one side has', async () => {
    const changed: TarEntrySpec[] = [
      { name: 'p/', type: 'directory' },
      { name: 'p/README', content: 'read me, changed\n' },
      { name: 'p/bin.sh', content: '#!/bin/sh\n', mode: 0o644, uid: 1000, gid: 1000, uname: 'alice', gname: 'staff', mtime: EPOCH + 60 },
      { name: 'p/link', type: 'symlink', linkname: 'bin.sh' },
      { name: 'p/extra', content: 'new\n' },
    ];
    const [a, b] = await pair('changed.tar.gz', base, changed);
    const r = await compareArtifact('changed.tar.gz', a, b);
    expect(r.status).toBe('different');
    const by = Object.fromEntries(r.archive!.differences.map((d) => [d.entry, d]));
    expect(Object.keys(by).sort()).toEqual(['p/README', 'p/bin.sh', 'p/extra', 'p/link']);
    expect(by['p/README']!.fields.map((f) => f.field)).toEqual(['size', 'digest']);
    expect(by['p/bin.sh']!.fields).toEqual([
      { field: 'mode', published: '0755', rebuilt: '0644' },
      { field: 'owner', published: '0/0', rebuilt: '1000/1000 alice/staff' },
      { field: 'mtime', published: EPOCH, rebuilt: EPOCH + 60 },
    ]);
    expect(by['p/link']!.fields).toEqual([{ field: 'link', published: 'README', rebuilt: 'bin.sh' }]);
    expect(by['p/extra']).toEqual({ entry: 'p/extra', change: 'only-rebuilt', fields: [] });
    expect(r.archive!.entries).toBe(4);
    expect(r.archive!.uncompressedIdentical).toBe(false);
  });

  it('says when only the compression differs', async () => {
    const [a, b] = await pair('level.tar.gz', base, base, [1, 9]);
    const r = await compareArtifact('level.tar.gz', a, b);
    expect(r.status).toBe('different');
    expect(r.archive!.differences).toEqual([]);
    expect(r.archive!.uncompressedIdentical).toBe(true);
    expect(r.note).toMatch(/only the compression differs/);
  });

  it('says when only the order of entries differs', async () => {
    const [a, b] = await pair('order.tar', base, [base[0]!, base[2]!, base[1]!, base[3]!], [null, null]);
    const r = await compareArtifact('order.tar', a, b);
    expect(r.status).toBe('different');
    expect(r.archive!.differences).toEqual([]);
    expect(r.archive!.orderDiffers).toBe(true);
  });

  it('compares a name that occurs twice occurrence by occurrence', async () => {
    const twice = [...base, { name: 'p/README', content: 'second\n' }];
    const twiceChanged = [...base, { name: 'p/README', content: 'second, changed\n' }];
    const [a, b] = await pair('twice.tar', twice, twiceChanged, [null, null]);
    const r = await compareArtifact('twice.tar', a, b);
    expect(r.archive!.differences.map((d) => d.entry)).toEqual(['p/README #2']);
  });

  it('reports identical files as identical without opening them, and a file the rebuild lacks as missing', async () => {
    const [a] = await pair('same.tar.gz', base, base);
    expect((await compareArtifact('same.tar.gz', a, a)).status).toBe('identical');
    const missing = await compareArtifact('same.tar.gz', a, undefined);
    expect(missing.status).toBe('missing');
    expect(missing.rebuilt).toBeNull();
  });

  it('still compares the bytes of a damaged archive, and says why it could not look inside', async () => {
    const [a, b] = await pair('damaged.tar.gz', base, base);
    await truncate(a, 40);
    const r = await compareArtifact('damaged.tar.gz', a, b);
    expect(r.status).toBe('different');
    expect(r.archive).toBeUndefined();
    expect(r.archiveError).toBeTruthy();
  });

  it('compares plain files by bytes only', async () => {
    const a = join(dir, 'a.txt');
    const b = join(dir, 'b.txt');
    await writeFile(a, 'one\n');
    await writeFile(b, 'two\n');
    const r = await compareArtifact('notes.txt', a, b);
    expect(r.status).toBe('different');
    expect(r.archive).toBeUndefined();
    expect(r.published.sha256).not.toBe(r.rebuilt!.sha256);
  });
});

describe('Debian packages (dpkg-deb), member by member and entry by entry', () => {
  let one: string;
  let other: string;
  beforeAll(async () => {
    one = join(dir, 'debs', 'one', 'hello_1.0.0_all.deb');
    other = join(dir, 'debs', 'other', 'hello_1.0.0_all.deb');
    await buildDeb(one, { hello: '#!/bin/sh\necho hello\n' });
    await buildDeb(other, { hello: '#!/bin/sh\necho hello\n', helloMtime: EPOCH - 3600 });
  });

  it('lists ar members and the tar entries inside them', async () => {
    const listing = await listArchive(one, { format: 'deb', compression: 'none' });
    const names = listing.entries.map((e) => e.name);
    expect(names.filter((n) => !n.includes(':'))).toEqual(['debian-binary', 'control.tar.gz', 'data.tar.gz']);
    expect(names).toContain('control.tar.gz:./control');
    expect(names).toContain('data.tar.gz:./usr/bin/hello');
    const hello = listing.entries.find((e) => e.name === 'data.tar.gz:./usr/bin/hello')!;
    expect(hello).toMatchObject({ type: 'file', mode: '0755', mtime: EPOCH, size: 21 });
    expect(hello.owner.startsWith('0/0')).toBe(true);
    expect(listing.unreadable).toEqual([]);
  });

  it('names the re-timed file inside data.tar.gz', async () => {
    const r = await compareArtifact('hello_1.0.0_all.deb', one, other);
    expect(r.status).toBe('different');
    const by = Object.fromEntries(r.archive!.differences.map((d) => [d.entry, d]));
    expect(by['data.tar.gz:./usr/bin/hello']!.fields).toEqual([{ field: 'mtime', published: EPOCH, rebuilt: EPOCH - 3600 }]);
    // The member holding it differs too; the control member does not.
    expect(by['data.tar.gz']!.fields.map((f) => f.field)).toContain('digest');
    expect(by['control.tar.gz']).toBeUndefined();
  });

  it('reads xz members with the xz tool, and reports them unreadable (bytes still compared) when it is missing', async () => {
    const xz = join(dir, 'debs', 'xz', 'hello_1.0.0_all.deb');
    await buildDeb(xz, { hello: '#!/bin/sh\necho hello\n', compression: 'xz' });
    const listing = await listArchive(xz, { format: 'deb', compression: 'none' });
    expect(listing.entries.map((e) => e.name)).toContain('data.tar.xz:./usr/bin/hello');
    const path = process.env.PATH;
    try {
      process.env.PATH = '/nonexistent';
      const without = await listArchive(xz, { format: 'deb', compression: 'none' });
      expect(without.unreadable.map((u) => u.member)).toEqual(['control.tar.xz', 'data.tar.xz']);
      expect(without.entries.map((e) => e.name)).toContain('data.tar.xz');
    } finally {
      process.env.PATH = path;
    }
  });

  it('runs diffoscope on a differing pair when it is installed, and finds none on an empty PATH', async () => {
    expect(findDiffoscope('')).toBeUndefined();
    expect(findDiffoscope('/nonexistent:relative/dir')).toBeUndefined();
    const program = findDiffoscope();
    if (!program) return;
    const out = join(dir, 'diffoscope', 'hello.txt');
    const r = await runDiffoscope(program, one, other, out);
    expect(r).toEqual({ output: out, exitCode: 1 });
    expect(await readFile(out, 'utf8')).toContain('usr/bin/hello');
  });
});

describe('ar archives (binutils ar)', () => {
  it('reads member names, long GNU names included, and data offsets', async () => {
    const short = join(dir, 'short.txt');
    const long = join(dir, 'a-member-name-longer-than-sixteen.txt');
    await writeFile(short, 'odd');
    await writeFile(long, 'even\n');
    const path = join(dir, 'test.a');
    writeAr(path, [short, long]);
    const members = await readArMembers(path);
    expect(members.map((m) => [m.name, m.size, m.uid, m.mtime])).toEqual([
      ['short.txt', 3, 0, 0],
      ['a-member-name-longer-than-sixteen.txt', 5, 0, 0],
    ]);
    const bytes = await readFile(path);
    expect(bytes.subarray(members[1]!.offset, members[1]!.offset + 5).toString()).toBe('even\n');
  });

  it('refuses a file that is not an ar archive', async () => {
    const path = join(dir, 'not.deb');
    await writeFile(path, 'plain text, not an archive\n');
    await expect(readArMembers(path)).rejects.toMatchObject({ code: 'E_ARCHIVE' });
  });
});
