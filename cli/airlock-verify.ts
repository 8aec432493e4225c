#!/usr/bin/env node
// The downstream verifier: checks downloads against a pinned TUF root. Bundled into
// one file (dist/airlock-verify.mjs) that runs with plain node, so it imports only
// lib/verify, lib/core and node built-ins, and parses its flags with node:util
// (docs/verifier.md). This file only parses and dispatches.
import { writeSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AirlockError } from '../lib/core/errors.js';
import type { Limits } from '../lib/verify/index.js';
import { check } from './commands/verify/check.js';
import { download } from './commands/verify/download.js';
import { init } from './commands/verify/init.js';
import { list } from './commands/verify/list.js';
import { refresh } from './commands/verify/refresh.js';
import { printableError } from './verify-session.js';
import { action } from './run.js';

const VERSION = '0.1.0';

const USAGE = `airlock-verify — check downloads against a pinned root of trust (TUF)

Usage:
  airlock-verify init --root root.json --fingerprint HEX [--state DIR]
  airlock-verify refresh --from URL_OR_DIR [--root root.json] [--state DIR]
  airlock-verify download TARGET... --from URL_OR_DIR [--root root.json] [--state DIR] [-o FILE | --out-dir DIR] [--force]
  airlock-verify check FILE --target TARGET --from URL_OR_DIR [--root root.json] [--state DIR]
  airlock-verify list [PREFIX] --from URL_OR_DIR [--root root.json] [--state DIR]

Options:
  --from URL_OR_DIR    http(s):// base URL or directory of the static host; repeat for mirrors (tried in order)
  --root FILE          the pinned root.json (without --state: a fresh state that is not kept)
  --state DIR          trusted metadata kept between runs (default: $AIRLOCK_VERIFY_STATE,
                       $XDG_STATE_HOME/airlock-verify or ~/.local/state/airlock-verify)
  --fingerprint HEX    SHA-256 of root.json as the publisher announced it (init)
  -o, --output FILE    where to write the one TARGET (download; default: its base name here)
  --out-dir DIR        where to write targets, each under its URL-encoded path (download)
  --force              replace an existing file that is not the target (download)
  --target TARGET      the target path FILE must be (check)
  --idle-timeout MS    cut a connection silent for this long (default 30000)
  --min-rate BYTES     cut a transfer slower than this many bytes/s … (default 1024)
  --rate-window MS     … over a window of this length (default 10000)
  --json               print one JSON object on stdout
  -h, --help           this help
  --version            the version

Exit status: 0 verified, 1 refused (the error code is printed), 2 usage, 3 environment.
`;

const COMMON = {
  from: { type: 'string', multiple: true },
  root: { type: 'string' },
  state: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  'idle-timeout': { type: 'string' },
  'min-rate': { type: 'string' },
  'rate-window': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

const OPTIONS = {
  init: { root: COMMON.root, state: COMMON.state, json: COMMON.json, help: COMMON.help, fingerprint: { type: 'string' } },
  refresh: COMMON,
  download: { ...COMMON, output: { type: 'string', short: 'o' }, 'out-dir': { type: 'string' }, force: { type: 'boolean' } },
  check: { ...COMMON, target: { type: 'string' } },
  list: COMMON,
} as const satisfies Record<string, ParseArgsConfig['options']>;

type CommandName = keyof typeof OPTIONS;

function parse<C extends CommandName>(command: C, args: string[]) {
  try {
    return parseArgs({ args, options: OPTIONS[command], allowPositionals: true, strict: true });
  } catch (err) {
    throw new AirlockError('E_USAGE', `${(err as Error).message}; see airlock-verify --help`, { cause: err });
  }
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new AirlockError('E_USAGE', `${flag} is required; see airlock-verify --help`);
  return value;
}

function positionals(command: string, got: string[], min: number, max: number): void {
  if (got.length < min || got.length > max) {
    throw new AirlockError('E_USAGE', `${command}: unexpected arguments ${JSON.stringify(got)}; see airlock-verify --help`);
  }
}

function limitsFrom(values: Record<string, unknown>): Partial<Limits> {
  const number = (flag: string): number | undefined => {
    const v = values[flag];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new AirlockError('E_USAGE', `--${flag} takes a whole number`);
    return Number(v);
  };
  return { idleTimeoutMs: number('idle-timeout'), minBytesPerSecond: number('min-rate'), rateWindowMs: number('rate-window') };
}

/**
 * Help and version leave in plain write(2) calls: opening the stdout stream loads
 * node:net and the stream modules, a twentieth of the verifier's whole start-up
 * (docs/performance-ratios.md).
 */
function printNow(text: string): void {
  const bytes = Buffer.from(text);
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(1, bytes, done);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // The reader is gone (`airlock-verify --help | head -1`): nothing left to print to.
    if (code === 'EPIPE') return;
    // A non-blocking pipe that is full: the stream waits for it as usual.
    if (code !== 'EAGAIN') throw err;
    process.stdout.write(bytes.subarray(done));
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    // No command is a usage error like any other (exit 2); the usage goes to stderr.
    process.stderr.write(USAGE);
    await action(async (_opts: { json: boolean }) => {
      throw new AirlockError('E_USAGE', 'a command is required (the list is above)');
    })({ json: false });
    return;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    printNow(USAGE);
    return;
  }
  if (command === '--version') {
    printNow(`${VERSION}\n`);
    return;
  }
  const json = rest.includes('--json');
  await action(async (opts: { json: boolean }) => {
    try {
      await run(command, rest, opts);
    } catch (err) {
      throw printableError(err);
    }
  })({ json });
}

async function run(command: string, rest: string[], opts: { json: boolean }): Promise<void> {
  if (!Object.hasOwn(OPTIONS, command)) throw new AirlockError('E_USAGE', `unknown command "${command}"; see airlock-verify --help`);
  const { values, positionals: pos } = parse(command as CommandName, rest);
  const v = values as Record<string, unknown>;
  if (v.help) {
    printNow(USAGE);
    return;
  }
  const session = {
    json: opts.json,
    from: v.from as string[] | undefined,
    root: v.root as string | undefined,
    state: v.state as string | undefined,
    limits: limitsFrom(v),
  };
  switch (command as CommandName) {
    case 'init':
      positionals('init', pos, 0, 0);
      return init({ json: opts.json, root: required(v.root as string, '--root'), fingerprint: required(v.fingerprint as string, '--fingerprint'), state: session.state });
    case 'refresh':
      positionals('refresh', pos, 0, 0);
      return refresh(session);
    case 'download':
      return download({ ...session, targets: pos, output: v.output as string | undefined, outDir: v['out-dir'] as string | undefined, force: v.force === true });
    case 'check':
      positionals('check', pos, 1, 1);
      return check({ ...session, file: pos[0]!, target: required(v.target as string, '--target') });
    case 'list':
      positionals('list', pos, 0, 1);
      return list({ ...session, prefix: pos[0] });
  }
}

await main(process.argv.slice(2));
