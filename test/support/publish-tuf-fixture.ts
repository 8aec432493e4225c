// A tiny but real TUF repository for publishing tests, in the terminal's local tree
// layout (docs/host-layout.md): the repository simulator's consistent-snapshot
// metadata and targets, plus what a release adds for people (releases/ with SHA256SUMS)
// and the bootstrap copy keys/root.json. Independent of lib/repo, so publishing is
// tested on its own.
import { RepoSimulator, sha256 } from './tuf-repo-simulator.js';

export interface FixtureRepo {
  dir: string;
  sim: RepoSimulator;
  /** Bytes of the first root: what a client pins. */
  rootV1: Uint8Array;
  /** Target paths (project/version/file) → bytes, for every release so far. */
  targets: ReadonlyMap<string, Uint8Array>;
  /** The targets role that lists releases: "targets", or the delegated role. */
  role: string;
}

/** A new repository in `dir`: root v1, targets (and the delegated role) with no targets, snapshot and timestamp v1, keys/root.json. */
export async function createFixtureRepo(dir: string, opts: { delegatedRole?: string } = {}): Promise<FixtureRepo> {
  const sim = new RepoSimulator({ hostDir: dir });
  const role = opts.delegatedRole ?? 'targets';
  if (opts.delegatedRole) sim.delegate('targets', { name: opts.delegatedRole, terminating: true, paths: ['*', '*/*', '*/*/*'] });
  sim.publish();
  sim.write('keys/root.json', sim.trustedRoot);
  return { dir, sim, rootV1: sim.trustedRoot, targets: sim.targetBytes, role };
}

/** Adds a release: its files under targets/ (hash-prefixed) and releases/, then new targets, snapshot and timestamp metadata. */
export async function addRelease(repo: FixtureRepo, project: string, version: string, files: Record<string, string | Buffer>): Promise<string[]> {
  const paths: string[] = [];
  let sums = '';
  for (const [name, content] of Object.entries(files)) {
    const bytes = Buffer.from(content);
    const target = `${project}/${version}/${name}`;
    repo.sim.addTarget(target, bytes, repo.role);
    repo.sim.write(`releases/${target}`, bytes);
    sums += `${sha256(bytes)}  ${name}\n`;
    paths.push(target);
  }
  repo.sim.write(`releases/${project}/${version}/SHA256SUMS`, sums);
  // Top-level targets gets a new version with every release, delegated or not.
  repo.sim.dirty.add('targets');
  repo.sim.publish();
  return paths;
}

/**
 * Rotates the root key: writes (N+1).root.json signed by the old and the new root key
 * (TUF §5.3.4: a new root must be signed by the old root's threshold and its own). The
 * other roles keep their keys, so metadata already on the host stays valid under the
 * new root: a publish can put the root first without breaking clients.
 */
export async function rotateRootKey(repo: FixtureRepo): Promise<void> {
  repo.sim.rotateKeys('root');
  repo.sim.write('keys/root.json', repo.sim.rootHistory.at(-1)!);
}
