// ASCII armor and the cleartext signature framework.
// Specs: RFC 4880 §6.1 (CRC-24), §6.2 (armor), §7 and §7.1 (cleartext signatures:
// dash-escaping, trailing whitespace, canonical <CR><LF> line endings).

const CRC24_INIT = 0xb704ce;
const CRC24_POLY = 0x1864cfb;

export function crc24(data: Uint8Array): number {
  let crc = CRC24_INIT;
  for (const byte of data) {
    crc ^= byte << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= CRC24_POLY;
    }
  }
  return crc & 0xffffff;
}

export type ArmorType = 'PGP PUBLIC KEY BLOCK' | 'PGP SIGNATURE';

/** Armors packets: no headers (a Version: line only leaks what made it), 64-column base64, checksum. */
export function armor(type: ArmorType, data: Uint8Array): string {
  const b64 = Buffer.from(data).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  const sum = crc24(data);
  const crc = Buffer.from([(sum >> 16) & 0xff, (sum >> 8) & 0xff, sum & 0xff]).toString('base64');
  return `-----BEGIN ${type}-----\n\n${lines.join('\n')}\n=${crc}\n-----END ${type}-----\n`;
}

/** Reads one armored block back into its packets; checks the CRC when present. */
export function dearmor(text: string): { type: string; data: Uint8Array } {
  const m = /-----BEGIN ([A-Z0-9 ,]+)-----\r?\n(?:[^\r\n]+\r?\n)*?\r?\n([\s\S]*?)-----END \1-----/.exec(text);
  if (!m) throw new TypeError('no armored block');
  const body = m[2]!.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  let crcLine: string | undefined;
  if (body.length > 0 && body[body.length - 1]!.startsWith('=')) crcLine = body.pop()!.slice(1);
  const data = new Uint8Array(Buffer.from(body.join(''), 'base64'));
  if (crcLine !== undefined) {
    const want = Buffer.from(crcLine, 'base64');
    const got = crc24(data);
    if (want.length !== 3 || want.readUIntBE(0, 3) !== got) throw new TypeError('armor checksum mismatch');
  }
  return { type: m[1]!, data };
}

function lines(text: string): string[] {
  const all = text.split(/\r?\n/);
  // A final line break ends the last line; it does not start an empty one.
  if (all.length > 1 && all[all.length - 1] === '') all.pop();
  return all;
}

/**
 * The bytes a cleartext signature covers (RFC 4880 §7.1): trailing spaces and tabs
 * dropped, lines joined by <CR><LF>, and no line break after the last line, because
 * the one before "-----BEGIN PGP SIGNATURE-----" belongs to the framing.
 */
export function cleartextSignedBytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(lines(text).map((l) => l.replace(/[ \t]+$/, '')).join('\r\n'), 'utf8'));
}

/** RFC 4880 §7.1: "- " before every line starting with '-' (and, as GnuPG does, "From "). */
function dashEscape(line: string): string {
  return line.startsWith('-') || line.startsWith('From ') ? `- ${line}` : line;
}

/** A cleartext-signed message: the text, then the armored signature over it. */
export function cleartextMessage(text: string, hashName: 'SHA256' | 'SHA512', armoredSignature: string): string {
  const body = lines(text)
    .map((l) => dashEscape(l.replace(/[ \t]+$/, '')))
    .join('\n');
  return `-----BEGIN PGP SIGNED MESSAGE-----\nHash: ${hashName}\n\n${body}\n${armoredSignature}`;
}
