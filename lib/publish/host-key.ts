// Pinned SSH host keys. A pin is either the server's public key as OpenSSH writes it
// (`ssh-ed25519 AAAA…`, RFC 4253 §6.6 key blob in base64) or its OpenSSH fingerprint
// (`SHA256:` + unpadded base64 of the SHA-256 of that blob, as `ssh-keygen -lf` prints).
// known_hosts files are read as sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT" describes them,
// hashed host names (`|1|salt|hmac`, HMAC-SHA1) included.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { AirlockError, fromSystemError } from '../core/errors.js';

const KEY_TYPES = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'] as const;
type KeyType = (typeof KEY_TYPES)[number];

/** The name inside a key blob: its first SSH string. */
function blobType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const n = blob.readUInt32BE(0);
  if (n > 64 || 4 + n > blob.length) return undefined;
  return blob.subarray(4, 4 + n).toString('latin1');
}

export function fingerprintOf(blob: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Normalises a pin: `SHA256:…`, or `type base64` with the comment dropped. E_USAGE if it is neither. */
export function parseHostKeyPin(text: string): string {
  const t = text.trim();
  if (/^SHA256:[A-Za-z0-9+/]{43}$/.test(t)) return t;
  const [type, b64] = t.split(/\s+/);
  if (type && b64 && (KEY_TYPES as readonly string[]).includes(type) && /^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    const blob = Buffer.from(b64, 'base64');
    if (blobType(blob) === type) return `${type} ${blob.toString('base64')}`;
  }
  throw new AirlockError('E_USAGE', 'a host key is an OpenSSH public key line (ssh-ed25519 AAAA…, e.g. from ssh-keyscan) or a SHA256:… fingerprint (ssh-keygen -lf)');
}

/** Host key algorithms to offer so the server shows the pinned key and no other. */
export function hostKeyAlgorithmsFor(pin: string): string[] | undefined {
  if (pin.startsWith('SHA256:')) return undefined;
  const type = pin.slice(0, pin.indexOf(' ')) as KeyType;
  return type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256'] : [type];
}

/** Compares the key a server presented (its blob) with the pin, in constant time. */
export function hostKeyMatches(pin: string, presented: Uint8Array): boolean {
  const a = Buffer.from(pin.startsWith('SHA256:') ? fingerprintOf(presented) : `${blobType(Buffer.from(presented))} ${Buffer.from(presented).toString('base64')}`);
  const b = Buffer.from(pin);
  return a.length === b.length && timingSafeEqual(a, b);
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

function patternMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, mac] = pattern.split('|');
    if (!salt || !mac) return false;
    const want = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return want === mac;
  }
  return globToRegExp(pattern).test(name);
}

/**
 * The keys a known_hosts file holds for host:port (port 22 is written bare, others as
 * `[host]:port`), best algorithm first. @revoked and @cert-authority lines are skipped:
 * a pin is one plain key.
 */
export async function keysFromKnownHosts(file: string, hostname: string, port: number): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw fromSystemError(err, `reading known hosts file ${file}`);
  }
  const name = port === 22 ? hostname : `[${hostname}]:${port}`;
  const found: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('@')) continue;
    const [hosts, type, b64] = line.split(/\s+/);
    if (!hosts || !type || !b64) continue;
    const patterns = hosts.split(',');
    if (patterns.some((p) => p.startsWith('!') && patternMatches(p.slice(1), name))) continue;
    if (!patterns.some((p) => !p.startsWith('!') && patternMatches(p, name))) continue;
    try {
      found.push(parseHostKeyPin(`${type} ${b64}`));
    } catch {
      // A key type airlock does not pin (e.g. a security-key type): not a candidate.
    }
  }
  const rank = (pin: string) => KEY_TYPES.indexOf(pin.slice(0, pin.indexOf(' ')) as KeyType);
  return found.sort((a, b) => rank(a) - rank(b));
}
