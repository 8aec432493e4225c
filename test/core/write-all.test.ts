import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WRITE_PIECE_BYTES, writeAll, writeAllSync } from '../../lib/core/write-all.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-write-all-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeAll', () => {
  it.each([0, 1, WRITE_PIECE_BYTES - 1, WRITE_PIECE_BYTES, WRITE_PIECE_BYTES + 1, 3 * WRITE_PIECE_BYTES + 7])('writes all of %i bytes, in order, at the current position', async (size) => {
    const bytes = new Uint8Array(size).map((_, i) => (i * 31 + (i >> 8)) & 0xff);
    const file = join(dir, `out-${size}`);
    const fh = await open(file, 'w');
    try {
      await fh.write(Buffer.from('head'));
      await writeAll(fh, bytes);
      await writeAll(fh, Buffer.from('tail'));
    } finally {
      await fh.close();
    }
    expect(readFileSync(file).equals(Buffer.concat([Buffer.from('head'), bytes, Buffer.from('tail')]))).toBe(true);
  });

  it('never hands the kernel more than one piece per write', async () => {
    const calls: number[] = [];
    const fh = await open(join(dir, 'counted'), 'w');
    try {
      const counted = new Proxy(fh, {
        get(target, prop, receiver) {
          if (prop === 'write') return (buf: Uint8Array, offset: number, length: number, position: null) => (calls.push(length), target.write(buf, offset, length, position));
          return Reflect.get(target, prop, receiver);
        },
      });
      await writeAll(counted, new Uint8Array(2 * WRITE_PIECE_BYTES + 5));
    } finally {
      await fh.close();
    }
    expect(calls).toEqual([WRITE_PIECE_BYTES, WRITE_PIECE_BYTES, 5]);
  });

  it('continues after a short write (a full disk may give one before its error), at the current position or a given one', async () => {
    const file = join(dir, 'short');
    const fh = await open(file, 'w+');
    try {
      // A handle whose every write(2) takes at most 1,000 bytes.
      const short = new Proxy(fh, {
        get(target, prop, receiver) {
          if (prop === 'write') return (buf: Uint8Array, offset: number, length: number, position: number | null) => target.write(buf, offset, Math.min(length, 1000), position);
          return Reflect.get(target, prop, receiver);
        },
      });
      const bytes = new Uint8Array(5000).map((_, i) => i & 0xff);
      await writeAll(short, bytes);
      await writeAll(short, Buffer.from('XYZ'.repeat(700)), 1000);
    } finally {
      await fh.close();
    }
    const expected = Buffer.from(new Uint8Array(5000).map((_, i) => i & 0xff));
    Buffer.from('XYZ'.repeat(700)).copy(expected, 1000);
    expect(readFileSync(file).equals(expected)).toBe(true);
  });
});

describe('writeAllSync', () => {
  it('writes all of the bytes in pieces of one write each, continuing after a short write', () => {
    const file = join(dir, 'sync');
    const fd = openSync(file, 'w');
    const calls: number[] = [];
    try {
      writeSync(fd, 'head');
      // Every write(2) takes at most 100,000 bytes: a short write for a full piece.
      writeAllSync(fd, new Uint8Array(2 * WRITE_PIECE_BYTES + 5).fill(7), (f, b, offset, length) => (calls.push(length), writeSync(f, b, offset, Math.min(length, 100_000))));
      writeAllSync(fd, Buffer.from('tail'));
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(file).equals(Buffer.concat([Buffer.from('head'), new Uint8Array(2 * WRITE_PIECE_BYTES + 5).fill(7), Buffer.from('tail')]))).toBe(true);
    expect(Math.max(...calls)).toBe(WRITE_PIECE_BYTES);
    expect(calls.length).toBeGreaterThan(3);
  });
});
