// The build recipe: `airlock.recipe.json` at the root of the project's repository.
// Format: docs/recipe.md (this module writes nothing; it parses and validates). Every
// problem is collected and reported at once, so a release manager fixes a recipe in one
// round trip; unknown fields are refused so a typo ("artefacts") cannot silently drop a
// check.
import { posix } from 'node:path';
import { AirlockError } from '../core/errors.js';

export const RECIPE_FILE = 'airlock.recipe.json';
/** A recipe is a few hundred bytes; anything near this cap is not a recipe. */
export const RECIPE_MAX_BYTES = 1 << 20;

export type LockfileType = 'npm' | 'cargo' | 'pip';
export const LOCKFILE_TYPES: readonly LockfileType[] = ['npm', 'cargo', 'pip'];

export interface ArchiveStep {
  kind: 'archive';
  name: string;
  /** File name written in $AIRLOCK_OUT. */
  output: string;
  /** Directory archived, relative to the checkout ('.' for all of it). */
  root: string;
  /** Put before every entry name; '' or a relative directory ending in '/'. */
  prefix: string;
  /** Paths relative to `root`; each excludes itself and everything under it. */
  exclude: string[];
}

export interface RunStep {
  kind: 'run';
  name: string;
  argv: string[];
  /** Working directory relative to the checkout. */
  cwd: string;
  /** Kill the step after this many seconds; 0 = no limit. */
  timeoutSeconds: number;
}

export type RecipeStep = ArchiveStep | RunStep;

export interface LockfileSpec {
  path: string;
  type: LockfileType;
}

export interface Recipe {
  project: string;
  version: string;
  steps: RecipeStep[];
  artifacts: string[];
  lockfiles: LockfileSpec[];
  allow: { unpinned: string[] };
  /** Registries a pinned dependency may come from, per ecosystem (defaults: the public ones). */
  registries: { npm: string[]; cargo: string[] };
}

export const DEFAULT_REGISTRIES = {
  npm: ['https://registry.npmjs.org/'],
  cargo: ['registry+https://github.com/rust-lang/crates.io-index', 'sparse+https://index.crates.io/'],
} as const;

/** Project and version become target path components (`<project>/<version>/<file>`). */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+~-]{0,127}$/;

/** A plain file name: no directory part, nothing hidden behind '.' or '..'. */
export function isPlainFileName(s: string): boolean {
  return s.length > 0 && s.length <= 255 && !s.includes('/') && !s.includes('\0') && s !== '.' && s !== '..';
}

/** A relative path that stays inside its base directory. */
export function isInsidePath(s: string): boolean {
  if (s.length === 0 || s.includes('\0') || s.startsWith('/')) return false;
  const n = posix.normalize(s);
  return n !== '..' && !n.startsWith('../');
}

/** Lockfile type from its file name, when the name says it. */
export function lockfileTypeOf(path: string): LockfileType | undefined {
  const base = posix.basename(path);
  if (base === 'package-lock.json' || base === 'npm-shrinkwrap.json') return 'npm';
  if (base === 'Cargo.lock') return 'cargo';
  if (/^requirements.*\.txt$/.test(base) || base.endsWith('.requirements.txt')) return 'pip';
  return undefined;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Problems {
  readonly list: string[] = [];
  add(where: string, what: string): void {
    this.list.push(`${where}: ${what}`);
  }
  unknownKeys(where: string, o: Obj, known: readonly string[]): void {
    for (const k of Object.keys(o)) if (!known.includes(k)) this.add(where, `unknown field "${k}"`);
  }
}

function stringArray(p: Problems, where: string, v: unknown, check?: (s: string) => string | undefined): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    p.add(where, 'must be an array of strings');
    return [];
  }
  const out: string[] = [];
  v.forEach((s, i) => {
    if (typeof s !== 'string') {
      p.add(`${where}[${i}]`, 'must be a string');
      return;
    }
    const bad = check?.(s);
    if (bad) p.add(`${where}[${i}]`, bad);
    else out.push(s);
  });
  return out;
}

function parseArchive(p: Problems, where: string, name: string, a: unknown): ArchiveStep | undefined {
  if (!isObj(a)) {
    p.add(where, 'must be an object');
    return undefined;
  }
  p.unknownKeys(where, a, ['output', 'root', 'prefix', 'exclude']);
  const ok = p.list.length;
  const output = a.output;
  if (typeof output !== 'string' || !isPlainFileName(output)) p.add(`${where}.output`, 'must be a plain file name (no "/")');
  const root = a.root ?? '.';
  if (typeof root !== 'string' || (root !== '.' && !isInsidePath(root))) p.add(`${where}.root`, 'must be a relative path inside the checkout');
  const prefix = a.prefix ?? '';
  if (typeof prefix !== 'string' || (prefix !== '' && (!prefix.endsWith('/') || !isInsidePath(prefix) || posix.normalize(prefix) !== prefix))) {
    p.add(`${where}.prefix`, 'must be "" or a normalised relative directory ending in "/", e.g. "hello-1.2.0/"');
  }
  const exclude = stringArray(p, `${where}.exclude`, a.exclude, (s) =>
    isInsidePath(s) && posix.normalize(s) !== '.' ? undefined : 'must be a relative path inside the archive root',
  );
  if (p.list.length !== ok) return undefined;
  return {
    kind: 'archive',
    name,
    output: output as string,
    root: posix.normalize(root as string),
    prefix: prefix as string,
    exclude: exclude.map((e) => posix.normalize(e).replace(/\/$/, '')),
  };
}

function parseStep(p: Problems, i: number, s: unknown): RecipeStep | undefined {
  const where = `steps[${i}]`;
  if (!isObj(s)) {
    p.add(where, 'must be an object');
    return undefined;
  }
  p.unknownKeys(where, s, ['name', 'archive', 'run', 'cwd', 'timeoutSeconds']);
  const name = s.name;
  if (typeof name !== 'string' || name.trim() === '' || name.length > 200) p.add(`${where}.name`, 'must be a non-empty string');
  const hasArchive = s.archive !== undefined;
  const hasRun = s.run !== undefined;
  if (hasArchive === hasRun) {
    p.add(where, 'must have exactly one of "archive" or "run"');
    return undefined;
  }
  if (typeof name !== 'string') return undefined;
  if (hasArchive) {
    if (s.cwd !== undefined || s.timeoutSeconds !== undefined) p.add(where, '"cwd" and "timeoutSeconds" apply to "run" steps only');
    return parseArchive(p, `${where}.archive`, name, s.archive);
  }
  const before = p.list.length;
  const argv = stringArray(p, `${where}.run`, s.run, (a) => (a.includes('\0') ? 'must not contain NUL' : undefined));
  if (Array.isArray(s.run) && s.run.length === 0) p.add(`${where}.run`, 'must name a program: ["program", "arg", …]');
  if (argv[0] === '') p.add(`${where}.run[0]`, 'must not be empty');
  const cwd = s.cwd ?? '.';
  if (typeof cwd !== 'string' || (cwd !== '.' && !isInsidePath(cwd))) p.add(`${where}.cwd`, 'must be a relative path inside the checkout');
  const timeout = s.timeoutSeconds ?? 0;
  if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 0) p.add(`${where}.timeoutSeconds`, 'must be a whole number of seconds');
  if (p.list.length !== before) return undefined;
  return { kind: 'run', name, argv, cwd: posix.normalize(cwd as string), timeoutSeconds: timeout as number };
}

function parseLockfiles(p: Problems, v: unknown): LockfileSpec[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    p.add('lockfiles', 'must be an array');
    return [];
  }
  const out: LockfileSpec[] = [];
  v.forEach((l, i) => {
    const where = `lockfiles[${i}]`;
    let path: unknown;
    let type: unknown;
    if (typeof l === 'string') {
      path = l;
    } else if (isObj(l)) {
      p.unknownKeys(where, l, ['path', 'type']);
      path = l.path;
      type = l.type;
    } else {
      p.add(where, 'must be a path or {"path", "type"}');
      return;
    }
    if (typeof path !== 'string' || !isInsidePath(path)) {
      p.add(where, 'path must be relative and inside the checkout');
      return;
    }
    const t = type ?? lockfileTypeOf(path);
    if (typeof t !== 'string' || !(LOCKFILE_TYPES as readonly string[]).includes(t)) {
      p.add(where, `cannot tell the ecosystem of "${path}"; give {"path": "${path}", "type": "npm" | "cargo" | "pip"}`);
      return;
    }
    out.push({ path: posix.normalize(path), type: t as LockfileType });
  });
  return out;
}

function parseRegistries(p: Problems, v: unknown): Recipe['registries'] {
  const r: Recipe['registries'] = { npm: [...DEFAULT_REGISTRIES.npm], cargo: [...DEFAULT_REGISTRIES.cargo] };
  if (v === undefined) return r;
  if (!isObj(v)) {
    p.add('registries', 'must be an object');
    return r;
  }
  p.unknownKeys('registries', v, ['npm', 'cargo']);
  if (v.npm !== undefined) {
    r.npm = stringArray(p, 'registries.npm', v.npm, (s) => (/^https:\/\/[^/]+\/(?:.*\/)?$/.test(s) ? undefined : 'must be an https:// URL ending in "/"'));
  }
  if (v.cargo !== undefined) {
    r.cargo = stringArray(p, 'registries.cargo', v.cargo, (s) => (/^(?:registry|sparse)\+https:\/\//.test(s) ? undefined : 'must be a Cargo.lock source such as "sparse+https://index.crates.io/"'));
  }
  return r;
}

/** Parses and validates recipe bytes; throws E_RECIPE listing every problem. */
export function parseRecipe(bytes: Uint8Array | string, where = RECIPE_FILE): Recipe {
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new AirlockError('E_RECIPE', `${where} is not valid JSON; fix the syntax`, { cause: err });
  }
  const p = new Problems();
  if (!isObj(json)) throw new AirlockError('E_RECIPE', `${where} must hold a JSON object; see docs/recipe.md`);
  p.unknownKeys(where, json, ['project', 'version', 'steps', 'artifacts', 'lockfiles', 'allow', 'registries']);
  const { project, version } = json;
  if (typeof project !== 'string' || !NAME_RE.test(project)) p.add('project', 'must be a name of letters, digits and ". _ + ~ -"');
  if (typeof version !== 'string' || !NAME_RE.test(version)) p.add('version', 'must be a version of letters, digits and ". _ + ~ -"');

  const steps: RecipeStep[] = [];
  if (!Array.isArray(json.steps) || json.steps.length === 0) p.add('steps', 'must be a non-empty array');
  else json.steps.forEach((s, i) => {
    const step = parseStep(p, i, s);
    if (step) steps.push(step);
  });
  const names = new Set<string>();
  for (const s of steps) {
    if (names.has(s.name)) p.add('steps', `two steps are named "${s.name}"; names identify steps in the log`);
    names.add(s.name);
  }

  const artifacts = stringArray(p, 'artifacts', json.artifacts, (s) => (isPlainFileName(s) ? undefined : 'must be a plain file name in $AIRLOCK_OUT'));
  if (!Array.isArray(json.artifacts) || json.artifacts.length === 0) p.add('artifacts', 'must list at least one file');
  if (new Set(artifacts).size !== artifacts.length) p.add('artifacts', 'lists a file twice');

  const lockfiles = parseLockfiles(p, json.lockfiles);
  let unpinned: string[] = [];
  if (json.allow !== undefined) {
    if (!isObj(json.allow)) p.add('allow', 'must be an object');
    else {
      p.unknownKeys('allow', json.allow, ['unpinned']);
      unpinned = stringArray(p, 'allow.unpinned', json.allow.unpinned);
    }
  }
  const registries = parseRegistries(p, json.registries);

  if (p.list.length > 0) {
    throw new AirlockError('E_RECIPE', `${where} is not a valid recipe (see docs/recipe.md):\n  ${p.list.join('\n  ')}`, {
      details: { problems: p.list },
    });
  }
  return { project: project as string, version: version as string, steps, artifacts, lockfiles, allow: { unpinned }, registries };
}
