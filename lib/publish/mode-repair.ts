// Finding and repairing what a web server could not read: files of the terminal's tree
// already on the host with other permission bits than the host's file mode, and the
// directories holding them with other bits than its directory mode (a publish made
// under umask 077, a restored backup, a hand copy). Part of every plan, since the host's
// listing carries the modes at no extra cost; only paths airlock publishes are touched.
import { formatMode, type HostModes } from './host-modes.js';
import type { RemoteFile, Transport } from './transport.js';

export interface ModeRepair {
  path: string;
  kind: 'file' | 'dir';
  /** The bits the host holds now. */
  from: string;
  /** The bits it gets. */
  to: string;
}

/** The directories `path` lies in, '' (the root) first. */
function parentsOf(path: string): string[] {
  const parts = path.split('/').slice(0, -1);
  return ['', ...parts.map((_, i) => parts.slice(0, i + 1).join('/'))];
}

/**
 * Repairs for the files of `paths` the host already holds (listed in `remote`, with modes)
 * and for their directories. Uploaded files get their mode when written, so only files
 * the plan skips need a repair; pass every path anyway, the result is the same.
 */
export function planModeRepairs(chmod: boolean, modes: HostModes, paths: string[], remote: Map<string, RemoteFile>, directories: readonly { path: string; mode: number }[] | undefined): ModeRepair[] {
  const repairs: ModeRepair[] = [];
  if (!chmod) return repairs; // a host without permission bits (S3)
  const dirs = new Set<string>();
  for (const path of paths) {
    for (const d of parentsOf(path)) dirs.add(d);
    const mode = remote.get(path)?.mode;
    if (mode !== undefined && mode !== modes.file) repairs.push({ path, kind: 'file', from: formatMode(mode), to: formatMode(modes.file) });
  }
  if (directories !== undefined) {
    const dirRepairs: ModeRepair[] = [];
    for (const d of directories) {
      if (dirs.has(d.path) && d.mode !== modes.dir) dirRepairs.push({ path: d.path, kind: 'dir', from: formatMode(d.mode), to: formatMode(modes.dir) });
    }
    // Directories first, top down: a file in an unreadable directory is unreadable anyway.
    dirRepairs.sort((a, b) => a.path.split('/').length - b.path.split('/').length || (a.path < b.path ? -1 : 1));
    repairs.unshift(...dirRepairs);
  }
  return repairs;
}

/** Performs the repairs in order. */
export async function applyModeRepairs(transport: Transport, repairs: readonly ModeRepair[]): Promise<void> {
  for (const r of repairs) await transport.chmod!(r.path, Number.parseInt(r.to, 8));
}
