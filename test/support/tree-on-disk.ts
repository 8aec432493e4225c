// A tree as it is on disk, never read through a link: each regular file's SHA-256, each
// symlink's target, anything else by its kind. For asserting that a refusal left a tree
// holding a planted symlink (to /dev/zero, say) or a FIFO unchanged, where reading
// through it would hang.
import { createHash } from 'node:crypto';
import { readFile, readlink } from 'node:fs/promises';
import { walkTree } from '../../lib/core/file-tree.js';

export async function treeOnDisk(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of walkTree(dir)) {
    if (e.kind === 'file') out[e.path] = createHash('sha256').update(await readFile(e.abs)).digest('hex');
    else if (e.kind === 'symlink') out[e.path] = `-> ${await readlink(e.abs)}`;
    else if (e.kind === 'other') out[e.path] = 'other';
  }
  return out;
}
