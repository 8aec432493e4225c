// The SSH wire encoding shared by the publish key (an SSH client identity) and SSHSIG
// file signatures: RFC 4251 §5 `string` (uint32 length, then the bytes) and the
// Ed25519 public key blob and OpenSSH public key line of RFC 8709 §4.

/** RFC 4251 §5: uint32 big-endian length, then the bytes. */
export function sshString(b: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** The public key blob of RFC 8709 §4: string "ssh-ed25519", string key. */
export function ed25519KeyBlob(publicKey: Uint8Array): Buffer {
  return Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(publicKey)]);
}

/** `ssh-ed25519 AAAA… comment`, as authorized_keys and ssh-keygen write it. */
export function openSshPublicKey(publicKey: Uint8Array, comment: string): string {
  return `ssh-ed25519 ${ed25519KeyBlob(publicKey).toString('base64')}${comment === '' ? '' : ` ${comment}`}`;
}

/** Reads RFC 4251 strings off a buffer in order; null once the bytes do not hold one. */
export class SshReader {
  #at = 0;
  constructor(private readonly bytes: Uint8Array) {}

  fixed(n: number): Uint8Array | null {
    if (this.#at + n > this.bytes.length) return null;
    const out = this.bytes.subarray(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }

  uint32(): number | null {
    const b = this.fixed(4);
    return b === null ? null : Buffer.from(b).readUInt32BE(0);
  }

  string(): Uint8Array | null {
    const n = this.uint32();
    return n === null ? null : this.fixed(n);
  }

  get done(): boolean {
    return this.#at === this.bytes.length;
  }
}

/** The raw key of an Ed25519 public key blob; null for anything else. */
export function parseEd25519KeyBlob(blob: Uint8Array): Uint8Array | null {
  const r = new SshReader(blob);
  const type = r.string();
  const key = r.string();
  if (type === null || key === null || !r.done || Buffer.from(type).toString('latin1') !== 'ssh-ed25519' || key.length !== 32) return null;
  return key;
}
