// What a TUF client can reach on a host tree, checked structurally: the newest root
// found by walking N.root.json upward, timestamp → snapshot → targets (and delegated)
// metadata with their signatures, lengths and hashes, and every target file. Throws on
// any inconsistency; returns the target paths a client would see. Used to show that a
// host is never half-published.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalBytes } from '../../lib/core/canonical-json.js';
import { ed25519Verify } from '../../lib/core/ed25519.js';
import { fromHex } from '../../lib/core/hex.js';

type Env = { signatures: { keyid: string; sig: string }[]; signed: Record<string, any> };

async function read(dir: string, rel: string): Promise<Buffer> {
  try {
    return await readFile(join(dir, rel));
  } catch {
    throw new Error(`host lacks ${rel}`);
  }
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function checkSigned(name: string, env: Env, keys: Record<string, { keyval: { public: string } }>, keyids: string[], threshold: number): void {
  const msg = canonicalBytes(env.signed);
  const good = new Set(env.signatures.filter((s) => keyids.includes(s.keyid) && keys[s.keyid] && ed25519Verify(fromHex(keys[s.keyid]!.keyval.public), msg, fromHex(s.sig))).map((s) => s.keyid));
  if (good.size < threshold) throw new Error(`${name}: signature threshold not met under the newest root on the host`);
}

function checkMeta(name: string, bytes: Buffer, m: { length?: number; hashes?: Record<string, string> }): void {
  if (m.length !== undefined && m.length !== bytes.length) throw new Error(`${name}: length differs from what refers to it`);
  if (m.hashes?.sha256 !== undefined && m.hashes.sha256 !== sha256(bytes)) throw new Error(`${name}: hash differs from what refers to it`);
}

export async function reachableTargets(dir: string): Promise<string[]> {
  let root = JSON.parse((await read(dir, 'metadata/1.root.json')).toString()) as Env;
  for (let n = 2; ; n++) {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(dir, `metadata/${n}.root.json`));
    } catch {
      break;
    }
    root = JSON.parse(bytes.toString()) as Env;
  }
  const keys = root.signed.keys;
  const role = (r: string) => root.signed.roles[r] as { keyids: string[]; threshold: number };
  const ts = JSON.parse((await read(dir, 'metadata/timestamp.json')).toString()) as Env;
  checkSigned('timestamp.json', ts, keys, role('timestamp').keyids, role('timestamp').threshold);
  const snapMeta = ts.signed.meta['snapshot.json'];
  const snapBytes = await read(dir, `metadata/${snapMeta.version}.snapshot.json`);
  checkMeta('snapshot', snapBytes, snapMeta);
  const snap = JSON.parse(snapBytes.toString()) as Env;
  checkSigned('snapshot', snap, keys, role('snapshot').keyids, role('snapshot').threshold);
  const loadTargets = async (name: string): Promise<Env> => {
    const m = snap.signed.meta[`${name}.json`];
    if (!m) throw new Error(`snapshot lists no ${name}.json`);
    const bytes = await read(dir, `metadata/${m.version}.${name}.json`);
    checkMeta(name, bytes, m);
    return JSON.parse(bytes.toString()) as Env;
  };
  const top = await loadTargets('targets');
  checkSigned('targets', top, keys, role('targets').keyids, role('targets').threshold);
  const seen: string[] = [];
  const visit = async (env: Env): Promise<void> => {
    for (const [path, info] of Object.entries(env.signed.targets as Record<string, { length: number; hashes: { sha256: string } }>)) {
      const slash = path.lastIndexOf('/');
      const bytes = await read(dir, `targets/${path.slice(0, slash + 1)}${info.hashes.sha256}.${path.slice(slash + 1)}`);
      checkMeta(path, bytes, info);
      seen.push(path);
    }
    for (const d of (env.signed.delegations?.roles ?? []) as { name: string; keyids: string[]; threshold: number }[]) {
      const child = await loadTargets(d.name);
      checkSigned(d.name, child, env.signed.delegations.keys, d.keyids, d.threshold);
      await visit(child);
    }
  };
  await visit(top);
  return seen.sort();
}
