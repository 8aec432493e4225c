// The client's trusted metadata between runs (`--state DIR`): one file per role under
// its non-versioned name (root.json, timestamp.json, snapshot.json, targets.json,
// <role>.json, the role name quoted as python-tuf quotes it: role-file-name.ts), the
// layout python-tuf and tuf-js use. Every write is a temporary file
// renamed into place (TUF §5.3.8, §5.4.5, §5.5.7, §5.6.6 "persist"), so a crash leaves
// the old trusted file or the new one, and rollback and freeze are caught across runs.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { AirlockError, fromSystemError } from '../core/errors.js';
import { stateFileName } from './role-file-name.js';

// Not a role file: no role's quoted name ends in ".sha256".
const PINNED_FILE = 'pinned-root.sha256';

export class StateDirectory {
  constructor(readonly dir: string) {}

  /** One file directly in the state directory, whatever the role's name. */
  fileFor(role: string): string {
    return join(this.dir, stateFileName(role));
  }

  /**
   * The SHA-256 of the root this state was first pinned to (`pinned-root.sha256`): the
   * state's root.json moves on with rotations, and `init` with that first root again
   * must stay harmless. Undefined for a state written before this file existed.
   */
  async readPinnedFingerprint(): Promise<string | undefined> {
    try {
      const text = await readFile(join(this.dir, PINNED_FILE), 'utf8');
      const hex = text.trim();
      return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw stateError(err, `reading ${join(this.dir, PINNED_FILE)}`);
    }
  }

  async writePinnedFingerprint(fingerprint: string): Promise<void> {
    try {
      await writeFileAtomic(join(this.dir, PINNED_FILE), new TextEncoder().encode(`${fingerprint}\n`), { mode: 0o644 });
    } catch (err) {
      throw stateError(err, `writing ${join(this.dir, PINNED_FILE)}`);
    }
  }

  /** The stored bytes of a role, or undefined when there are none. */
  async read(role: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.fileFor(role)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw stateError(err, `reading ${this.fileFor(role)}`);
    }
  }

  async write(role: string, bytes: Uint8Array): Promise<void> {
    try {
      await writeFileAtomic(this.fileFor(role), bytes, { mode: 0o644 });
    } catch (err) {
      throw stateError(err, `writing ${this.fileFor(role)}`);
    }
  }

  async remove(role: string): Promise<void> {
    try {
      await rm(this.fileFor(role), { force: true });
    } catch (err) {
      throw stateError(err, `removing ${this.fileFor(role)}`);
    }
  }
}

function stateError(err: unknown, what: string): AirlockError {
  const e = fromSystemError(err, what);
  return new AirlockError('E_STATE', `${e.message} (the --state directory)`, { cause: err });
}
