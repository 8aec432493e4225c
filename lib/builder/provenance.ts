// Build provenance: an in-toto Statement v1
// (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md) with a SLSA
// Provenance v1 predicate (https://slsa.dev/spec/v1.0/provenance). The build type and
// every field airlock puts in it are specified in docs/provenance.md; `airlock
// reproduce` rebuilds from exactly these fields, so they must be enough to run the same
// build again and must not name anything of the machine that built it.
import { pathToFileURL } from 'node:url';
import { isAbsolute, resolve } from 'node:path';
import { AirlockError } from '../core/errors.js';
import { COMMIT_RE } from './git.js';
import { HOME_PLACEHOLDER, OUT_PLACEHOLDER, stepEnv } from './plan.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** The airlock recipe build, version 1 (docs/provenance.md). */
export const BUILD_TYPE = 'urn:airlock:build-type:recipe:v1';
/** A release built on the release terminal. */
export const BUILDER_RELEASE = 'urn:airlock:builder:release-terminal:v1';
/** A rebuild by `airlock reproduce` (no keys; CI). */
export const BUILDER_REPRODUCE = 'urn:airlock:builder:reproduce:v1';

export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ExternalParameters {
  repository: string;
  branch: string;
  commit: string;
  releasePattern: string;
  recipe: { path: string; digest: { sha256: string } };
  allowNetwork: boolean;
}

export interface InternalParameters {
  env: Record<string, string>;
  umask: '022';
  network: 'isolated' | 'allowed';
}

export interface SlsaProvenance {
  buildDefinition: {
    buildType: string;
    externalParameters: ExternalParameters;
    internalParameters: InternalParameters;
    resolvedDependencies: ResourceDescriptor[];
  };
  runDetails: {
    builder: { id: string; version?: Record<string, string> };
    metadata: { invocationId: string; startedOn: string; finishedOn: string };
    byproducts?: ResourceDescriptor[];
  };
}

export interface InTotoSubject {
  name: string;
  digest: Record<string, string>;
}

export interface InTotoStatement {
  _type: typeof STATEMENT_TYPE;
  subject: InTotoSubject[];
  predicateType: typeof SLSA_PROVENANCE_V1;
  predicate: SlsaProvenance;
}

/** The pinned source and recipe a build ran from: written into a statement, read back for a rebuild. */
export interface BuildParameters {
  repository: string;
  branch: string;
  commit: string;
  releasePattern: string;
  recipePath: string;
  recipeSha256: string;
  allowNetwork: boolean;
  project: string;
  version: string;
  sourceDateEpoch: number;
}

export interface StatementInput extends BuildParameters {
  builderId: string;
  builderVersion: string;
  network: 'isolated' | 'allowed';
  lockfiles: { path: string; type: string; sha256: string }[];
  artifacts: { name: string; digests: { sha256: string; sha512: string } }[];
  buildLog?: { name: string; sha256: string };
  invocationId: string;
  startedOn: Date;
  finishedOn: Date;
}

/** `git+<url>` as SLSA writes source repositories; local paths become file: URLs. */
export function repositoryUri(repository: string): string {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(repository)) return `git+${repository}`;
  if (isAbsolute(repository) || repository.startsWith('.') || !repository.includes(':')) return `git+${pathToFileURL(resolve(repository)).href}`;
  return `git+ssh://${repository.replace(':', '/')}`;
}

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function buildStatement(i: StatementInput): InTotoStatement {
  const env = stepEnv({ project: i.project, version: i.version }, i.sourceDateEpoch, HOME_PLACEHOLDER, OUT_PLACEHOLDER);
  const byproducts = i.buildLog ? [{ name: i.buildLog.name, digest: { sha256: i.buildLog.sha256 } }] : undefined;
  return {
    _type: STATEMENT_TYPE,
    subject: i.artifacts.map((a) => ({ name: a.name, digest: { sha256: a.digests.sha256, sha512: a.digests.sha512 } })),
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          repository: i.repository,
          branch: i.branch,
          commit: i.commit,
          releasePattern: i.releasePattern,
          recipe: { path: i.recipePath, digest: { sha256: i.recipeSha256 } },
          allowNetwork: i.allowNetwork,
        },
        internalParameters: { env, umask: '022', network: i.network },
        resolvedDependencies: [
          { name: 'source', uri: `${repositoryUri(i.repository)}@refs/heads/${i.branch}`, digest: { gitCommit: i.commit } },
          ...i.lockfiles.map((l) => ({ name: l.path, digest: { sha256: l.sha256 }, annotations: { ecosystem: l.type } })),
        ],
      },
      runDetails: {
        // The compressed bytes of archive steps are as stable as the zlib build (docs/provenance.md).
        builder: { id: i.builderId, version: { airlock: i.builderVersion, node: process.version, zlib: process.versions.zlib ?? 'unknown' } },
        metadata: { invocationId: i.invocationId, startedOn: isoSeconds(i.startedOn), finishedOn: isoSeconds(i.finishedOn) },
        ...(byproducts ? { byproducts } : {}),
      },
    },
  };
}

/** JSON with object keys in code-point order at every level: the same statement, the same bytes. */
export function statementBytes(statement: InTotoStatement): Uint8Array {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return Buffer.from(JSON.stringify(sort(statement)), 'utf8');
}

/** What a rebuild needs, read from a statement. */
export interface RecordedBuild extends BuildParameters {
  lockfiles: Record<string, string>;
  subjects: InTotoSubject[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Parses a statement (already taken out of a verified envelope) and checks every field a
 * rebuild relies on; all problems are reported together (E_PROVENANCE).
 */
export function parseStatement(value: unknown): { statement: InTotoStatement; recorded: RecordedBuild } {
  const p: string[] = [];
  const need = <T>(ok: boolean, what: string, v: T): T => {
    if (!ok) p.push(what);
    return v;
  };
  if (!isObj(value)) throw new AirlockError('E_PROVENANCE', 'the provenance is not a JSON object');
  need(value._type === STATEMENT_TYPE, `_type must be ${STATEMENT_TYPE}`, 0);
  need(value.predicateType === SLSA_PROVENANCE_V1, `predicateType must be ${SLSA_PROVENANCE_V1}`, 0);
  const subjects: InTotoSubject[] = [];
  if (!Array.isArray(value.subject) || value.subject.length === 0) p.push('subject must be a non-empty array');
  else
    value.subject.forEach((s: unknown, i) => {
      if (isObj(s) && typeof s.name === 'string' && isObj(s.digest) && typeof s.digest.sha256 === 'string' && HEX64.test(s.digest.sha256)) {
        subjects.push({ name: s.name, digest: s.digest as Record<string, string> });
      } else p.push(`subject[${i}] must have a name and a sha256 digest`);
    });
  const pred = isObj(value.predicate) ? value.predicate : {};
  const bd = isObj(pred.buildDefinition) ? pred.buildDefinition : {};
  need(bd.buildType === BUILD_TYPE, `buildType must be ${BUILD_TYPE} (this airlock rebuilds only its own recipe builds)`, 0);
  const ext = isObj(bd.externalParameters) ? bd.externalParameters : {};
  const int = isObj(bd.internalParameters) ? bd.internalParameters : {};
  const env = isObj(int.env) ? int.env : {};
  const recipe = isObj(ext.recipe) ? ext.recipe : {};
  const recipeDigest = isObj(recipe.digest) ? recipe.digest : {};
  const str = (v: unknown, what: string): string => need(typeof v === 'string' && v !== '', `${what} must be a non-empty string`, String(v ?? ''));
  const repository = str(ext.repository, 'externalParameters.repository');
  const branch = str(ext.branch, 'externalParameters.branch');
  const commit = need(typeof ext.commit === 'string' && COMMIT_RE.test(ext.commit), 'externalParameters.commit must be a full commit id', String(ext.commit ?? ''));
  const releasePattern = str(ext.releasePattern, 'externalParameters.releasePattern');
  const recipePath = str(recipe.path, 'externalParameters.recipe.path');
  const recipeSha256 = need(typeof recipeDigest.sha256 === 'string' && HEX64.test(recipeDigest.sha256), 'externalParameters.recipe.digest.sha256 must be a SHA-256', String(recipeDigest.sha256 ?? ''));
  const allowNetwork = need(typeof ext.allowNetwork === 'boolean', 'externalParameters.allowNetwork must be a boolean', ext.allowNetwork === true);
  const project = str(env.AIRLOCK_PROJECT, 'internalParameters.env.AIRLOCK_PROJECT');
  const version = str(env.AIRLOCK_VERSION, 'internalParameters.env.AIRLOCK_VERSION');
  const sde = Number(env.SOURCE_DATE_EPOCH);
  need(typeof env.SOURCE_DATE_EPOCH === 'string' && /^\d+$/.test(env.SOURCE_DATE_EPOCH) && Number.isSafeInteger(sde), 'internalParameters.env.SOURCE_DATE_EPOCH must be whole seconds', 0);
  const lockfiles: Record<string, string> = {};
  if (!Array.isArray(bd.resolvedDependencies)) p.push('resolvedDependencies must be an array');
  else
    for (const d of bd.resolvedDependencies as unknown[]) {
      if (!isObj(d) || d.name === 'source') continue;
      const dg = isObj(d.digest) ? d.digest : {};
      if (typeof d.name === 'string' && typeof dg.sha256 === 'string' && HEX64.test(dg.sha256)) lockfiles[d.name] = dg.sha256;
      else p.push('every resolved dependency other than the source must have a name and a sha256 digest');
    }
  if (p.length > 0) {
    throw new AirlockError('E_PROVENANCE', `the provenance is not an airlock build provenance: ${p.join('; ')}`, { details: { problems: p } });
  }
  return {
    statement: value as unknown as InTotoStatement,
    recorded: { repository, branch, commit, releasePattern, recipePath, recipeSha256, allowNetwork, project, version, sourceDateEpoch: sde, lockfiles, subjects },
  };
}
