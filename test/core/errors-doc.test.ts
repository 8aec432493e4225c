// docs/errors.md is the public list of error codes: every code in lib/core/errors.ts is
// there with the exit status it really has, and nothing else is.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AirlockError, ERROR_KINDS, type ErrorCode } from '../../lib/core/errors.js';

const doc = readFileSync(join(import.meta.dirname, '../../docs/errors.md'), 'utf8');
const rows = [...doc.matchAll(/^\| `(E_[A-Z_]+)` \| (\d) \|/gm)].map((m) => ({ code: m[1]!, exit: Number(m[2]) }));

describe('docs/errors.md', () => {
  it('lists every code once, with its real exit status', () => {
    expect(rows.map((r) => r.code).sort()).toEqual(Object.keys(ERROR_KINDS).sort());
    for (const { code, exit } of rows) expect(new AirlockError(code as ErrorCode, '').exitCode, code).toBe(exit);
  });
});
