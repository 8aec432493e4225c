// The publish key inside the SSH client, without an ssh-agent: ssh2 authenticates with
// any object that extends its BaseAgent (getIdentities + sign), so this one offers the
// keystore's `publish` key and signs the user-authentication request (RFC 4252 §7)
// through the Signer. The private key never leaves the Signer; no socket, no file, no
// forwarding (docs/keys.md).
import ssh2 from 'ssh2';
import { sha256Hex } from '../core/digest.js';
import { ed25519KeyBlob, openSshPublicKey as sshKeyLine } from '../core/ssh-wire.js';
import type { Signer } from '../keys/signer.js';

export { ed25519KeyBlob };

/** `ssh-ed25519 AAAA… comment`, as authorized_keys and ssh-keygen write it. */
export function openSshPublicKey(publicKey: Uint8Array, comment = 'airlock-publish'): string {
  return sshKeyLine(publicKey, comment);
}

export class SignerAgent extends ssh2.BaseAgent {
  /** The Signer's own error (e.g. a refused role), which ssh2 would flatten into an auth failure. */
  lastError: unknown;

  constructor(
    private readonly signer: Signer,
    /** Recorded in the audit log with each signature, e.g. user@host:port. */
    private readonly session: string,
  ) {
    super();
  }

  override getIdentities(cb: (err: Error | undefined, keys?: Buffer[]) => void): void {
    // ssh2 parses string-form OpenSSH public keys reliably; hand it that form.
    cb(undefined, [Buffer.from(openSshPublicKey(this.signer.publicKey))]);
  }

  override sign(_pubKey: unknown, data: Buffer, options: unknown, cb?: (err: Error | undefined, signature?: Buffer) => void): void {
    const done = (typeof options === 'function' ? options : cb) as (err: Error | undefined, signature?: Buffer) => void;
    this.signer
      .sign({ purpose: 'ssh', message: new Uint8Array(data), subject: { kind: 'ssh-session', name: this.session, sha256: sha256Hex(data) } })
      .then(
        (sig) => done(undefined, Buffer.from(sig)),
        (err: unknown) => {
          this.lastError = err;
          done(err instanceof Error ? err : new Error(String(err)));
        },
      );
  }
}
