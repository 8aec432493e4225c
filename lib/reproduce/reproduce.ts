// `airlock reproduce`, end to end: verify (published-release.ts: metadata, provenance,
// every artifact — all before any build), rebuild the recorded commit with the recorded
// recipe and environment in a fresh directory (lib/builder `rebuildFromProvenance`), then
// compare every artifact byte for byte and, where they differ, entry by entry. Needs no
// keys: everything it trusts comes from the pinned root.
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFileAtomic, writeStreamAtomic } from '../core/atomic-file.js';
import { fromSystemError } from '../core/errors.js';
import { rebuildFromProvenance, type BuildResult } from '../builder/index.js';
import type { Updater } from '../verify/index.js';
import { compareArtifact, type ArtifactComparison } from './artifact-compare.js';
import { findDiffoscope, runDiffoscope, type DiffoscopeResult } from './diffoscope.js';
import type { RootSigned } from '../core/tuf-metadata.js';
import { fetchVerifiedRelease, type ReleaseId } from './published-release.js';
import type { ProvenanceSigner } from './provenance-signer.js';

export interface ReproduceOptions {
  /** Reads the repository from the pinned root (lib/verify). */
  updater: Updater;
  /** Roots from the pinned one on (verifiedRootChain), so a provenance signed by a retired targets key is named as such. */
  earlierRoots?: readonly RootSigned[];
  release: ReleaseId;
  /** Git URL or directory holding the recorded commit (any clone will do). */
  source: string;
  /** Parent of the fresh build directory (default: the system temp directory); created only when the build starts. */
  workRoot?: string;
  /**
   * Where the report, the build log and, for each differing artifact, both files and
   * diffoscope's report are kept. Default: a new directory under the system temp
   * directory, made only when something differs.
   */
  outputDir?: string;
  /** Let recipe steps reach the network (recorded in the rebuild's own provenance). */
  allowNetwork?: boolean;
  /** The diffoscope program; default: diffoscope on PATH if there is one; false: never. */
  diffoscope?: string | false;
  /** Keep the build directory (checkout, outputs, log) instead of removing it. */
  keepBuild?: boolean;
  onNote?: (message: string) => void;
  /** Build output as it happens. */
  onOutput?: (chunk: string) => void;
}

export interface ArtifactReport extends ArtifactComparison {
  target: string;
  /** Copies of both files, for a differing artifact. */
  kept?: { published: string; rebuilt: string | null };
  diffoscope?: DiffoscopeResult;
}

export interface ReproduceReport {
  reproducible: boolean;
  project: string;
  version: string;
  commit: string;
  branch: string;
  sourceDateEpoch: number;
  source: string;
  /** signedBy: the key ids whose DSSE signatures verified (signer.keyIds); signer: current, retired or unlisted targets key. */
  provenance: { target: string; sha256: string; signedBy: string[]; signer: ProvenanceSigner };
  artifacts: ArtifactReport[];
  /** Targets of the release that its provenance does not name (cannot be reproduced). */
  unaccounted: string[];
  rebuild: {
    network: 'isolated' | 'allowed';
    /** zlib of the original build and of this one: compressed bytes can differ between zlib builds. */
    zlib: { recorded: string | null; rebuilt: string | null };
    /** The build directory, when kept. */
    buildDir: string | null;
  };
  outputDir: string | null;
}

async function copyAtomic(from: string, to: string): Promise<void> {
  await writeStreamAtomic(to, createReadStream(from, { highWaterMark: 1 << 20 }));
}

async function makeDir(path: string): Promise<string> {
  try {
    await mkdir(path, { recursive: true });
    return path;
  } catch (err) {
    throw fromSystemError(err, `creating ${path}`);
  }
}

export async function reproduceRelease(opts: ReproduceOptions): Promise<ReproduceReport> {
  const note = opts.onNote ?? (() => undefined);
  const { project, version } = opts.release;
  let downloads: string;
  try {
    downloads = await mkdtemp(join(tmpdir(), 'airlock-reproduce-'));
  } catch (err) {
    throw fromSystemError(err, 'creating a download directory');
  }
  let build: BuildResult | undefined;
  try {
    const published = await fetchVerifiedRelease(opts.updater, opts.release, downloads, { onNote: note, ...(opts.earlierRoots ? { earlierRoots: opts.earlierRoots } : {}) });
    const { recorded, statement } = published.provenance;

    note(`rebuilding commit ${recorded.commit} from ${opts.source}`);
    build = await rebuildFromProvenance(statement, opts.source, {
      ...(opts.workRoot !== undefined ? { workRoot: resolve(opts.workRoot) } : {}),
      ...(opts.allowNetwork !== undefined ? { allowNetwork: opts.allowNetwork } : {}),
      ...(opts.onOutput ? { onOutput: opts.onOutput } : {}),
    });
    const rebuilt = new Map(build.artifacts.map((a) => [a.name, a.path]));

    const artifacts: ArtifactReport[] = [];
    for (const a of published.artifacts) {
      artifacts.push({ target: a.target.path, ...(await compareArtifact(a.name, a.path, rebuilt.get(a.name))) });
    }
    const differing = artifacts.filter((a) => a.status !== 'identical');
    const reproducible = differing.length === 0 && published.unaccounted.length === 0;

    let outputDir: string | null = null;
    if (opts.outputDir !== undefined) outputDir = await makeDir(resolve(opts.outputDir));
    else if (!reproducible) {
      try {
        outputDir = await mkdtemp(join(tmpdir(), `airlock-reproduce-${project}-${version}-`));
      } catch (err) {
        throw fromSystemError(err, 'creating the report directory');
      }
    }
    if (outputDir !== null) {
      await copyAtomic(build.buildLog, join(outputDir, 'build.log'));
      const diffoscope = opts.diffoscope === false ? undefined : (opts.diffoscope ?? findDiffoscope());
      for (const a of differing) {
        const keptPublished = join(await makeDir(join(outputDir, 'published')), a.name);
        await copyAtomic(join(downloads, a.name), keptPublished);
        let keptRebuilt: string | null = null;
        const rebuiltPath = rebuilt.get(a.name);
        if (rebuiltPath !== undefined) {
          keptRebuilt = join(await makeDir(join(outputDir, 'rebuilt')), a.name);
          await copyAtomic(rebuiltPath, keptRebuilt);
        }
        a.kept = { published: keptPublished, rebuilt: keptRebuilt };
        if (diffoscope !== undefined && keptRebuilt !== null) {
          note(`running diffoscope on ${a.name}`);
          a.diffoscope = await runDiffoscope(diffoscope, keptPublished, keptRebuilt, join(outputDir, 'diffoscope', `${a.name}.txt`));
        }
      }
    }

    const zlibOf = (s: typeof statement) => s.predicate.runDetails.builder.version?.zlib ?? null;
    const report: ReproduceReport = {
      reproducible,
      project,
      version,
      commit: recorded.commit,
      branch: recorded.branch,
      sourceDateEpoch: recorded.sourceDateEpoch,
      source: opts.source,
      provenance: { target: published.provenanceTarget.path, sha256: published.provenanceTarget.hashes.sha256 ?? '', signedBy: published.provenance.keyIds, signer: published.signer },
      artifacts,
      unaccounted: published.unaccounted,
      rebuild: {
        network: build.statement.predicate.buildDefinition.internalParameters.network,
        zlib: { recorded: zlibOf(statement), rebuilt: zlibOf(build.statement) },
        buildDir: opts.keepBuild ? build.workDir : null,
      },
      outputDir,
    };
    if (outputDir !== null) await writeFileAtomic(join(outputDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    if (build && !opts.keepBuild) await build.cleanup();
    await rm(downloads, { recursive: true, force: true });
  }
}
