// Walking a directory tree without following symlinks: each entry is lstat'ed, a
// symlink is reported as one (never entered, never read through), and names come in
// byte order so every walk of the same tree is the same. Used to list a repository
// copy, a directory host and a checkout.
import type { Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface TreeEntry {
  /** Relative to the walked root, with `/` separators. */
  path: string;
  /** The file system path. */
  abs: string;
  name: string;
  kind: 'file' | 'directory' | 'symlink' | 'other';
  /** lstat of the entry: the link itself for a symlink. */
  stats: Stats;
}

export interface WalkOptions {
  /** An entry for which this is true is not reported and, if a directory, not entered. */
  prune?: (entry: TreeEntry) => boolean;
}

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

function kindOf(st: Stats): TreeEntry['kind'] {
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  return 'other';
}

/** Every entry under `root` (not `root` itself): a directory's entries, then each subdirectory's. Errors are thrown as is. */
export async function* walkTree(root: string, options: WalkOptions = {}): AsyncGenerator<TreeEntry> {
  const stack: { abs: string; path: string }[] = [{ abs: root, path: '' }];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    const names = (await readdir(dir.abs)).sort(byteOrder);
    const subdirs: { abs: string; path: string }[] = [];
    for (const name of names) {
      const abs = join(dir.abs, name);
      const stats = await lstat(abs);
      const entry: TreeEntry = { path: dir.path === '' ? name : `${dir.path}/${name}`, abs, name, kind: kindOf(stats), stats };
      if (options.prune?.(entry)) continue;
      yield entry;
      if (entry.kind === 'directory') subdirs.push({ abs, path: entry.path });
    }
    // Directory by directory, in byte order: the stack pops the first subdirectory first.
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]!);
  }
}

/** Relative paths of every regular file under `root`, in walk order. */
export async function listRegularFiles(root: string, options: WalkOptions = {}): Promise<string[]> {
  const out: string[] = [];
  for await (const e of walkTree(root, options)) if (e.kind === 'file') out.push(e.path);
  return out;
}
