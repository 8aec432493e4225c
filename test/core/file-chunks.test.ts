import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readChunks } from '../../lib/core/file-chunks.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-file-chunks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readChunks', () => {
  it.each([0, 1, 4095, 4096, 4097, 5 * 4096 + 3])('gives every byte of a %i-byte file from the current position, in order, through two buffers', async (size) => {
    const bytes = randomBytes(size);
    const file = join(dir, `f-${size}`);
    writeFileSync(file, Buffer.concat([Buffer.from('skip'), bytes]));
    const fh = await open(file, 'r');
    const parts: Buffer[] = [];
    const backings = new Set<ArrayBufferLike>();
    try {
      await fh.read(Buffer.alloc(4), 0, 4, null);
      for await (const chunk of readChunks(fh, 4096)) {
        expect(chunk.length).toBeLessThanOrEqual(4096);
        parts.push(Buffer.from(chunk)); // a copy: the chunk's memory is reused
        backings.add(chunk.buffer);
      }
    } finally {
      await fh.close();
    }
    expect(Buffer.concat(parts).equals(bytes)).toBe(true);
    // Constant memory: never more than the two buffers, however long the file.
    expect(backings.size).toBeLessThanOrEqual(2);
  });
});
