// One temporary directory per test file, removed after it, and a fresh subdirectory of it
// per call: tests that need many small trees (a local copy, a host, a mirror) share no state.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

export function scratchDirs(prefix: string): { root: () => string; fresh: (name: string) => Promise<string> } {
  let work = '';
  let n = 0;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });
  return {
    root: () => work,
    fresh: async (name) => {
      const d = join(work, `${name}-${n++}`);
      await mkdir(d, { recursive: true });
      return d;
    },
  };
}
