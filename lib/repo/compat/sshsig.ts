// SSH file signatures, as `ssh-keygen -Y sign` writes and `ssh-keygen -Y verify` checks
// them. Spec: OpenSSH PROTOCOL.sshsig (the signature blob, its signed data and the
// "SSH SIGNATURE" armor), RFC 8709 §6 (the ssh-ed25519 signature blob), RFC 4251 §5.
//
// Namespace `file` (what ssh-keygen's manual uses for files) and hash sha512: the
// signed data carries SHA-512(file), so the one SHA-512 pass that writes `<file>.sha512`
// also gives the digest the signature covers. The signed data starts with the "SSHSIG"
// preamble, which the Signer checks for the `ssh` role (an SSH session signature never
// starts with it): a file signature and a login can never be taken for each other.
import { createHash } from 'node:crypto';
import { ed25519Verify } from '../../core/ed25519.js';
import { AirlockError } from '../../core/errors.js';
import { ed25519KeyBlob, openSshPublicKey, parseEd25519KeyBlob, sshString, SshReader } from '../../core/ssh-wire.js';
import type { SignSubject, Signer } from '../../keys/signer.js';

const PREAMBLE = Buffer.from('SSHSIG', 'ascii');
const SIG_VERSION = 1;
export const SSHSIG_NAMESPACE = 'file';
export const SSHSIG_HASH = 'sha512';
const ARMOR_BEGIN = '-----BEGIN SSH SIGNATURE-----';
const ARMOR_END = '-----END SSH SIGNATURE-----';
/** ssh-keygen wraps the base64 at 70 columns (sshsig.c, sshsig_armor). */
const WRAP = 70;

export interface SshSignature {
  publicKey: Uint8Array;
  namespace: string;
  hashAlgorithm: string;
  /** Raw Ed25519 signature R||S. */
  signature: Uint8Array;
}

/** The bytes the key signs (PROTOCOL.sshsig "Signed Data, of which the signature goes into the blob above"). */
export function sshsigSignedData(namespace: string, hashAlgorithm: string, digest: Uint8Array): Uint8Array {
  return new Uint8Array(
    Buffer.concat([PREAMBLE, sshString(Buffer.from(namespace)), sshString(new Uint8Array(0)), sshString(Buffer.from(hashAlgorithm)), sshString(digest)]),
  );
}

/** The public key line users find in allowed_signers: `ssh-ed25519 AAAA… comment`. */
export function sshPublicKeyLine(signer: Pick<Signer, 'publicKey'>, comment = ''): string {
  return openSshPublicKey(signer.publicKey, comment);
}

/** SHA256:… as `ssh-keygen -l` prints a key's fingerprint. */
export function sshFingerprint(publicKey: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(ed25519KeyBlob(publicKey)).digest('base64').replace(/=+$/, '')}`;
}

export function formatSshSignature(sig: SshSignature): string {
  const blob = Buffer.concat([
    PREAMBLE,
    Buffer.from([0, 0, 0, SIG_VERSION]),
    sshString(ed25519KeyBlob(sig.publicKey)),
    sshString(Buffer.from(sig.namespace)),
    sshString(new Uint8Array(0)),
    sshString(Buffer.from(sig.hashAlgorithm)),
    sshString(Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(sig.signature)])),
  ]).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < blob.length; i += WRAP) lines.push(blob.slice(i, i + WRAP));
  return `${ARMOR_BEGIN}\n${lines.join('\n')}\n${ARMOR_END}\n`;
}

function malformed(what: string): AirlockError {
  return new AirlockError('E_SSHSIG_FORMAT', `not an SSH signature airlock can read (${what}); fetch the .sshsig file again`);
}

/** Parses an armored SSHSIG of an Ed25519 key (the only kind airlock makes). */
export function parseSshSignature(text: string): SshSignature {
  const trimmed = text.trim();
  if (!trimmed.startsWith(ARMOR_BEGIN) || !trimmed.endsWith(ARMOR_END)) throw malformed('no SSH SIGNATURE armor');
  const b64 = trimmed.slice(ARMOR_BEGIN.length, trimmed.length - ARMOR_END.length).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw malformed('bad base64');
  const r = new SshReader(new Uint8Array(Buffer.from(b64, 'base64')));
  const preamble = r.fixed(PREAMBLE.length);
  if (preamble === null || !Buffer.from(preamble).equals(PREAMBLE)) throw malformed('no SSHSIG preamble');
  if (r.uint32() !== SIG_VERSION) throw malformed('unknown version');
  const keyBlob = r.string();
  const namespace = r.string();
  const reserved = r.string();
  const hashAlgorithm = r.string();
  const sigBlob = r.string();
  if (keyBlob === null || namespace === null || reserved === null || hashAlgorithm === null || sigBlob === null || !r.done) throw malformed('truncated or trailing data');
  const publicKey = parseEd25519KeyBlob(keyBlob);
  if (publicKey === null) throw malformed('not an ssh-ed25519 key');
  const s = new SshReader(sigBlob);
  const sigType = s.string();
  const signature = s.string();
  if (sigType === null || signature === null || !s.done || Buffer.from(sigType).toString('latin1') !== 'ssh-ed25519' || signature.length !== 64) throw malformed('not an ssh-ed25519 signature');
  return { publicKey, namespace: Buffer.from(namespace).toString('utf8'), hashAlgorithm: Buffer.from(hashAlgorithm).toString('utf8'), signature };
}

/**
 * Signs a file's SHA-512 digest as an SSHSIG (namespace `file`), through the Signer
 * (role `ssh`, purpose `sshsig`), and checks the result before returning the armored text.
 */
export async function sshFileSignature(signer: Signer, sha512: Uint8Array, subject: SignSubject): Promise<string> {
  if (sha512.length !== 64) throw new TypeError('an SSHSIG sha512 digest is 64 bytes');
  const message = sshsigSignedData(SSHSIG_NAMESPACE, SSHSIG_HASH, sha512);
  const signature = await signer.sign({ purpose: 'sshsig', message, subject });
  if (!ed25519Verify(signer.publicKey, message, signature)) {
    throw new AirlockError('E_SIGNER_MISMATCH', `the ${signer.role} key's signature does not verify under its public key; check that the keystore entry or token holds the key listed as ${sshFingerprint(signer.publicKey)}`);
  }
  return formatSshSignature({ publicKey: signer.publicKey, namespace: SSHSIG_NAMESPACE, hashAlgorithm: SSHSIG_HASH, signature });
}
