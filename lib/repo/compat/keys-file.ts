// keys/KEYS: every OpenPGP key that signs (or signed) these releases, current first, in
// the layout Apache projects and Maven Central users know (https://www.apache.org/dev/
// release-signing.html#keys-policy, "KEYS"): for each key a `pub`/`uid` listing as
// `gpg --list-keys` prints it, then the ASCII-armored certificate (RFC 4880 §6.2).
// `gpg --import KEYS` reads every armored block and skips the text around them.
//
// The file keeps its own history: a key's block, once written, is carried forward
// verbatim, so an earlier key stays listed after a replacement without the terminal
// having to hold (or unlock) it again.
import { AirlockError } from '../../core/errors.js';

export const KEYS_FILE = 'KEYS';
const HEADER = [
  'This file lists the OpenPGP keys that sign these releases, the current key first.',
  'Import them with:   gpg --import KEYS',
  'then check a download with:   gpg --verify FILE.asc FILE',
];
const BLOCK = /^pub {3}(ed25519|nistp256) (\d{4}-\d{2}-\d{2}) \[S\]\n {6}([0-9A-F]{40})\nuid {11}(.+)\n\n(-----BEGIN PGP PUBLIC KEY BLOCK-----\n[\s\S]*?\n-----END PGP PUBLIC KEY BLOCK-----\n)/gm;

export interface KeysEntry {
  /** v4 fingerprint, 40 upper-case hex digits. */
  fingerprint: string;
  /** As `gpg --list-keys` names it. */
  algorithm: 'ed25519' | 'nistp256';
  created: Date;
  userId: string;
  /** The armored transferable public key. */
  certificate: string;
}

function entryText(e: KeysEntry): string {
  if (!/^[0-9A-F]{40}$/.test(e.fingerprint) || /[\r\n]/.test(e.userId) || !e.certificate.endsWith('-----END PGP PUBLIC KEY BLOCK-----\n')) throw new TypeError('not a KEYS entry');
  return `pub   ${e.algorithm} ${e.created.toISOString().slice(0, 10)} [S]\n      ${e.fingerprint}\nuid           ${e.userId}\n\n${e.certificate}`;
}

export function formatKeysFile(entries: readonly KeysEntry[]): string {
  return `${HEADER.join('\n')}\n\n${entries.map(entryText).join('\n')}`;
}

export function parseKeysFile(text: string): KeysEntry[] {
  const entries: KeysEntry[] = [];
  for (const m of text.matchAll(BLOCK)) {
    entries.push({ algorithm: m[1] as KeysEntry['algorithm'], fingerprint: m[3]!, created: new Date(`${m[2]}T00:00:00Z`), userId: m[4]!, certificate: m[5]! });
  }
  const blocks = text.split('-----BEGIN PGP PUBLIC KEY BLOCK-----').length - 1;
  if (blocks !== entries.length) {
    throw new AirlockError('E_KEYS_FORMAT', 'keys/KEYS holds a key block airlock did not write; restore the file from a host or backup (it lists every OpenPGP key ever used)');
  }
  return entries;
}

/** `current` first, then every other key already listed, in their order. */
export function withCurrentKey(entries: readonly KeysEntry[], current: KeysEntry): KeysEntry[] {
  // The current key's block is written afresh (the same key gives the same certificate
  // unless the user id changed, and then KEYS follows keys/release-signing.asc).
  return [current, ...entries.filter((e) => e.fingerprint !== current.fingerprint)];
}
