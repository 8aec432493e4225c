import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LineSorter, SpillDir } from '../../lib/publish/line-spill.js';

// The external sort's merge: in order, whatever the number of runs, with at most the
// fan-in of spilled runs open at once (a plan at millions of paths makes hundreds).

/** `n` lines in a scrambled order, some repeated. */
function scrambled(n: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(`"p/${(i * 7919) % 613}"\t${i % 5}`);
  return lines;
}

async function sortAll(dir: SpillDir, lines: readonly string[]): Promise<string[]> {
  const sorter = new LineSorter(dir);
  for (const line of lines) await sorter.add(line);
  const out: string[] = [];
  for await (const line of sorter.sorted()) out.push(line);
  return out;
}

describe('LineSorter', () => {
  it('merges many runs in order, never reading more than the fan-in at once', async () => {
    // 250 runs of 4 lines, fan-in 3: merged in passes, merged runs merged again (250 > 3²).
    const lines = scrambled(1000);
    const dir = new SpillDir(undefined, 4, 3);
    try {
      expect(await sortAll(dir, lines)).toEqual([...lines].sort());
      expect(dir.reading.max).toBe(3);
      expect(dir.reading.now).toBe(0);
    } finally {
      await dir.remove();
    }
  });

  it('merges a few runs at once, and sorts a short list in memory', async () => {
    const lines = scrambled(40);
    const few = new SpillDir(undefined, 8, 16);
    const short = new SpillDir(undefined, 64, 16);
    try {
      expect(await sortAll(few, lines)).toEqual([...lines].sort());
      expect(few.reading.max).toBe(5);
      expect(await sortAll(short, lines)).toEqual([...lines].sort());
      expect([short.used, short.reading.max]).toEqual([false, 0]);
    } finally {
      await few.remove();
      await short.remove();
    }
  });

  it('closes every run when the reader stops early', async () => {
    const dir = new SpillDir(undefined, 4, 3);
    try {
      const sorter = new LineSorter(dir);
      for (const line of scrambled(100)) await sorter.add(line);
      let seen = 0;
      for await (const _ of sorter.sorted()) if (++seen === 10) break;
      expect(dir.reading.now).toBe(0);
    } finally {
      await dir.remove();
    }
  });

  it('is read once: a second read would find its merged runs dropped', async () => {
    const dir = new SpillDir(undefined, 4, 3);
    try {
      const sorter = new LineSorter(dir);
      for (const line of scrambled(40)) await sorter.add(line);
      let n = 0;
      for await (const _ of sorter.sorted()) n += _.length > 0 ? 1 : 0;
      expect(n).toBe(40);
      // A programming error (no code), not a silently empty list.
      await expect(sorter.sorted().next()).rejects.toThrow(Error);
    } finally {
      await dir.remove();
    }
  });
});

describe('SpillDir', () => {
  it('sweeps the spill directories of plans whose process is gone, and nothing else', async () => {
    const saved = process.env.TMPDIR;
    const tmp = await mkdtemp(join(tmpdir(), 'airlock-spill-sweep-'));
    // A pid no process has: a child that has exited (a reuse within the test only keeps its directory).
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    const dirs = {
      gone: join(tmp, `airlock-plan-${gone}-abc123`),
      mine: join(tmp, `airlock-plan-${process.pid}-def456`),
      init: join(tmp, 'airlock-plan-1-ghi789'),
      other: join(tmp, 'not-airlock-plan-7-x'),
    };
    for (const d of Object.values(dirs)) {
      await mkdir(d);
      await writeFile(join(d, '0'), 'spilled lines\n');
    }
    // A symlink under a spill name, to a directory of someone's: removed, it would take nothing; followed, everything.
    const kept = join(tmp, 'kept');
    await mkdir(kept);
    await writeFile(join(kept, 'file'), 'keep me\n');
    await symlink(kept, join(tmp, `airlock-plan-${gone}-link`));
    process.env.TMPDIR = tmp;
    const spill = new SpillDir(undefined, 4, 3);
    try {
      await sortAll(spill, scrambled(40));
      expect(spill.used).toBe(true);
      const left = await readdir(tmp);
      expect(left).not.toContain(basename(dirs.gone));
      for (const d of [dirs.mine, dirs.init, dirs.other]) expect(left).toContain(basename(d));
      expect(left).toContain(`airlock-plan-${gone}-link`);
      expect(await readFile(join(kept, 'file'), 'utf8')).toBe('keep me\n');
      // This plan's own directory carries its pid, so a later plan can tell it from an abandoned one.
      expect(left.filter((n) => n.startsWith(`airlock-plan-${process.pid}-`))).toHaveLength(2);
    } finally {
      process.env.TMPDIR = saved;
      if (saved === undefined) delete process.env.TMPDIR;
      await spill.remove();
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
