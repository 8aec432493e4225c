// Byte counts as people read them (binary units, one decimal): `512 B`, `12.0 MiB`. The
// one copy the progress lines and listings of both CLIs share.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatSize(bytes: number): string {
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${bytes} B` : `${v.toFixed(1)} ${UNITS[u]}`;
}
