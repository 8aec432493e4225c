// Finding the token a URI names among the slots of a module (PKCS#11 v3.0 §5.5:
// C_GetSlotList, C_GetTokenInfo), and checking it offers the mechanisms the key's type
// needs (EdDSA for Ed25519, ECDSA for P-256) before anyone is asked for a PIN.
import type { PKCS11 } from 'pkcs11js';
import { AirlockError } from '../../core/errors.js';
import { CKF_TOKEN_INITIALIZED } from './constants.js';
import { tokenFailure } from './cryptoki.js';
import type { Pkcs11Uri } from './uri.js';

export interface TokenSlot {
  /** The binding's slot handle. */
  readonly slot: Buffer;
  readonly slotId: bigint;
  /** CK_TOKEN_INFO fields, blank padding removed. */
  readonly label: string;
  readonly serial: string;
  readonly manufacturer: string;
  readonly model: string;
  readonly flags: number;
}

/** CK_TOKEN_INFO strings are fixed-width, padded with blanks (§3.2). */
function unpad(s: string): string {
  return s.replace(/[ \0]+$/, '');
}

function slotIdOf(handle: Buffer): bigint {
  return handle.length >= 8 ? handle.readBigUInt64LE(0) : BigInt(handle.readUIntLE(0, handle.length));
}

function describe(t: TokenSlot): string {
  return `"${t.label}" (serial ${t.serial || 'none'})`;
}

/** Every slot with a token present, with its token's description. */
export function presentTokens(api: PKCS11, modulePath: string): TokenSlot[] {
  let slots: Buffer[];
  try {
    slots = api.C_GetSlotList(true);
  } catch (err) {
    throw tokenFailure(err, `listing the slots of ${modulePath}`, 'E_TOKEN_MODULE', { module: modulePath });
  }
  const out: TokenSlot[] = [];
  for (const slot of slots) {
    try {
      const info = api.C_GetTokenInfo(slot);
      out.push({
        slot,
        slotId: slotIdOf(slot),
        label: unpad(info.label),
        serial: unpad(info.serialNumber),
        manufacturer: unpad(info.manufacturerID),
        model: unpad(info.model),
        flags: info.flags,
      });
    } catch {
      // A slot whose token vanished between the two calls is simply not present.
    }
  }
  return out;
}

/**
 * The one present, initialised token matching the URI's token attributes: E_TOKEN_ABSENT
 * (naming the tokens that are present) when none matches, E_TOKEN_KEY when several do.
 */
export function findToken(api: PKCS11, modulePath: string, uri: Pkcs11Uri): TokenSlot {
  const present = presentTokens(api, modulePath);
  const matches = present.filter(
    (t) =>
      (uri.token === undefined || t.label === uri.token) &&
      (uri.serial === undefined || t.serial === uri.serial) &&
      (uri.manufacturer === undefined || t.manufacturer === uri.manufacturer) &&
      (uri.model === undefined || t.model === uri.model) &&
      (uri.slotId === undefined || t.slotId === uri.slotId),
  );
  const wanted = uri.token !== undefined ? `"${uri.token}"${uri.serial !== undefined ? ` (serial ${uri.serial})` : ''}` : uri.serial !== undefined ? `with serial ${uri.serial}` : 'named in the key reference';
  const ready = matches.filter((t) => (t.flags & CKF_TOKEN_INITIALIZED) !== 0);
  if (ready.length === 0) {
    const seen = present.length === 0 ? 'no token is present' : `present: ${present.map(describe).join(', ')}`;
    throw new AirlockError(
      'E_TOKEN_ABSENT',
      matches.length > 0
        ? `the token ${wanted} is not initialised; initialise it with its own tools (docs/hardware-keys.md)`
        : `the token ${wanted} is not in a slot of ${modulePath} (${seen}); insert it, or check --token`,
      { details: { module: modulePath, wanted: uri.token ?? null, serial: uri.serial ?? null, present: present.map((t) => ({ label: t.label, serial: t.serial })) } },
    );
  }
  if (ready.length > 1) {
    throw new AirlockError('E_TOKEN_KEY', `${ready.length} tokens match ${wanted} (${ready.map(describe).join(', ')}); name one by its serial in a PKCS#11 URI (--uri "pkcs11:token=…;serial=…")`, {
      details: { module: modulePath, matches: ready.map((t) => ({ label: t.label, serial: t.serial })) },
    });
  }
  return ready[0]!;
}

/** Refuses (E_TOKEN_MECHANISM) a token that lacks any of `mechanisms`, before a PIN is asked for. */
export function requireMechanisms(api: PKCS11, token: TokenSlot, mechanisms: readonly { code: number; name: string }[], keyKind = 'an Ed25519 signing key', support = 'PKCS#11 v3.0 EdDSA support'): void {
  let supported: number[];
  try {
    supported = api.C_GetMechanismList(token.slot);
  } catch (err) {
    throw tokenFailure(err, `listing the mechanisms of token ${describe(token)}`);
  }
  const missing = mechanisms.filter((m) => !supported.includes(m.code));
  if (missing.length > 0) {
    throw new AirlockError(
      'E_TOKEN_MECHANISM',
      `the token ${describe(token)} does not offer ${missing.map((m) => m.name).join(' or ')}, so it cannot hold ${keyKind}; use a token with ${support} (docs/hardware-keys.md)`,
      { details: { token: token.label, serial: token.serial, missing: missing.map((m) => m.name) } },
    );
  }
}
