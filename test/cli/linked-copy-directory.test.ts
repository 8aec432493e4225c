// A directory deeper in the terminal's copy replaced by a symlink to a real directory
// elsewhere holding plausible files (security review): `targets/<project>/` or
// `releases/<project>/` linked out. O_NOFOLLOW guards a path's last component only, so
// files under such a link would be read (and listed, and published) from wherever it
// points. Built CLI: status, release and publish --dry-run refuse with
// E_REPOSITORY_DAMAGED (exit 3) before a build, a passphrase (fd 3 is named but not
// open) or a write; the terminal home and the host are left as they were.
import { createHash } from 'node:crypto';
import { cp, readdir, readFile, readlink, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walkTree } from '../../lib/core/file-tree.js';
import { initCliTerminal, type CliTerminal } from '../support/cli-terminal.js';
import { archiveOf, writeArchive } from '../support/import-archive.js';

let t: CliTerminal;

/** Every file of `dir` by its SHA-256, every symlink by its target: nothing below it followed. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of walkTree(dir)) {
    if (e.kind === 'file') out[e.path] = createHash('sha256').update(await readFile(e.abs)).digest('hex');
    else if (e.kind !== 'directory') out[e.path] = `${e.kind} ${await readlink(e.abs).catch(() => '')}`;
  }
  return out;
}
const SLOW = 180_000;

beforeAll(async () => {
  t = await initCliTerminal('Linked');
  const archive = join(t.work, 'archive');
  await writeArchive(archive, archiveOf(2, 2, 2));
  const imported = t.airlock(['import', archive, '--json', '--passphrase-fd', '3'], { 3: t.passFile });
  expect(imported.status, imported.stderr).toBe(0);
}, SLOW);

afterAll(async () => {
  if (t) await rm(t.work, { recursive: true, force: true });
});

describe('a directory of the copy linked elsewhere', () => {
  for (const where of ['targets/proj0', 'releases/proj1']) {
    it(`(${where}) is refused as damage by status, release and publish --dry-run, and nothing is written`, async () => {
      const dir = join(t.paths.repository, ...where.split('/'));
      expect((await readdir(dir)).length).toBeGreaterThan(0);
      // Elsewhere: the very files the copy held there, so every read through it would pass.
      const outside = join(t.work, `outside-${where.replace('/', '-')}`);
      await cp(dir, outside, { recursive: true });
      await rm(dir, { recursive: true });
      await symlink(outside, dir);
      const host = join(t.work, 'host');
      try {
        const before = await tree(t.paths.home);
        const runs = [
          ['status', '--json'],
          ['publish', '--dry-run', '--to', host, '--json', '--passphrase-fd', '3'],
          ['release', '--source', join(t.work, 'no-source'), '--branch', 'release/9.0.0', '--commit', 'a'.repeat(40), '--to', host, '--json', '--passphrase-fd', '3'],
        ];
        for (const args of runs) {
          const r = t.airlock(args);
          // publish reports each host's failure in its result (--json: hosts[].error).
          const code = r.code ?? (r.json as { hosts?: { error?: { code?: string } }[] } | undefined)?.hosts?.[0]?.error?.code;
          expect(code, `${args[0]}: ${r.stderr}`).toBe('E_REPOSITORY_DAMAGED');
          expect(r.status).toBe(3);
          expect(`${r.stdout}${r.stderr}`).toContain(dir);
        }
        expect(await tree(t.paths.home)).toEqual(before);
        await expect(readdir(host)).rejects.toThrow();
      } finally {
        await rm(dir);
        await rename(outside, dir);
      }
      const fine = t.airlock(['status', '--json']);
      expect(fine.status, fine.stderr).toBe(0);
    }, SLOW);
  }
});

describe('a file of the copy linked elsewhere, deeper than any directory check', () => {
  it('is refused by a real publish (E_REPOSITORY_DAMAGED) before a byte of it leaves, even a link to the very bytes', async () => {
    let file: string | undefined;
    for await (const e of walkTree(join(t.paths.repository, 'targets', 'proj0'))) if (e.kind === 'file') file = e.abs;
    expect(file).toBeDefined();
    const outside = join(t.work, 'outside-file');
    await cp(file!, outside);
    await rm(file!);
    await symlink(outside, file!);
    const host = join(t.work, 'host-linked-file');
    try {
      const r = t.airlock(['publish', '--to', host, '--json', '--passphrase-fd', '3']);
      const code = r.code ?? (r.json as { hosts?: { error?: { code?: string } }[] } | undefined)?.hosts?.[0]?.error?.code;
      expect(code, r.stderr).toBe('E_REPOSITORY_DAMAGED');
      expect(r.status).toBe(3);
      expect(`${r.stdout}${r.stderr}`).toContain(file!);
      // Nothing of it on the host, under its name or a temporary one.
      const held = await tree(host).catch(() => ({}));
      const name = file!.split('/').at(-1)!;
      expect(Object.keys(held).filter((p) => p.includes(name))).toEqual([]);
    } finally {
      await rm(file!);
      await rename(outside, file!);
    }
  }, SLOW);
});

