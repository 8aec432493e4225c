// TUF public key objects and key ids (TUF specification §4.2 "KEYS"; key id = hex
// SHA-256 of the canonical JSON of the key object, as securesystemslib computes it).
import { canonicalBytes } from './canonical-json.js';
import { sha256Hex } from './digest.js';
import { toHex } from './hex.js';

export interface TufKey {
  keytype: string;
  scheme: string;
  keyval: { public: string; [k: string]: string };
}

export function ed25519TufKey(rawPublicKey: Uint8Array): TufKey {
  return { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: toHex(rawPublicKey) } };
}

export function tufKeyId(key: TufKey): string {
  return sha256Hex(canonicalBytes(key));
}
