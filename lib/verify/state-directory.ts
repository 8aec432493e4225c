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

export class StateDirectory {
  constructor(readonly dir: string) {}

  /** One file directly in the state directory, whatever the role's name. */
  fileFor(role: string): string {
    return join(this.dir, stateFileName(role));
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
