// The cheap test KDF must never reach production: no file outside test/ may pass the
// test-only keystore parameter, or name it. Fails the build if one does.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory() && e.name !== 'node_modules') out.push(...(await sources(p)));
    else if (/\.(ts|mts|js|mjs)$/.test(e.name)) out.push(p);
  }
  return out;
}

/** The argument lists of every `Keystore.create(` / `Keystore.open(` call in `text`. */
function keystoreCallArguments(text: string): string[] {
  const calls: string[] = [];
  const re = /Keystore\s*\.\s*(?:create|open)\s*\(/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    let depth = 1;
    let i = m.index + m[0].length;
    const start = i;
    for (; i < text.length && depth > 0; i++) {
      if ('([{'.includes(text[i]!)) depth++;
      else if (')]}'.includes(text[i]!)) depth--;
    }
    calls.push(text.slice(start, i - 1));
  }
  return calls;
}

function topLevelArgumentCount(args: string): number {
  if (args.trim() === '') return 0;
  let depth = 0;
  let count = 1;
  for (const c of args) {
    if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (c === ',' && depth === 0) count++;
  }
  return args.trim().endsWith(',') ? count - 1 : count;
}

describe('test-only KDF parameters stay in tests', () => {
  it('production code opens and creates keystores with the directory only', async () => {
    const offenders: string[] = [];
    for (const dir of ['lib', 'cli', 'scripts']) {
      for (const file of await sources(join(root, dir))) {
        const rel = relative(root, file);
        if (rel === join('lib', 'keys', 'keystore.ts')) continue;
        const text = await readFile(file, 'utf8');
        if (/TEST_ONLY_KDF|KeystoreTestOnly|keys-fixtures/.test(text)) offenders.push(`${rel}: names the test-only KDF`);
        for (const args of keystoreCallArguments(text)) {
          if (topLevelArgumentCount(args) !== 1) offenders.push(`${rel}: Keystore.create/open(${args})`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the check sees a second argument when there is one', () => {
    const calls = keystoreCallArguments('await Keystore.open(dir);\nKeystore.create(join(a, b), { kdf: x })');
    expect(calls.map(topLevelArgumentCount)).toEqual([1, 2]);
  });
});
