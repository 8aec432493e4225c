// Words airlock prints for pasting, read back by real shells (dash is /bin/sh here, and
// bash): each quoted word is the one argument it was, whatever it holds; a word with a
// control or text-reordering character is no command, and its display stays on one line
// and expands nothing when pasted.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { displayWord, shellCommand, shellWord } from '../../lib/core/shell-words.js';

/** The words `line` is to `shell`, by printing each NUL-terminated. */
function wordsOf(shell: string, line: string): string[] {
  const r = spawnSync(shell, ['-c', `set -- ${line}; printf '%s\\0' "$@"`], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/nonexistent' } });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\0').slice(0, -1);
}

const PASTEABLE = ['/srv/archive', '/srv/my archive', "/srv/it's", '/srv/$HOME', '/srv/`id`', '/srv/$(id)', '/srv/a;b', '/srv/a"b\\c', "'''", '', '~', '*', '-x', '/srv/naïve', '/srv/a\u00a0b', '!x'];
const UNPASTEABLE = ['/srv/a\nrm -rf x', '/srv/a\tb', '/srv/\u001b[2J', '/srv/a\rb', '/srv/\u202egnp.exe', '/srv/\u2028x', '/srv/\u007f', '/srv/a\u{E0041}b', '/srv/\u2066x', '/srv/\u00adx', '/srv/\u0085', "/srv/a\n'$(id)'"];

describe('shellWord', () => {
  for (const shell of ['sh', 'bash']) {
    it(`quotes every word so ${shell} reads it back as one argument`, () => {
      const line = PASTEABLE.map((w) => shellWord(w)!).join(' ');
      expect(wordsOf(shell, line)).toEqual(PASTEABLE);
      expect(wordsOf(shell, shellCommand(['airlock', 'import', "/a b/it's $x"])!)).toEqual(['airlock', 'import', "/a b/it's $x"]);
    });
  }

  it('leaves a plain word as it is', () => {
    expect(shellWord('/srv/archive-1.0_x+y')).toBe('/srv/archive-1.0_x+y');
    expect(shellWord('a b')).toBe("'a b'");
  });

  it('offers no command for a word with a control or reordering character', () => {
    for (const w of UNPASTEABLE) {
      expect(shellWord(w)).toBeUndefined();
      expect(shellCommand(['airlock', 'import', w])).toBeUndefined();
    }
  });
});

describe('displayWord', () => {
  it('shows every such word on one line, escaped, and pasted it is one literal word', () => {
    for (const w of UNPASTEABLE) {
      const shown = displayWord(w);
      expect(shown).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
      // Nothing in it runs: sh reads one word, the escapes left literal.
      expect(wordsOf('sh', shown)).toHaveLength(1);
    }
    expect(displayWord('/srv/a\nb')).toBe("'/srv/a\\nb'");
    expect(displayWord('/srv/\u001b[2J')).toBe("'/srv/\\x1b[2J'");
    expect(displayWord('/srv/a\u{E0041}b')).toBe("'/srv/a\\u{e0041}b'");
    expect(displayWord('/srv/\u202egnp')).toBe("'/srv/\\u202egnp'");
    // A backslash is doubled, so an escape in the display is never one in the name.
    expect(displayWord('/a\\nb\n')).toBe("'/a\\\\nb\\n'");
    expect(displayWord('/srv/my archive')).toBe("'/srv/my archive'");
  });
});
