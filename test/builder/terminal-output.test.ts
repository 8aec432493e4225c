// What the release manager reads comes partly from others: a commit's subject and
// author (shown before they confirm the commit), recipe field and step names (in error
// messages), the build's own output. None of it may drive the terminal.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { note, printable, reportError } from '../../cli/run.js';
import { parseRecipe } from '../../lib/builder/recipe.js';

afterEach(() => vi.restoreAllMocks());

function captureStderr(): string[] {
  const written: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  return written;
}

// A commit subject that moves the cursor up one line and rewrites the signature status.
const spoof = 'fix typo\x1b[1A\r\x1b[2Ksignature G (good signature)';

describe('text for the terminal', () => {
  it('shows escape sequences and other controls as \\xNN, keeping newlines and tabs', () => {
    expect(printable(`a\tb\n${spoof}\x07\x9b`)).toBe('a\tb\nfix typo\\x1b[1A\\x0d\\x1b[2Ksignature G (good signature)\\x07\\x9b');
    expect(printable('50%\r75%\x1b]52;c;ZXZpbA==\x07', { keepCarriageReturn: true })).toBe('50%\r75%\\x1b]52;c;ZXZpbA==\\x07');
  });

  it('note() (the commit shown for confirmation) cannot rewrite the lines above it', () => {
    const out = captureStderr();
    note(`head of release/1.0:\n  subject   ${spoof}\n  signature N`);
    expect(out.join('')).not.toMatch(/[\x1b\r]/);
  });

  it('an error naming a recipe field cannot carry an escape sequence to the terminal', () => {
    let err: unknown;
    try {
      parseRecipe(JSON.stringify({ project: 'p', version: '1', steps: [{ name: 's', run: ['true'] }], artifacts: ['a'], [`x\x1b]52;c;ZXZpbA==\x07`]: 1 }));
    } catch (e) {
      err = e;
    }
    const out = captureStderr();
    expect(reportError(err, false)).toBe(2);
    expect(out.join('')).toContain('E_RECIPE');
    expect(out.join('')).not.toMatch(/[\x1b\x07]/);
  });
});
