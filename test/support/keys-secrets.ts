// Secrets hygiene for tests: opens a key file with an implementation written from
// docs/keys.md alone (not lib/keys), so the format doc is checked too, and scans trees
// and captured output for a seed in every encoding it could leak as.
import { createDecipheriv, createHash, createHmac, scryptSync } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalBytes } from '../../lib/core/canonical-json.js';

/** Decrypts a software key file per docs/keys.md; returns the 32 secret bytes (seed or P-256 scalar). */
export async function openKeyFileIndependently(file: string, passphrase: string): Promise<Buffer> {
  const j = JSON.parse(await readFile(file, 'utf8'));
  const derived = scryptSync(Buffer.from(passphrase, 'utf8'), Buffer.from(j.kdf.salt, 'hex'), 64, {
    N: j.kdf.N,
    r: j.kdf.r,
    p: j.kdf.p,
    maxmem: 512 * 1024 * 1024,
  });
  const check = createHmac('sha256', derived.subarray(32)).update('airlock-key passphrase check v1').digest('hex');
  if (check !== j.passphraseCheck) throw new Error('passphrase check value does not match');
  const aad = canonicalBytes({
    format: j.format,
    version: j.version,
    kind: j.kind,
    // bound only when the file has it (files from before key types have none)
    ...(j.keyType === undefined ? {} : { keyType: j.keyType }),
    keyId: j.keyId,
    role: j.role,
    publicKey: j.publicKey,
    createdAt: j.createdAt,
    kdf: j.kdf,
    cipher: { name: j.cipher.name },
  });
  const d = createDecipheriv('aes-256-gcm', derived.subarray(0, 32), Buffer.from(j.cipher.nonce, 'hex'));
  d.setAAD(aad);
  d.setAuthTag(Buffer.from(j.cipher.tag, 'hex'));
  return Buffer.concat([d.update(Buffer.from(j.cipher.ciphertext, 'hex')), d.final()]);
}

/** base64 characters that depend only on `bytes`, at each of the 3 alignments inside a larger blob. */
function base64Cores(bytes: Buffer, url: boolean): string[] {
  const out: string[] = [];
  for (let k = 0; k < 3; k++) {
    const b64 = Buffer.concat([Buffer.alloc(k), bytes]).toString(url ? 'base64url' : 'base64');
    const first = Math.ceil((8 * k) / 6);
    const last = Math.floor((8 * (k + bytes.length)) / 6);
    out.push(b64.slice(first, last));
  }
  return out;
}

export interface Needle {
  name: string;
  bytes: Buffer;
}

/** The seed, its expanded private scalar, PKCS#8, in raw, hex (both cases), base64 and base64url. */
export function secretNeedles(seed: Buffer, label: string): Needle[] {
  const expanded = createHash('sha512').update(seed).digest();
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const secrets: [string, Buffer][] = [
    ['seed', seed],
    ['scalar', expanded.subarray(0, 32)],
    ['pkcs8', pkcs8],
  ];
  const needles: Needle[] = [];
  for (const [what, bytes] of secrets) {
    needles.push({ name: `${label} ${what} raw`, bytes });
    needles.push({ name: `${label} ${what} hex`, bytes: Buffer.from(bytes.toString('hex')) });
    needles.push({ name: `${label} ${what} HEX`, bytes: Buffer.from(bytes.toString('hex').toUpperCase()) });
    for (const core of base64Cores(bytes, false)) needles.push({ name: `${label} ${what} base64`, bytes: Buffer.from(core) });
    for (const core of base64Cores(bytes, true)) needles.push({ name: `${label} ${what} base64url`, bytes: Buffer.from(core) });
  }
  return needles;
}

export interface Finding {
  where: string;
  needle: string;
}

async function filesUnder(path: string): Promise<string[]> {
  const st = await lstat(path).catch(() => null);
  if (st === null) return [];
  if (st.isDirectory()) {
    const all: string[] = [];
    for (const name of await readdir(path)) all.push(...(await filesUnder(join(path, name))));
    return all;
  }
  return st.isFile() ? [path] : [];
}

/** Every place (file under `paths`, or named text) that holds any needle. */
export async function scanForSecrets(paths: string[], texts: Record<string, string | Buffer>, needles: Needle[]): Promise<Finding[]> {
  const findings: Finding[] = [];
  const look = (where: string, hay: Buffer) => {
    for (const n of needles) if (hay.includes(n.bytes)) findings.push({ where, needle: n.name });
  };
  for (const p of paths) for (const f of await filesUnder(p)) look(f, await readFile(f));
  for (const [where, t] of Object.entries(texts)) look(where, Buffer.isBuffer(t) ? t : Buffer.from(t));
  return findings;
}

/**
 * After `npm run demo -- OUT`: opens every software key in OUT/terminal/keystore with
 * the demo passphrase (OUT/terminal.pass) and scans the whole OUT tree (but the
 * passphrase file), `extraPaths` (e.g. the TMPDIR it ran with) and the given outputs, for any seed encoding or the passphrase.
 * Returns the findings and how many keys were checked (a scan of nothing proves nothing).
 */
export async function demoSecretFindings(
  out: string,
  outputs: Record<string, string | Buffer>,
  extraPaths: string[] = [],
): Promise<{ findings: Finding[]; keys: number }> {
  const passphrase = (await readFile(join(out, 'terminal.pass'), 'utf8')).split('\n')[0]!.replace(/\r$/, '');
  const keystore = join(out, 'terminal', 'keystore');
  const needles: Needle[] = [];
  let keys = 0;
  for (const name of (await readdir(keystore)).filter((n) => n.endsWith('.key'))) {
    const j = JSON.parse(await readFile(join(keystore, name), 'utf8'));
    if (j.kind !== 'software') continue;
    needles.push(...secretNeedles(await openKeyFileIndependently(join(keystore, name), passphrase), `${j.role} ${name}`));
    keys += 1;
  }
  needles.push({ name: 'demo passphrase', bytes: Buffer.from(passphrase) });
  const paths = [...(await readdir(out)).filter((n) => n !== 'terminal.pass').map((n) => join(out, n)), ...extraPaths];
  return { findings: await scanForSecrets(paths, outputs, needles), keys };
}
