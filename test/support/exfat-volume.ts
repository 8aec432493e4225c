// A real exFAT volume for tests of file systems without hard links (a USB stick): an
// image made by mkfs.exfat, attached to a loop device and mounted through exfat-fuse (the
// kernel here has no exfat or vfat module). Needs root, /dev/fuse and a free loop device,
// which CI's machine has; the packages are in scripts/test-deps/verify.txt.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ExfatVolume {
  /** The mounted volume's root. */
  dir: string;
  remove(): void;
}

export function mountExfat(sizeMiB = 32): ExfatVolume {
  const work = mkdtempSync(join(tmpdir(), 'airlock-exfat-'));
  const image = join(work, 'volume.img');
  const dir = join(work, 'mnt');
  mkdirSync(dir);
  execFileSync('truncate', ['-s', `${sizeMiB}M`, image]);
  execFileSync('mkfs.exfat', [image], { stdio: 'ignore' });
  const loop = execFileSync('losetup', ['--find', '--show', image], { encoding: 'utf8' }).trim();
  try {
    execFileSync('mount.exfat-fuse', [loop, dir], { stdio: 'ignore' });
  } catch (err) {
    execFileSync('losetup', ['-d', loop]);
    throw err;
  }
  return {
    dir,
    remove() {
      execFileSync('umount', [dir]);
      execFileSync('losetup', ['-d', loop]);
      rmSync(work, { recursive: true, force: true });
    },
  };
}
