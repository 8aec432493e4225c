// Edits a key file the way an attacker or a failing disk would, optionally recomputing
// the unkeyed checksum so the edit gets past it (as an informed attacker's would).
import { readFile, writeFile } from 'node:fs/promises';
import { canonicalBytes } from '../../lib/core/canonical-json.js';
import { sha256Hex } from '../../lib/core/digest.js';

export type KeyFileJson = Record<string, any>;

export async function editKeyFile(file: string, edit: (json: KeyFileJson) => void, opts: { recomputeChecksum: boolean }): Promise<void> {
  const json = JSON.parse(await readFile(file, 'utf8')) as KeyFileJson;
  edit(json);
  if (opts.recomputeChecksum) {
    const { checksum: _old, ...rest } = json;
    json.checksum = `sha256:${sha256Hex(canonicalBytes(rest))}`;
  }
  await writeFile(file, `${JSON.stringify(json, null, 2)}\n`, { mode: 0o600 });
}

/** Flips the lowest bit of the byte at `index` of a hex string. */
export function flipHexByte(hex: string, index = 0): string {
  const b = Buffer.from(hex, 'hex');
  b[index] = b[index]! ^ 0x01;
  return b.toString('hex');
}
