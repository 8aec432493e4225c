// The permission bits a host's files and directories get, whatever the terminal's umask:
// a static host is read by a web server running as another user, so a file published
// 0600 (umask 077) or a directory 0750 (umask 027) is a 403 to every client while
// airlock reports "published". Defaults 0644/0755 (docs/host-layout.md);
// configurable per host in hosts.json (`"fileMode": "0640", "dirMode": "0750"` for a
// server that reads through its group).
import { AirlockError } from '../core/errors.js';

export interface HostModes {
  /** Permission bits of every file airlock puts on the host. */
  file: number;
  /** Permission bits of every directory that holds one. */
  dir: number;
}

export const DEFAULT_HOST_MODES: Readonly<HostModes> = Object.freeze({ file: 0o644, dir: 0o755 });

/** A mode as written in hosts.json and on the command line: four octal digits. */
export function formatMode(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

/**
 * Parses an octal mode for files or directories of a host. Refused: set-id and sticky
 * bits, execute bits on files, group/other write (anyone else could change a published
 * file), and modes that would lock the publisher itself out.
 */
export function parseMode(text: string, kind: 'file' | 'dir', where: string): number {
  if (!/^0?[0-7]{3}$/.test(text)) {
    throw new AirlockError('E_CONFIG', `${where}: ${kind} mode ${JSON.stringify(text)} is not an octal mode like ${formatMode(DEFAULT_HOST_MODES[kind])}`);
  }
  const mode = Number.parseInt(text, 8);
  const owner = kind === 'file' ? 0o600 : 0o700;
  const allowed = kind === 'file' ? 0o644 : 0o755;
  if ((mode & owner) !== owner || (mode & ~allowed) !== 0) {
    throw new AirlockError(
      'E_CONFIG',
      `${where}: ${kind} mode ${formatMode(mode)} is refused; the publisher needs ${formatMode(owner)}, and only read${kind === 'dir' ? '/search' : ''} may be given to others (at most ${formatMode(allowed)})`,
    );
  }
  return mode;
}

/** The modes of a host entry: its own, else the defaults. */
export function hostModes(spec: { fileMode?: string; dirMode?: string; name: string }): HostModes {
  return {
    file: spec.fileMode === undefined ? DEFAULT_HOST_MODES.file : parseMode(spec.fileMode, 'file', `host ${spec.name}`),
    dir: spec.dirMode === undefined ? DEFAULT_HOST_MODES.dir : parseMode(spec.dirMode, 'dir', `host ${spec.name}`),
  };
}

/** Permission bits only (a stat mode carries the file type too). */
export function permissionBits(mode: number): number {
  return mode & 0o7777;
}
