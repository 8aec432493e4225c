// The one signing interface. Every signature airlock makes (TUF metadata, DSSE
// provenance, OpenPGP, minisign, the SSH publish key) goes through a Signer, so a
// hardware token can stand behind it without touching callers, and so every signature
// is checked against the key's role and appended to the audit log in one place.
import type { KeyType } from '../core/key-type.js';
import type { TufKey } from '../core/tuf-key.js';

/** What a key is for. A key has exactly one role (docs/formats.md "One key, one role, one format"). */
export type KeyRole = 'root' | 'targets' | 'snapshot' | 'timestamp' | 'pgp' | 'minisign' | 'ssh' | 'publish';
export const KEY_ROLES: readonly KeyRole[] = ['root', 'targets', 'snapshot', 'timestamp', 'pgp', 'minisign', 'ssh', 'publish'];

/** The format a signature is made in. */
export type SignPurpose = 'tuf-metadata' | 'dsse' | 'openpgp' | 'minisign' | 'sshsig' | 'ssh';

/**
 * Which formats each role may sign. `targets` also signs the DSSE provenance envelope
 * (docs/provenance.md); DSSE's PAE starts with "DSSEv1 " and canonical JSON with
 * "{", so the two message spaces cannot collide. `ssh` signs SSHSIG file signatures
 * (PROTOCOL.sshsig), whose signed data starts with "SSHSIG"; `publish` signs SSH
 * user-authentication requests (`ssh`), which never do — the Signer checks both.
 */
export const ROLE_PURPOSES: Readonly<Record<KeyRole, readonly SignPurpose[]>> = {
  root: ['tuf-metadata'],
  targets: ['tuf-metadata', 'dsse'],
  snapshot: ['tuf-metadata'],
  timestamp: ['tuf-metadata'],
  pgp: ['openpgp'],
  minisign: ['minisign'],
  ssh: ['sshsig'],
  publish: ['ssh'],
};

/** What the audit log records about a signature: never the message itself. */
export interface SignSubject {
  /** e.g. 'metadata', 'artifact', 'provenance', 'sums', 'apt-release', 'ssh-session'. */
  kind: string;
  /** e.g. 'targets.json', 'demo/1.0.0/demo-1.0.0.tar.gz'. */
  name: string;
  /** Metadata version or release version, when there is one. */
  version?: number | string;
  /** Hex SHA-256 of what was signed (the artifact, or the message bytes). */
  sha256?: string;
}

export interface SignRequest {
  purpose: SignPurpose;
  /**
   * The exact bytes signed (canonical JSON, PAE, a prehash digest …). For `openpgp` it is
   * the OpenPGP hash digest: Ed25519 signs it as its message (draft-koch-eddsa §5), ECDSA
   * takes it as the hash value itself (RFC 6637 §4). Every other ECDSA message is hashed
   * with SHA-256 first.
   */
  message: Uint8Array;
  /**
   * `openpgp` only: the bytes whose SHA-256 `message` is (document ‖ trailer), read again
   * when called. A software ECDSA key signs from them — node:crypto signs only a hash it
   * computed — and refuses them unless they hash to `message`; Ed25519 keys and tokens
   * sign `message` and never call it.
   */
  preimage?: Preimage;
  subject: SignSubject;
}

/** Bytes to be read once more, in order (a file's stream, or chunks in memory). */
export type Preimage = () => AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

export interface Signer {
  readonly role: KeyRole;
  /** TUF key id: hex SHA-256 of the canonical key object. */
  readonly keyId: string;
  readonly tufKey: TufKey;
  readonly keyType: KeyType;
  /** Raw public key: Ed25519's 32 bytes, or P-256's uncompressed point (65 bytes). */
  readonly publicKey: Uint8Array;
  /** When the key was made (OpenPGP binds it into the key's fingerprint). */
  readonly createdAt: Date;
  /**
   * Signs (Ed25519: 64 bytes R ‖ S; ECDSA: DER); refuses (E_KEY_ROLE) a purpose outside
   * the key's role.
   */
  sign(request: SignRequest): Promise<Uint8Array>;
  /**
   * Lets go of the private key: a software key is dropped, a token session logged out.
   * Signing after close() throws. A signing session (lib/terminal/session.ts) closes every
   * key it unlocked, once.
   */
  close(): Promise<void>;
}
