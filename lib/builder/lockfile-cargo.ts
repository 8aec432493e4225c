// Cargo.lock (versions 1–4; https://doc.rust-lang.org/cargo/guide/cargo-toml-vs-cargo-lock.html
// and cargo's `resolve` encoding). A registry package is pinned by its `checksum`
// (version 1 kept checksums in a [metadata] table instead). Packages without `source`
// are this workspace's own crates. Git sources are not pinned by content and are refused
// unless allowed. Only the subset of TOML that cargo writes is read.
import { lockfileError, unpinned, type LockfileCheckContext } from './lockfile-errors.js';

interface CargoPackage {
  name?: string;
  version?: string;
  source?: string;
  checksum?: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

function unquote(v: string): string | undefined {
  const m = /^"((?:[^"\\]|\\.)*)"$/.exec(v.trim());
  return m ? m[1]!.replace(/\\(.)/g, '$1') : undefined;
}

export function parseCargoLock(text: string, ctx: Pick<LockfileCheckContext, 'path'>): { packages: CargoPackage[]; metadata: Map<string, string> } {
  const packages: CargoPackage[] = [];
  const metadata = new Map<string, string>();
  let table: 'package' | 'metadata' | 'other' | 'top' = 'top';
  let current: CargoPackage | undefined;
  let inArray = false;
  const lines = text.split(/\r?\n/);
  for (const [n, raw] of lines.entries()) {
    const line = raw.trim();
    if (inArray) {
      if (line.endsWith(']')) inArray = false;
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    if (line === '[[package]]') {
      current = {};
      packages.push(current);
      table = 'package';
      continue;
    }
    if (line.startsWith('[')) {
      table = line === '[metadata]' ? 'metadata' : 'other';
      current = undefined;
      continue;
    }
    const eq = line.indexOf(' = ');
    if (eq < 0) throw lockfileError(ctx, `line ${n + 1} is not a Cargo.lock line; regenerate it with \`cargo generate-lockfile\``);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 3).trim();
    if (value.startsWith('[') && !value.endsWith(']')) {
      inArray = true;
      continue;
    }
    if (table === 'package' && current) {
      const s = unquote(value);
      if (key === 'name' || key === 'version' || key === 'source' || key === 'checksum') {
        if (s === undefined) throw lockfileError(ctx, `line ${n + 1}: ${key} must be a string`);
        current[key] = s;
      }
    } else if (table === 'metadata') {
      const k = unquote(key);
      const s = unquote(value);
      if (k !== undefined && s !== undefined) metadata.set(k, s);
    }
  }
  return { packages, metadata };
}

export function checkCargoLock(text: string, ctx: LockfileCheckContext): number {
  const { packages, metadata } = parseCargoLock(text, ctx);
  if (packages.length === 0) throw lockfileError(ctx, 'lists no packages; is it a Cargo.lock?');
  let checked = 0;
  for (const p of packages) {
    if (!p.name || !p.version) throw lockfileError(ctx, 'has a [[package]] without name or version');
    if (p.source === undefined) continue; // a crate of this workspace
    checked++;
    const id = `${p.name}@${p.version}`;
    if (ctx.allow.has(p.name) || ctx.allow.has(id)) continue;
    if (p.source.startsWith('git+')) throw unpinned(ctx, id, `is a git dependency (${p.source})`);
    if (!ctx.registries.includes(p.source)) throw unpinned(ctx, id, `comes from ${p.source}, which is not an allowed registry`);
    const checksum = p.checksum ?? metadata.get(`checksum ${p.name} ${p.version} (${p.source})`);
    if (checksum === undefined || !HEX64.test(checksum)) throw unpinned(ctx, id, 'has no checksum');
  }
  return checked;
}
