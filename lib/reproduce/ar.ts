// Reading Unix ar archives, the container of a Debian binary package (deb(5): members
// `debian-binary`, `control.tar.*`, `data.tar.*`). Format (ar(5), the "common" format
// GNU and BSD share): the magic "!<arch>\n", then for each member a 60-byte header
//   name[16] mtime[12] uid[6] gid[6] mode[8, octal] size[10] fmag[2] = "`\n"
// (numbers in ASCII decimal unless noted, space padded), then `size` bytes of data,
// padded with "\n" to an even offset. GNU long names ("//" table, "/N" references) and
// BSD long names ("#1/LEN", the name at the start of the data) are both understood.
// Only headers are read here; member data is streamed by the caller from its offset.
import { open, type FileHandle } from 'node:fs/promises';
import { AirlockError, fromSystemError } from '../core/errors.js';

export const AR_MAGIC = '!<arch>\n';
const HEADER_BYTES = 60;
/** A package has three members; anything near this is not a package we can compare. */
export const AR_MAX_MEMBERS = 10_000;

export interface ArMember {
  name: string;
  mtime: number;
  uid: number;
  gid: number;
  /** Permission and type bits, as the header's octal field says. */
  mode: number;
  size: number;
  /** Byte offset of the member's data in the file. */
  offset: number;
}

function malformed(path: string, why: string): AirlockError {
  return new AirlockError('E_ARCHIVE', `${path} is not a readable ar archive: ${why}`, { details: { path } });
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, position);
  return buf.subarray(0, bytesRead);
}

function numberField(raw: Buffer, radix: 8 | 10): number | undefined {
  const text = raw.toString('latin1').trim();
  if (text === '') return 0;
  if (!(radix === 8 ? /^[0-7]+$/ : /^\d+$/).test(text)) return undefined;
  const n = Number.parseInt(text, radix);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Whether a file starts with the ar magic. */
export async function isAr(path: string): Promise<boolean> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, 'r');
    return (await readAt(fh, 0, AR_MAGIC.length)).toString('latin1') === AR_MAGIC;
  } catch (err) {
    throw fromSystemError(err, `reading ${path}`);
  } finally {
    await fh?.close();
  }
}

/** The members of an ar archive, in file order, without the GNU symbol and name tables. */
export async function readArMembers(path: string): Promise<ArMember[]> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw fromSystemError(err, `reading ${path}`);
  }
  try {
    const { size: fileSize } = await fh.stat();
    if ((await readAt(fh, 0, AR_MAGIC.length)).toString('latin1') !== AR_MAGIC) throw malformed(path, 'no "!<arch>" magic');
    const members: ArMember[] = [];
    let longNames: Buffer | undefined;
    let pos = AR_MAGIC.length;
    while (pos < fileSize) {
      if (members.length >= AR_MAX_MEMBERS) throw malformed(path, `more than ${AR_MAX_MEMBERS} members`);
      const h = await readAt(fh, pos, HEADER_BYTES);
      if (h.length < HEADER_BYTES) throw malformed(path, `truncated header at offset ${pos}`);
      if (h.subarray(58, 60).toString('latin1') !== '`\n') throw malformed(path, `bad header terminator at offset ${pos}`);
      const fields = {
        mtime: numberField(h.subarray(16, 28), 10),
        uid: numberField(h.subarray(28, 34), 10),
        gid: numberField(h.subarray(34, 40), 10),
        mode: numberField(h.subarray(40, 48), 8),
        size: numberField(h.subarray(48, 58), 10),
      };
      const bad = Object.entries(fields).find(([, v]) => v === undefined);
      if (bad) throw malformed(path, `bad ${bad[0]} field at offset ${pos}`);
      const size = fields.size!;
      let offset = pos + HEADER_BYTES;
      if (offset + size > fileSize) throw malformed(path, `member at offset ${pos} runs past the end of the file`);
      let name = h.subarray(0, 16).toString('utf8').trimEnd();
      let dataSize = size;
      if (name === '/' || name === '/SYM64/') {
        name = '';
      } else if (name === '//') {
        longNames = await readAt(fh, offset, Math.min(size, 1 << 20));
        name = '';
      } else if (/^\/\d+$/.test(name)) {
        const at = Number(name.slice(1));
        if (!longNames || at >= longNames.length) throw malformed(path, `long name reference ${name} without a name table`);
        const end = longNames.indexOf('/\n', at);
        name = longNames.subarray(at, end < 0 ? undefined : end).toString('utf8');
      } else if (/^#1\/\d+$/.test(name)) {
        const len = Number(name.slice(3));
        if (len > size) throw malformed(path, `BSD long name longer than its member at offset ${pos}`);
        name = (await readAt(fh, offset, len)).toString('utf8').replace(/\0+$/, '');
        offset += len;
        dataSize -= len;
      } else if (name.endsWith('/')) {
        name = name.slice(0, -1);
      }
      if (name !== '') members.push({ name, mtime: fields.mtime!, uid: fields.uid!, gid: fields.gid!, mode: fields.mode!, size: dataSize, offset });
      pos += HEADER_BYTES + size + (size % 2);
    }
    return members;
  } catch (err) {
    throw fromSystemError(err, `reading ${path}`);
  } finally {
    await fh.close();
  }
}
