// The one line reader, on real files: lines split on `\n` only, a last line without a
// newline read (or refused when strict), a line longer than the buffer whole, UTF-8 cut
// by a read boundary decoded whole, a file of several MiB read through one fixed buffer
// (never the whole file), and its file closed when the consumer stops early.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AirlockError } from '../../lib/core/errors.js';
import { LINE_READ_BYTES, readLines, type LineReaderOptions, type ReadGauge } from '../../lib/core/line-reader.js';
import { openFilesUnder } from '../support/open-files.js';

let work: string;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'airlock-lines-'));
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function linesOf(text: string | Buffer, options?: LineReaderOptions): Promise<string[]> {
  const file = join(work, 'f');
  await writeFile(file, text);
  const out: string[] = [];
  for await (const line of readLines(file, options)) out.push(line);
  return out;
}

const openFiles = (): number => openFilesUnder(work);
const cutShort = (): AirlockError => new AirlockError('E_IMPORT_JOURNAL', 'cut short');

describe('readLines', () => {
  it('splits on newlines only, and reads a last line that has none', async () => {
    expect(await linesOf('')).toEqual([]);
    expect(await linesOf('\n')).toEqual(['']);
    expect(await linesOf('a\n\nb\n')).toEqual(['a', '', 'b']);
    expect(await linesOf('a\nb')).toEqual(['a', 'b']);
    expect(await linesOf('a\rb\r\nc\n')).toEqual(['a\rb\r', 'c']);
  });

  it('decodes UTF-8 cut by a read boundary whole', async () => {
    const lines = ['é'.repeat(11), '€𝄞'.repeat(5), 'x'];
    for (const bufferBytes of [1, 2, 3, 5, 7]) expect(await linesOf(`${lines.join('\n')}\n`, { bufferBytes })).toEqual(lines);
  });

  it('refuses a file cut short in its last line when strict, after the whole lines before it', async () => {
    const seen: string[] = [];
    const file = join(work, 'f');
    await writeFile(file, 'a\nb\nhalf');
    await expect(
      (async () => {
        for await (const line of readLines(file, { unterminated: cutShort })) seen.push(line);
      })(),
    ).rejects.toMatchObject({ code: 'E_IMPORT_JOURNAL' });
    expect(seen).toEqual(['a', 'b']);
    expect(await linesOf('a\nb\n', { unterminated: cutShort })).toEqual(['a', 'b']);
    expect(await linesOf('', { unterminated: cutShort })).toEqual([]);
  });

  it('maps a system error to the caller’s error', async () => {
    const missing = readLines(join(work, 'missing'), { systemError: () => new AirlockError('E_IO', 'gone') });
    await expect(missing.next()).rejects.toMatchObject({ code: 'E_IO' });
    await expect(readLines(join(work, 'missing')).next()).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('reads several MiB through one buffer of a fixed size, grown only for a longer line', async () => {
    const line = `${'x'.repeat(99)}`;
    const count = 40_000; // 4 MB
    const gauge: ReadGauge = { reads: 0, largestBuffer: 0 };
    const got = await linesOf(`${line}\n`.repeat(count), { gauge });
    expect(got.length).toBe(count);
    expect(got.every((l) => l === line)).toBe(true);
    // Never more than the buffer held: no read of the whole file, one read per buffer at least.
    expect(gauge.largestBuffer).toBe(LINE_READ_BYTES);
    expect(gauge.reads).toBeGreaterThanOrEqual(Math.ceil((count * 100) / LINE_READ_BYTES));

    const long = 'y'.repeat(100_000);
    const grown: ReadGauge = { reads: 0, largestBuffer: 0 };
    expect(await linesOf(`a\n${long}\nb\n`, { gauge: grown, bufferBytes: 1024 })).toEqual(['a', long, 'b']);
    expect(grown.largestBuffer).toBeGreaterThan(long.length);
    expect(grown.largestBuffer).toBeLessThanOrEqual(2 * long.length);
  });

  it('closes its file when the consumer stops early, and when the lines run out', async () => {
    const file = join(work, 'f');
    await writeFile(file, 'a\nb\nc\n'.repeat(10_000));
    for await (const line of readLines(file, { bufferBytes: 64 })) {
      expect(openFiles()).toBe(1);
      if (line === 'b') break;
    }
    expect(openFiles()).toBe(0);
    let n = 0;
    for await (const line of readLines(file)) n += line.length;
    expect(n).toBe(30_000);
    expect(openFiles()).toBe(0);
  });
});
