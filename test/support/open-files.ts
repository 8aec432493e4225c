// File descriptors this process holds open on files under a directory (Linux /proc):
// what tests count to show a reader closed every file it opened.
import { readdirSync, readlinkSync } from 'node:fs';

export function openFilesUnder(dir: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${dir}/`)) n++;
    } catch {
      // closed since the listing (readdir's own descriptor)
    }
  }
  return n;
}
