import { describe, expect, it } from 'vitest';
import { formatSize } from '../../lib/core/byte-size.js';

describe('formatSize', () => {
  it('writes bytes as people read them, in binary units with one decimal', () => {
    expect(formatSize(0)).toBe('0 B');
    expect(formatSize(1023)).toBe('1023 B');
    expect(formatSize(1024)).toBe('1.0 KiB');
    expect(formatSize(12 * 1024 * 1024 + 512 * 1024)).toBe('12.5 MiB');
    expect(formatSize(3 * 1024 ** 4)).toBe('3.0 TiB');
    expect(formatSize(5 * 1024 ** 5)).toBe('5120.0 TiB');
  });
});
