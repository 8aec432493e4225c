import { openSync, closeSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Passphrase, readPassphrase } from '../../lib/keys/passphrase.js';
import { codeOf } from '../support/error-codes.js';

const noTerminal = { terminal: () => null, env: {} };
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-pass-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readPassphrase', () => {
  it('reads an fd up to the first newline, so the next read gets the next line', async () => {
    const f = join(dir, 'p');
    await writeFile(f, 'first one\r\nsecond one\n', { mode: 0o600 });
    const fd = openSync(f, 'r');
    try {
      const a = await readPassphrase({ fd }, 'x', noTerminal);
      const b = await readPassphrase({ fd }, 'x', noTerminal);
      expect(a.bytes.toString()).toBe('first one');
      expect(b.bytes.toString()).toBe('second one');
      expect(await codeOf(readPassphrase({ fd }, 'x', noTerminal))).toBe('E_PASSPHRASE_SOURCE');
    } finally {
      closeSync(fd);
    }
  });

  it('reads the file named by AIRLOCK_PASSPHRASE_FILE (first line)', async () => {
    const f = join(dir, 'p');
    await writeFile(f, 'from a file\nignored\n', { mode: 0o600 });
    const p = await readPassphrase({}, 'x', { terminal: () => null, env: { AIRLOCK_PASSPHRASE_FILE: f } });
    expect(p.bytes.toString()).toBe('from a file');
  });

  it('the fd wins over the file', async () => {
    const f = join(dir, 'p');
    const g = join(dir, 'q');
    await writeFile(f, 'from fd\n', { mode: 0o600 });
    await writeFile(g, 'from file\n', { mode: 0o600 });
    const fd = openSync(f, 'r');
    try {
      const p = await readPassphrase({ fd }, 'x', { terminal: () => null, env: { AIRLOCK_PASSPHRASE_FILE: g } });
      expect(p.bytes.toString()).toBe('from fd');
    } finally {
      closeSync(fd);
    }
  });

  it('refuses a passphrase file others can read', async () => {
    const f = join(dir, 'p');
    await writeFile(f, 'secret\n', { mode: 0o644 });
    expect(await codeOf(readPassphrase({}, 'x', { terminal: () => null, env: { AIRLOCK_PASSPHRASE_FILE: f } }))).toBe('E_KEYSTORE_PERMISSIONS');
  });

  // Root can read another user's 0600 file; that user would choose the passphrase of the key made with it.
  it.skipIf(process.getuid?.() !== 0)("refuses a passphrase file that belongs to another user", async () => {
    const f = join(dir, 'p');
    await writeFile(f, 'chosen by someone else\n', { mode: 0o600 });
    const { chown } = await import('node:fs/promises');
    await chown(f, 65534, 65534);
    expect(await codeOf(readPassphrase({}, 'x', { terminal: () => null, env: { AIRLOCK_PASSPHRASE_FILE: f } }))).toBe('E_KEYSTORE_PERMISSIONS');
  });

  it('refuses a FIFO planted as the passphrase file, without waiting for a writer', async () => {
    const f = join(dir, 'fifo');
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', ['-m', '600', f]);
    expect(await codeOf(readPassphrase({ file: f }, 'x', noTerminal))).toBe('E_PASSPHRASE_SOURCE');
  });

  it('refuses an empty passphrase and a missing file', async () => {
    const f = join(dir, 'p');
    await writeFile(f, '\n', { mode: 0o600 });
    expect(await codeOf(readPassphrase({ file: f }, 'x', noTerminal))).toBe('E_PASSPHRASE_SOURCE');
    expect(await codeOf(readPassphrase({ file: join(dir, 'missing') }, 'x', noTerminal))).toBe('E_PASSPHRASE_SOURCE');
  });

  it('with no terminal and no fd or file: E_NO_TTY', async () => {
    expect(await codeOf(readPassphrase({}, 'x', noTerminal))).toBe('E_NO_TTY');
  });
});

describe('Passphrase', () => {
  it('never prints its bytes and is unusable after wipe()', () => {
    const p = Passphrase.fromString('hunter2-hunter2');
    expect(String(p)).not.toContain('hunter2');
    expect(JSON.stringify({ p })).not.toContain('hunter2');
    expect(inspect(p)).not.toContain('hunter2');
    const bytes = p.bytes;
    p.wipe();
    expect(bytes.every((b) => b === 0)).toBe(true);
    expect(() => p.bytes).toThrow();
  });
});
