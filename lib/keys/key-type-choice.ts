// Which kind of key each new key gets, from the command line: `--key-type TYPE` for every
// role a command makes a key for that can take it, or `--key-type ROLE=TYPE` for one role
// (repeatable; it wins over a bare TYPE). minisign, ssh and publish keys stay Ed25519 (see
// assertKeyTypeFor): a bare ecdsa-p256 leaves them so, naming them refuses. Everything is
// checked here, before a passphrase is asked for or a key is made.
import { AirlockError } from '../core/errors.js';
import { DEFAULT_KEY_TYPE, isKeyType, KEY_TYPES, type KeyType } from '../core/key-type.js';
import { KEY_ROLES, type KeyRole } from './signer.js';

/** Roles whose formats have only Ed25519. */
export const ED25519_ONLY_ROLES: readonly KeyRole[] = ['minisign', 'ssh', 'publish'];

/**
 * minisign, ssh and publish keys stay Ed25519: minisign's format has no other algorithm,
 * and the SSHSIG writer, allowed_signers, the publish key's SSH form, host-side lines and
 * fingerprints are written for ssh-ed25519 (docs/keys.md).
 */
export function assertKeyTypeFor(role: KeyRole, keyType: KeyType): void {
  if (!isKeyType(keyType)) throw new AirlockError('E_USAGE', `unknown key type "${String(keyType)}"; key types are ${KEY_TYPES.join(', ')}`);
  if (keyType !== 'ed25519' && ED25519_ONLY_ROLES.includes(role)) {
    throw new AirlockError(
      'E_USAGE',
      role === 'minisign'
        ? 'a minisign key is always Ed25519 (the minisign format has no other algorithm); leave --key-type out for the minisign role'
        : `the ${role === 'ssh' ? 'ssh (SSHSIG signing)' : 'publish (SFTP login)'} key is always Ed25519 (ssh-ed25519); leave --key-type out for the ${role} role`,
      { details: { role, keyType } },
    );
  }
}

function keyType(value: string, flag: string): KeyType {
  if (!isKeyType(value)) throw new AirlockError('E_USAGE', `${flag}: "${value}" is not a key type; key types are ${KEY_TYPES.join(', ')}`);
  return value;
}

/** The key type of one role's new key (`--key-type TYPE`), refused for a role that cannot take it. */
export function keyTypeForRole(role: KeyRole, value: string | undefined): KeyType {
  const type = value === undefined ? DEFAULT_KEY_TYPE : keyType(value, '--key-type');
  assertKeyTypeFor(role, type);
  return type;
}

/** `--key-type` values for a command that makes keys for `roles` → the type for each of them. */
export function parseKeyTypeChoices(values: readonly string[] | undefined, roles: readonly KeyRole[]): Record<KeyRole, KeyType> {
  let all: KeyType | undefined;
  const explicit = new Map<KeyRole, KeyType>();
  for (const v of values ?? []) {
    const eq = v.indexOf('=');
    if (eq < 0) {
      if (all !== undefined) throw new AirlockError('E_USAGE', `--key-type ${v}: a key type for every role was already given (${all}); name one role as ROLE=TYPE`);
      all = keyType(v, '--key-type');
      continue;
    }
    const role = v.slice(0, eq);
    if (!(KEY_ROLES as readonly string[]).includes(role) || !roles.includes(role as KeyRole)) {
      throw new AirlockError('E_USAGE', `--key-type ${v}: "${role}" is not a role this command makes a key for (${roles.join(', ')})`);
    }
    if (explicit.has(role as KeyRole)) throw new AirlockError('E_USAGE', `--key-type: the ${role} key's type is given twice`);
    const type = keyType(v.slice(eq + 1), `--key-type ${role}=`);
    assertKeyTypeFor(role as KeyRole, type);
    explicit.set(role as KeyRole, type);
  }
  const out = {} as Record<KeyRole, KeyType>;
  for (const role of KEY_ROLES) {
    out[role] = explicit.get(role) ?? (all !== undefined && !ED25519_ONLY_ROLES.includes(role) ? all : DEFAULT_KEY_TYPE);
  }
  return out;
}
