// pip requirements files in hash-checking mode
// (https://pip.pypa.io/en/stable/reference/requirements-file-format/ and
// https://pip.pypa.io/en/stable/topics/secure-installs/): every requirement is
// `name==version` (or `===`) with at least one `--hash=<sha256|sha384|sha512>:<hex>`.
// Direct URLs, local paths and editable installs are refused unless allowed. With every
// requirement hashed, pip runs in --require-hashes mode on its own, so index options are
// harmless: a hash pins the content wherever it comes from.
import { posix } from 'node:path';
import { lockfileError, unpinned, type LockfileCheckContext } from './lockfile-errors.js';

const HASH_RE = /^--hash[= ](?:sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})$/;
const NAME_RE = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$/;
/** Options that choose where packages come from or how they are built, not what they are. */
const HARMLESS_OPTIONS = /^(?:--require-hashes|--index-url|-i|--extra-index-url|--no-index|--find-links|-f|--trusted-host|--no-binary|--only-binary|--prefer-binary|--pre|--use-feature)(?:[= ]|$)/;

/** PEP 503 normalised project name. */
export function normalisePipName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** Logical lines: comments removed, backslash continuations joined. */
function logicalLines(text: string): { line: string; n: number }[] {
  const out: { line: string; n: number }[] = [];
  let acc = '';
  let start = 0;
  text.split(/\r?\n/).forEach((raw, i) => {
    if (acc === '') start = i + 1;
    const noComment = raw.replace(/(^|\s)#.*$/, '');
    if (noComment.endsWith('\\')) {
      acc += `${noComment.slice(0, -1)} `;
      return;
    }
    acc += noComment;
    if (acc.trim() !== '') out.push({ line: acc.trim(), n: start });
    acc = '';
  });
  if (acc.trim() !== '') out.push({ line: acc.trim(), n: start });
  return out;
}

/**
 * Checks a requirements file. `listed` holds every lockfile path of the recipe: a
 * nested `-r`/`-c` file is accepted only when it is itself listed (and so checked).
 */
export function checkPipRequirements(text: string, ctx: LockfileCheckContext, listed: ReadonlySet<string> = new Set()): number {
  let checked = 0;
  for (const { line, n } of logicalLines(text)) {
    const include = /^(?:-r|--requirement|-c|--constraint)[= ]?\s*(\S+)$/.exec(line);
    if (include) {
      const nested = posix.normalize(posix.join(posix.dirname(ctx.path), include[1]!));
      if (!listed.has(nested)) throw lockfileError(ctx, `includes ${nested} (line ${n}), which the recipe does not list in "lockfiles"; list it so it is checked too`);
      continue;
    }
    if (/^(?:-e|--editable)\b/.test(line)) {
      const spec = line.replace(/^(?:-e|--editable)[= ]?\s*/, '');
      if (!ctx.allow.has(spec)) throw unpinned(ctx, spec, 'is an editable install');
      continue;
    }
    if (line.startsWith('-')) {
      if (HARMLESS_OPTIONS.test(line)) continue;
      throw lockfileError(ctx, `has an option pip's hash-checking mode does not allow here (line ${n}: ${line.split(/\s/)[0]})`);
    }
    checked++;
    const tokens = line.split(/\s+(?=--)/);
    const spec = tokens[0]!;
    const options = tokens.slice(1).map((t) => t.trim());
    const m = NAME_RE.exec(spec);
    if (!m || /^[a-z+]+:\/\//i.test(spec) || spec.startsWith('.') || spec.startsWith('/')) {
      if (ctx.allow.has(spec)) continue;
      throw unpinned(ctx, spec, 'is a URL or a local path, not a release from an index');
    }
    const name = m[1]!;
    if (ctx.allow.has(name) || ctx.allow.has(normalisePipName(name))) continue;
    const rest = m[3]!.split(';')[0]!.trim();
    if (rest.startsWith('@')) throw unpinned(ctx, name, `is a direct reference (${rest})`);
    if (!/^===?\s*[^\s,*<>=!~]+$/.test(rest)) throw unpinned(ctx, name, `is not pinned to one version with == (it says "${rest || 'any version'}")`);
    if (!options.some((o) => HASH_RE.test(o))) throw unpinned(ctx, name, 'has no --hash=sha256:…');
  }
  return checked;
}
