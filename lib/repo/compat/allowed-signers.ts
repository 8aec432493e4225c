// keys/allowed_signers: every SSH key that has signed releases, with the window in which
// it did, as `ssh-keygen -Y verify -f allowed_signers` reads it. Spec: ssh-keygen(1)
// "ALLOWED SIGNERS" (principals, then comma-separated options — namespaces="…",
// valid-after="…", valid-before="…" — then the key type, the base64 key blob and a
// comment; times YYYYMMDDHHMMSS with a Z suffix for UTC).
//
// The file is its own record of the windows (the keystore need not hold retired keys,
// and a token key's creation time says nothing about when it first signed): the first
// release a key signs opens its window (valid-after = the signing time) and closes every
// window still open one second before (valid-before). So a release signed before a
// rotation verifies with `-Overify-time=` its signing time, and after a rotation only the
// new key verifies anything signed now. A key whose window was closed is never reopened
// (E_SSH_KEY_RETIRED): that would make the old key good again for new signatures.
import { AirlockError } from '../../core/errors.js';
import { openSshPublicKey, parseEd25519KeyBlob } from '../../core/ssh-wire.js';

export const ALLOWED_SIGNERS_FILE = 'allowed_signers';
const NAMESPACE = 'file';
const KEY_COMMENT = 'airlock-ssh';
const HEADER = [
  '# The SSH keys that sign these releases, each with the window in which it signed.',
  '# Verify: ssh-keygen -Y verify -f allowed_signers -I PROJECT -n file -s FILE.sshsig < FILE',
  '# A release signed before the newest key was made: add -Overify-time=YYYYMMDDHHMMSSZ (its signing time).',
];
const PRINCIPAL = /^[A-Za-z0-9][A-Za-z0-9._+~-]*$/;

export interface AllowedSigner {
  /** Who may be named with -I: the projects this key signed. */
  principals: string[];
  publicKey: Uint8Array;
  validAfter: Date;
  /** Absent while the key is the one in use. */
  validBefore?: Date;
}

/** YYYYMMDDHHMMSSZ, whole seconds in UTC (ssh-keygen's time format). */
export function sshTime(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace(/[-:T]/g, '')}Z`;
}

function parseSshTime(text: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return null;
  const d = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function formatAllowedSigners(signers: readonly AllowedSigner[]): string {
  const lines = signers.map((s) => {
    if (s.principals.length === 0 || !s.principals.every((p) => PRINCIPAL.test(p))) throw new TypeError('allowed_signers principals are project names');
    const options = [`namespaces="${NAMESPACE}"`, `valid-after="${sshTime(s.validAfter)}"`, ...(s.validBefore ? [`valid-before="${sshTime(s.validBefore)}"`] : [])];
    return `${s.principals.join(',')} ${options.join(',')} ${openSshPublicKey(s.publicKey, KEY_COMMENT)}`;
  });
  return `${[...HEADER, ...lines].join('\n')}\n`;
}

function malformed(line: number, what: string): AirlockError {
  return new AirlockError('E_ALLOWED_SIGNERS', `keys/allowed_signers line ${line}: ${what}; restore the file from a host or backup (it records every SSH key's signing window)`);
}

/** Parses the file airlock writes (not every form ssh-keygen accepts: no certificates, no quoted principals). */
export function parseAllowedSigners(text: string): AllowedSigner[] {
  const out: AllowedSigner[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+) (\S+) ssh-ed25519 ([A-Za-z0-9+/]+={0,2})(?: .*)?$/.exec(line);
    if (!m) throw malformed(i + 1, 'not "PRINCIPALS OPTIONS ssh-ed25519 KEY"');
    const principals = m[1]!.split(',');
    if (!principals.every((p) => PRINCIPAL.test(p))) throw malformed(i + 1, 'a principal is not a project name');
    const options = new Map<string, string>();
    for (const opt of m[2]!.split(',')) {
      const o = /^([a-z-]+)="([^"]*)"$/.exec(opt);
      if (!o || options.has(o[1]!)) throw malformed(i + 1, `bad option ${JSON.stringify(opt)}`);
      options.set(o[1]!, o[2]!);
    }
    if (options.get('namespaces') !== NAMESPACE) throw malformed(i + 1, `namespaces must be "${NAMESPACE}"`);
    for (const k of options.keys()) if (!['namespaces', 'valid-after', 'valid-before'].includes(k)) throw malformed(i + 1, `unknown option ${k}`);
    const validAfter = parseSshTime(options.get('valid-after') ?? '');
    if (!validAfter) throw malformed(i + 1, 'valid-after missing or not YYYYMMDDHHMMSSZ');
    const before = options.get('valid-before');
    const validBefore = before === undefined ? undefined : parseSshTime(before);
    if (validBefore === null) throw malformed(i + 1, 'valid-before is not YYYYMMDDHHMMSSZ');
    const publicKey = parseEd25519KeyBlob(new Uint8Array(Buffer.from(m[3]!, 'base64')));
    if (!publicKey) throw malformed(i + 1, 'not an Ed25519 key');
    out.push({ principals, publicKey, validAfter, ...(validBefore ? { validBefore } : {}) });
  }
  return out;
}

/**
 * The list after `publicKey` signed a release of `project` at `at`: the key's line gains
 * the project; a key not listed yet opens its window at `at` and closes every open one.
 */
export function recordSshSigning(signers: readonly AllowedSigner[], publicKey: Uint8Array, project: string, at: Date): AllowedSigner[] {
  const now = new Date(Math.floor(at.getTime() / 1000) * 1000);
  const same = (s: AllowedSigner): boolean => Buffer.from(s.publicKey).equals(Buffer.from(publicKey));
  const mine = signers.find(same);
  if (mine) {
    if (mine.validBefore) {
      throw new AirlockError('E_SSH_KEY_RETIRED', `the ssh key ${openSshPublicKey(publicKey, '').slice(0, 40)}… was replaced at ${mine.validBefore.toISOString()} and cannot sign again; sign with the newest ssh key (airlock key generate ssh makes one)`);
    }
    if (now.getTime() < mine.validAfter.getTime()) throw new AirlockError('E_SIGNATURE_TIME', `the signing time ${now.toISOString()} is before this ssh key's window opened (${mine.validAfter.toISOString()}); check the clock`);
    return signers.map((s) => (same(s) && !s.principals.includes(project) ? { ...s, principals: [...s.principals, project].sort() } : s));
  }
  const closed = signers.map((s) => {
    if (s.validBefore) return s;
    if (now.getTime() <= s.validAfter.getTime()) throw new AirlockError('E_SIGNATURE_TIME', `the signing time ${now.toISOString()} is not after the current ssh key's window opened (${s.validAfter.toISOString()}); check the clock`);
    return { ...s, validBefore: new Date(now.getTime() - 1000) };
  });
  return [...closed, { principals: [project], publicKey, validAfter: now }];
}
