// The static host layout (docs/host-layout.md), a public interface: which
// stage each path belongs to, whether it is immutable once published, and the order in
// which files are written — to a host by lib/publish, and into the terminal's own
// repository copy by lib/repo — so that a client reading at any moment sees the
// previous release or the whole new one (docs/host-layout.md, "Publishing order"; TUF §5: a client
// reads timestamp → snapshot → targets → target files, so files are written in the
// reverse order of that chain: content, targets metadata, snapshot, timestamp). A new
// root goes up after timestamp.json: the online metadata of a root change is signed so
// that the previous root accepts it too (lib/repo/transaction.ts, a rotation's
// transition), so a client that has not yet found the new root keeps working, and one
// that finds it finds metadata it accepts. keys/ goes last: the bootstrap root users
// pin must never name a root version the host does not have yet.
import { AirlockError } from './errors.js';

export type PublishStage = 'content' | 'apt-index' | 'root' | 'delegated' | 'targets' | 'snapshot' | 'timestamp' | 'keys';
export const STAGE_ORDER: readonly PublishStage[] = ['content', 'delegated', 'targets', 'snapshot', 'apt-index', 'timestamp', 'root', 'keys'];

export interface PathClass {
  stage: PublishStage;
  immutable: boolean;
  /** Orders files inside a stage: compared element by element, then by path. */
  rank: readonly number[];
}

const VERSIONED = /^metadata\/([1-9][0-9]*)\.(.+)\.json$/;

/** Where a path of the host tree goes in the publishing order; E_PUBLISH_LAYOUT if it has no place. */
export function classifyPath(path: string): PathClass {
  const top = path.slice(0, path.indexOf('/') + 1);
  if (top === 'metadata/') {
    if (path === 'metadata/timestamp.json') return { stage: 'timestamp', immutable: false, rank: [] };
    const m = VERSIONED.exec(path);
    if (!m) {
      throw new AirlockError('E_PUBLISH_LAYOUT', `${path} has no place in the host layout (metadata/ holds N.root.json, V.<role>.json and timestamp.json); remove it from the terminal's repository`, {
        details: { path },
      });
    }
    const version = Number(m[1]);
    const role = m[2]!;
    // Versioned metadata is immutable: consistent snapshots (TUF §5.5.3) name a version
    // once, and clients holding it by name must never see it change.
    if (role === 'root') return { stage: 'root', immutable: true, rank: [version] };
    if (role === 'targets') return { stage: 'targets', immutable: true, rank: [version] };
    if (role === 'snapshot') return { stage: 'snapshot', immutable: true, rank: [version] };
    if (role === 'timestamp') {
      throw new AirlockError('E_PUBLISH_LAYOUT', `${path}: timestamp metadata is published only as metadata/timestamp.json`, { details: { path } });
    }
    return { stage: 'delegated', immutable: true, rank: [version] };
  }
  if (top === 'apt/') {
    if (path.startsWith('apt/pool/')) return { stage: 'content', immutable: true, rank: [0] };
    if (path.startsWith('apt/dists/')) {
      // apt reads InRelease (or Release + Release.gpg) first and then the indices they
      // hash, so the indices go up first and InRelease last (Debian RepositoryFormat).
      const rest = path.split('/').slice(3); // after apt/dists/<suite>/
      const name = rest.join('/');
      // by-hash/SHA256/<hex>: named by its content, so never rewritten (caches keep it).
      if (rest.at(-3) === 'by-hash') return { stage: 'apt-index', immutable: true, rank: [0] };
      if (name === 'InRelease') return { stage: 'apt-index', immutable: false, rank: [3] };
      if (name === 'Release') return { stage: 'apt-index', immutable: false, rank: [1] };
      if (name === 'Release.gpg') return { stage: 'apt-index', immutable: false, rank: [2] };
      return { stage: 'apt-index', immutable: false, rank: [0] };
    }
    return { stage: 'content', immutable: false, rank: [3] };
  }
  if (top === 'rpm/') {
    // Signed packages with the content; repodata after the metadata, repomd.xml (which
    // names every other metadata file by checksum) after them and its signature last.
    if (path.startsWith('rpm/Packages/')) return { stage: 'content', immutable: true, rank: [0] };
    if (path === 'rpm/repodata/repomd.xml') return { stage: 'apt-index', immutable: false, rank: [4] };
    if (path === 'rpm/repodata/repomd.xml.asc') return { stage: 'apt-index', immutable: false, rank: [5] };
    // <checksum>-primary.xml.gz …: named by content, never rewritten.
    if (path.startsWith('rpm/repodata/')) return { stage: 'apt-index', immutable: true, rank: [0] };
    return { stage: 'content', immutable: false, rank: [3] };
  }
  if (top === 'targets/') return { stage: 'content', immutable: true, rank: [0] };
  if (top === 'releases/') {
    // Checksums and signatures after the files they cover, for people reading the tree.
    const base = path.slice(path.lastIndexOf('/') + 1);
    const covering = base.startsWith('SHA256SUMS') || /\.(asc|minisig|sshsig|sha512)$/.test(base);
    return { stage: 'content', immutable: true, rank: [covering ? 2 : 1] };
  }
  // keys/ (the bootstrap root copy, the OpenPGP and minisign public keys) changes when a
  // key rotates; anything else outside the layout is carried as mutable content.
  if (top === 'keys/') return { stage: 'keys', immutable: false, rank: [] };
  return { stage: 'content', immutable: false, rank: [3] };
}

export function comparePublishOrder(a: { path: string } & PathClass, b: { path: string } & PathClass): number {
  const s = STAGE_ORDER.indexOf(a.stage) - STAGE_ORDER.indexOf(b.stage);
  if (s !== 0) return s;
  const n = Math.max(a.rank.length, b.rank.length);
  for (let i = 0; i < n; i++) {
    const d = (a.rank[i] ?? 0) - (b.rank[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}
