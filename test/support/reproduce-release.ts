// Releases for reproduce tests, made the way the release terminal makes them — a real
// build from a pinned release branch (lib/builder), a DSSE provenance, signed TUF metadata
// (lib/repo) — with in-memory keys, into a repository directory that is itself the
// static host tree. A release can be given a compromised build on the way: artifacts
// swapped after the build (and the provenance's subject digests made to match, as a
// compromised terminal would), a provenance signed by another key, or altered subjects.
// Everything stays validly signed by the repository's keys unless a test says otherwise.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip, createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { hashFile } from '../../lib/core/digest.js';
import { buildRelease, signProvenance, type BuildResult, type InTotoStatement } from '../../lib/builder/index.js';
import type { Signer } from '../../lib/keys/signer.js';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { initRepository } from '../../lib/repo/init-repository.js';
import { releaseToRepository } from '../../lib/repo/release.js';
import { commitFiles, gitIn, recipeJson } from './build-repo.js';
import { memorySigner, type MemorySigner } from './memory-signer.js';

export const SAMPLE_PROJECT = 'sample';

export interface CompromisedBuild {
  /** Changes the built artifacts in place before anything is signed. */
  artifacts?: (build: BuildResult) => Promise<void>;
  /** Edits the statement after its subjects were set from the (possibly changed) artifacts. */
  statement?: (statement: InTotoStatement) => void;
  /** Signs the provenance with this key instead of the repository's targets key. */
  provenanceSigner?: Signer;
}

export interface SampleRepository {
  work: string;
  /** The project's git repository (one release branch per version). */
  source: string;
  /** The repository directory: a static host tree. */
  host: string;
  /** The pinned root (keys/root.json). */
  root: string;
  /** A file the recipe's run step appends a line to whenever a build of `version` runs it. */
  marker(version: string): string;
  targets: MemorySigner;
  /** The timestamp key (tests forge what a compromised online key could sign). */
  timestamp: MemorySigner;
  /** Commits a release branch for `version`, builds it, signs and writes the release; returns the commit. */
  release(version: string, compromise?: CompromisedBuild): Promise<string>;
  cleanup(): Promise<void>;
}

function sampleFiles(version: string, marker: string): Record<string, string | { content: string; mode: number }> {
  return {
    'README.md': `# ${SAMPLE_PROJECT}\n\nA project released to test airlock reproduce.\n`,
    'src/hello.sh': { content: `#!/bin/sh\necho "hello from ${SAMPLE_PROJECT} ${version}"\n`, mode: 0o755 },
    'airlock.recipe.json': recipeJson({
      project: SAMPLE_PROJECT,
      version,
      steps: [
        { name: 'source tarball', archive: { output: `${SAMPLE_PROJECT}-${version}.tar.gz`, root: '.', prefix: `${SAMPLE_PROJECT}-${version}/` } },
        // The marker line shows whether a build ran at all (a refused reproduce must not get here).
        { name: 'notes', run: ['sh', '-c', `echo built >> '${marker}' && printf 'notes for %s\\n' "$AIRLOCK_VERSION" > "$AIRLOCK_OUT/${SAMPLE_PROJECT}-notes-${version}.txt"`] },
      ],
      artifacts: [`${SAMPLE_PROJECT}-${version}.tar.gz`, `${SAMPLE_PROJECT}-notes-${version}.txt`],
    }),
  };
}

export async function sampleRepository(): Promise<SampleRepository> {
  const work = await mkdtemp(join(tmpdir(), 'airlock-reproduce-test-'));
  const source = join(work, 'source');
  const host = join(work, 'host');
  const staging = join(work, 'staging');
  const markers = join(work, 'markers');
  await mkdir(source);
  await mkdir(markers);
  gitIn(source, ['init', '-q', '-b', 'main']);
  gitIn(source, ['commit', '-q', '--allow-empty', '-m', 'root']);
  const signers = { root: [memorySigner('root')], rootThreshold: 1, targets: memorySigner('targets'), snapshot: memorySigner('snapshot'), timestamp: memorySigner('timestamp') };
  const options = { now: new Date(), expiryDays: DEFAULT_EXPIRY_DAYS, name: 'Reproduce Tests' };
  await initRepository(host, staging, signers, options);
  const marker = (version: string) => join(markers, `${version}.log`);

  return {
    work,
    source,
    host,
    root: join(host, 'keys', 'root.json'),
    marker,
    targets: signers.targets,
    timestamp: signers.timestamp,
    async release(version, compromise = {}) {
      gitIn(source, ['checkout', '-q', 'main']);
      const branch = `release/${version}`;
      const commit = commitFiles(source, branch, sampleFiles(version, marker(version)), undefined, `release ${version}`);
      const build = await buildRelease({ source, branch, commit, workRoot: work });
      try {
        await compromise.artifacts?.(build);
        // A compromised terminal signs what it has: subjects follow the artifacts' bytes.
        const statement = structuredClone(build.statement);
        for (const a of build.artifacts) {
          const { length, digests } = await hashFile(a.path);
          Object.assign(a, { length, digests });
          statement.subject.find((s) => s.name === a.name)!.digest = { sha256: digests.sha256, sha512: digests.sha512 };
        }
        compromise.statement?.(statement);
        const provenance = await signProvenance(statement, compromise.provenanceSigner ?? signers.targets);
        await releaseToRepository(
          host,
          staging,
          {
            project: build.project,
            version: build.version,
            commit,
            branch,
            sourceDateEpoch: build.sourceDateEpoch,
            artifacts: build.artifacts.map((a) => ({ name: a.name, path: a.path })),
            provenance,
          },
          signers,
          options,
        );
      } finally {
        await build.cleanup();
      }
      // Only builds after the release count.
      await rm(marker(version), { force: true });
      return commit;
    },
    async cleanup() {
      await rm(work, { recursive: true, force: true });
    },
  };
}

export interface TarEdit {
  /** Entry name → new content. */
  content?: Record<string, string>;
  /** Entry name → new mtime (seconds). */
  mtime?: Record<string, number>;
}

/** Rewrites a .tar.gz entry by entry, changing only what `edit` names (gzip level 9 as airlock's archives). */
export async function rewriteTarGz(path: string, edit: TarEdit): Promise<void> {
  const out = `${path}.rewritten`;
  const extract = tar.extract();
  const pack = tar.pack();
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      let body = Buffer.concat(chunks);
      const h = { ...header };
      const text = edit.content?.[header.name];
      if (text !== undefined) {
        body = Buffer.from(text);
        h.size = body.length;
      }
      const mtime = edit.mtime?.[header.name];
      if (mtime !== undefined) h.mtime = new Date(mtime * 1000);
      pack.entry(h, body, next);
    });
  });
  extract.on('finish', () => pack.finalize());
  await Promise.all([
    pipeline(createReadStream(path), createGunzip(), extract),
    pipeline(pack, createGzip({ level: 9 }), createWriteStream(out)),
  ]);
  await rename(out, path);
}
