// SHA256SUMS in the format `sha256sum -c` reads (GNU coreutils, "md5sum invocation"):
// one line per file, "<64 hex>  <name>" (two spaces: text mode, which on POSIX is the
// same bytes as binary mode), sorted by name in byte order so the file is reproducible.
// `<file>.sha512` (Apache/Maven style) is the same format with one SHA-512 line, so
// `sha512sum -c FILE.sha512` checks it.
// coreutils escapes names holding "\" or a line break with a leading "\"; such names
// are refused instead, since a downloader's eye would read them wrong.
import { AirlockError } from '../../core/errors.js';

export interface SumEntry {
  name: string;
  sha256: string;
}

/** Release file names: one path segment, no control characters, no backslash. */
export function assertReleaseFileName(name: string): void {
  // eslint-disable-next-line no-control-regex
  if (name === '' || name === '.' || name === '..' || /[/\\\x00-\x1f\x7f]/.test(name)) {
    throw new AirlockError('E_ARTIFACT_NAME', `the release file name ${JSON.stringify(name)} cannot be published: use a plain file name without "/", "\\" or control characters`);
  }
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const HEX_DIGITS = { sha256: 64, sha512: 128 } as const;

function checksumLine(name: string, hex: string, algorithm: keyof typeof HEX_DIGITS): string {
  assertReleaseFileName(name);
  if (hex.length !== HEX_DIGITS[algorithm] || !/^[0-9a-f]+$/.test(hex)) throw new TypeError(`${algorithm} must be ${HEX_DIGITS[algorithm]} lower-case hex digits`);
  return `${hex}  ${name}\n`;
}

/** `<file>.sha512`: the one line `sha512sum -c` checks. */
export function formatSha512File(name: string, sha512: string): string {
  return checksumLine(name, sha512, 'sha512');
}

export function parseSha512File(text: string): { name: string; sha512: string } {
  const m = /^([0-9a-fA-F]{128}) [ *]([^\n]+)\n?$/.exec(text);
  if (!m) throw new AirlockError('E_SUMS_FORMAT', 'a .sha512 file is one line "<sha512>  <name>"; fetch it again from the release host');
  return { sha512: m[1]!.toLowerCase(), name: m[2]! };
}

export function formatSha256Sums(entries: readonly SumEntry[]): string {
  const sorted = [...entries].sort((a, b) => byteOrder(a.name, b.name));
  for (let i = 0; i < sorted.length; i++) {
    checksumLine(sorted[i]!.name, sorted[i]!.sha256, 'sha256');
    if (i > 0 && sorted[i - 1]!.name === sorted[i]!.name) throw new AirlockError('E_ARTIFACT_NAME', `the file ${sorted[i]!.name} is listed twice; list each release file once`);
  }
  return sorted.map((e) => `${e.sha256}  ${e.name}\n`).join('');
}

export function parseSha256Sums(text: string): SumEntry[] {
  const entries: SumEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
    if (!m) throw new AirlockError('E_SUMS_FORMAT', 'SHA256SUMS has a line that is not "<sha256>  <name>"; fetch it again from the release host');
    entries.push({ sha256: m[1]!.toLowerCase(), name: m[2]! });
  }
  return entries;
}
