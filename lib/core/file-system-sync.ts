// syncfs(2) for a batch of writes (lib/repo commits, directory hosts). Its own module so
// that the verifier bundle, which imports atomic-file.ts, does not load child_process.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * syncfs(2) — every dirty page and directory entry of the file system holding `path`, in
 * one call — through coreutils `sync --file-system` (node has no binding for it): what
 * makes a large batch of files durable at the cost of one flush instead of one per file
 * and directory. False when it cannot run: the caller flushes file by file instead.
 * Costly on a busy file system (it writes back everyone's dirty pages), so callers use it
 * past a count of files, not for a handful.
 */
export async function syncFileSystem(path: string): Promise<boolean> {
  try {
    await execFileAsync('sync', ['--file-system', '--', path], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeout: 120_000 });
    return true;
  } catch {
    return false;
  }
}
