import { describe, expect, it } from 'vitest';
import { formatWork, progressLine } from '../../cli/progress.js';

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const s = { isTTY, text: '', write(chunk: string) { s.text += chunk; return true; } };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

describe('progress line', () => {
  it('draws label, bytes, percentage and rate on a TTY, and clears itself', () => {
    const tty = fakeStream(true);
    const line = progressLine(tty);
    line.update('hashing big.iso', 512 * 1024 * 1024, 1024 * 1024 * 1024);
    expect(tty.text).toContain('hashing big.iso  512.0 MiB / 1.0 GiB (50%)');
    line.finish();
    expect(tty.text.endsWith('\r\x1b[K')).toBe(true);
  });

  it('writes nothing when stderr is not a terminal (logs, pipes, CI)', () => {
    const pipe = fakeStream(false);
    const line = progressLine(pipe);
    line.update('signing x', 1, 2);
    line.finish();
    expect(pipe.text).toBe('');
  });

  it('computes the rate from the time spent', () => {
    expect(formatWork('x', 10 * 1024 * 1024, 20 * 1024 * 1024, 2)).toBe('x  10.0 MiB / 20.0 MiB (50%)  5.0 MiB/s');
  });
});
