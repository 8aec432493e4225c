// Command lines airlock prints for a user to paste: each word quoted the POSIX way (XCU
// 2.2.2, single quotes — nothing inside them is special, a quote is written '\''), so a
// path with spaces, quotes, `$`, `;` or a backquote pastes as the one word it is. A word
// with a control character or a character that hides or reorders text has no one-line
// form any POSIX shell reads back (a newline would cut the command in two, an escape
// sequence rewrites the terminal; `$'…'` is bash's, not POSIX): such a word is never
// printed raw, only escaped visibly (`displayWord`), and not offered as a command.

/** Words printed as they are: nothing in them is special to sh. */
const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Every control (Cc: C0, C1, DEL) and format character (Cf: soft hyphen, zero-width
 * characters, bidi marks, overrides and isolates — "Trojan Source" —, word joiner, BOM,
 * the invisible tag characters), and the line and paragraph separators: by Unicode
 * category, not a list, so that none is missed.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE.source, 'gu');

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\t': '\\t', '\r': '\\r' };

/** `word` as one sh word, or undefined when it holds a character no one-line command should carry. */
export function shellWord(word: string): string | undefined {
  if (UNPRINTABLE.test(word)) return undefined;
  if (PLAIN.test(word)) return word;
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/** A command line of `words`, or undefined when one of them cannot be pasted (shellWord). */
export function shellCommand(words: readonly string[]): string | undefined {
  const quoted = words.map(shellWord);
  return quoted.every((w): w is string => w !== undefined) ? quoted.join(' ') : undefined;
}

/**
 * `word` for a human to read on one line: as shellWord quotes it, else in single quotes
 * with every such character escaped — `\n`, `\x1b`, `\u202e`, a backslash doubled — so it
 * cannot end the line or rewrite the terminal. Not a command: say so beside it. Pasted anyway,
 * it is one literal word (nothing expands inside single quotes), only not the same one.
 */
export function displayWord(word: string): string {
  const quoted = shellWord(word);
  if (quoted !== undefined) return quoted;
  const escaped = word.replaceAll('\\', '\\\\').replace(UNPRINTABLE_ALL, (c) => {
    const code = c.codePointAt(0)!;
    if (NAMED[c] !== undefined) return NAMED[c];
    if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
    return code <= 0xffff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\u{${code.toString(16)}}`;
  });
  return `'${escaped.replaceAll("'", "'\\''")}'`;
}
