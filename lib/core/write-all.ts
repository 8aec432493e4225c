// Writing a buffer to a file in pieces of at most 256 KiB. Measured on this project's
// 2-core VM (Linux 6.18, ext4): 1 GiB written with buffered writes of 512 KiB or more
// cost 0.9–2.1 s of system time, bimodal from run to run; with 256 KiB writes 0.25–0.8 s,
// as cheap as `cp`'s copy_file_range (airlock-verify's 1 GiB download, 8 alternating
// pairs: 1.36–2.12 s of system time before, 0.37–0.79 s after). The likely cause: from
// 512 KiB a write lets the page cache take large folios, i.e. free blocks of high order,
// and this VM reports free high-order blocks to its host (virtio_balloon free-page
// reporting, order 9), so each must fault back in. On bare metal the extra calls cost
// microseconds.
import { writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/** The largest single write(2): below the size at which the page cache takes large folios. */
export const WRITE_PIECE_BYTES = 256 * 1024;

/**
 * Writes all of `bytes` at `position`, or at the file's current position when it is
 * omitted. A short write (a full disk may first give one, and only the next write the
 * error) continues where it stopped instead of leaving a hole or a truncated file.
 */
export async function writeAll(out: FileHandle, bytes: Uint8Array, position?: number): Promise<void> {
  for (let written = 0; written < bytes.byteLength; ) {
    const piece = Math.min(WRITE_PIECE_BYTES, bytes.byteLength - written);
    written += (await out.write(bytes, written, piece, position === undefined ? null : position + written)).bytesWritten;
  }
}

/**
 * `writeAll` on this thread, at the file's position: for a caller whose other work on the
 * same bytes runs on workers (a verified download hashes them there). Each thread-pool
 * write costs a hand-off and a wake-up (55–85 µs each here, 0.2–0.35 s for 1 GiB in
 * 256 KiB writes) that a write(2) made here does not. `write` is fs.writeSync but in tests.
 */
export function writeAllSync(fd: number, bytes: Uint8Array, write: (fd: number, bytes: Uint8Array, offset: number, length: number) => number = writeSync): void {
  for (let written = 0; written < bytes.byteLength; ) {
    written += write(fd, bytes, written, Math.min(WRITE_PIECE_BYTES, bytes.byteLength - written));
  }
}
