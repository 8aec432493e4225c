#!/usr/bin/env node
// `npm run demo -- [OUTDIR]`: plays a whole release with no human input, as the README's
// demo contract says. A sample project (git repository with a release branch and a
// lockfile, whose recipe makes a source tarball and a .deb), a terminal home with keys,
// build, sign, publish to OUTDIR/host, then a download verified as a user would.
// The passphrase file is a demo convenience only: a real terminal prompts for it.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const airlock = join(repoRoot, 'dist', 'cli', 'airlock.js');
const verifier = join(repoRoot, 'dist', 'airlock-verify.mjs');
const out = resolve(process.argv[2] ?? 'demo-out');
const project = 'hello';
const version = '1.0.0';
const branch = `release/${version}`;

function say(msg) {
  process.stderr.write(`demo: ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...opts });
}

// Refuse to wipe a directory that is not an earlier demo's output.
if (existsSync(out) && readdirSync(out).length > 0) {
  if (!existsSync(join(out, 'demo.json')) && !existsSync(join(out, 'terminal.pass'))) {
    process.stderr.write(`demo: ${out} exists and is not an earlier demo output; choose another OUTDIR\n`);
    process.exit(2);
  }
  rmSync(out, { recursive: true, force: true });
}
mkdirSync(out, { recursive: true });

// --- the sample project ---------------------------------------------------------------
const source = join(out, 'source');
const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Demo Developer',
  GIT_AUTHOR_EMAIL: 'dev@example.org',
  GIT_COMMITTER_NAME: 'Demo Developer',
  GIT_COMMITTER_EMAIL: 'dev@example.org',
  GIT_AUTHOR_DATE: '2026-01-15T12:00:00Z',
  GIT_COMMITTER_DATE: '2026-01-15T12:00:00Z',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};
const files = {
  'README.md': `# hello\n\nA tiny program released with airlock's demo.\n`,
  'src/hello.sh': `#!/bin/sh\necho "hello from ${project} ${version}"\n`,
  'package.json': `${JSON.stringify({ name: project, version, private: true, dependencies: { 'is-number': '7.0.0' } }, null, 2)}\n`,
  'package-lock.json': `${JSON.stringify(
    {
      name: project,
      version,
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: project, version, dependencies: { 'is-number': '7.0.0' } },
        'node_modules/is-number': {
          version: '7.0.0',
          resolved: 'https://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz',
          integrity: 'sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==',
          engines: { node: '>=0.12.0' },
        },
      },
    },
    null,
    2,
  )}\n`,
  'packaging/build-deb.sh': `#!/bin/sh
# Builds the .deb deterministically: fixed owners, modes and mtimes, gzip members.
set -eu
pkg="$(mktemp -d)"
trap 'rm -rf "$pkg"' EXIT
chmod 0755 "$pkg"
mkdir -p "$pkg/DEBIAN" "$pkg/usr/bin"
install -m 0755 src/hello.sh "$pkg/usr/bin/hello"
cat > "$pkg/DEBIAN/control" <<EOF
Package: ${project}
Version: $AIRLOCK_VERSION
Architecture: all
Maintainer: Demo Developer <dev@example.org>
Description: airlock demo program
 Prints a greeting. Released with airlock's demo.
EOF
find "$pkg" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
dpkg-deb --root-owner-group -Zgzip --build "$pkg" "$AIRLOCK_OUT/${project}_\${AIRLOCK_VERSION}_all.deb" >/dev/null
`,
  'airlock.recipe.json': `${JSON.stringify(
    {
      project,
      version,
      steps: [
        { name: 'source tarball', archive: { output: `${project}-${version}.tar.gz`, root: '.', prefix: `${project}-${version}/`, exclude: ['.git'] } },
        { name: 'deb', run: ['sh', 'packaging/build-deb.sh'] },
      ],
      artifacts: [`${project}-${version}.tar.gz`, `${project}_${version}_all.deb`],
      lockfiles: ['package-lock.json'],
    },
    null,
    2,
  )}\n`,
};
say(`sample project in ${source}`);
for (const [name, text] of Object.entries(files)) {
  mkdirSync(dirname(join(source, name)), { recursive: true });
  writeFileSync(join(source, name), text);
}
chmodSync(join(source, 'src/hello.sh'), 0o755);
run('git', ['init', '-q', '-b', 'main', source], { env: gitEnv });
run('git', ['-C', source, 'add', '-A'], { env: gitEnv });
run('git', ['-C', source, 'commit', '-q', '-m', `hello ${version}`], { env: gitEnv });
run('git', ['-C', source, 'branch', branch], { env: gitEnv });
const commit = run('git', ['-C', source, 'rev-parse', branch], { env: gitEnv }).trim();

// --- the release terminal -------------------------------------------------------------
const terminal = join(out, 'terminal');
const passFile = join(out, 'terminal.pass');
writeFileSync(passFile, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
chmodSync(passFile, 0o600);
const terminalEnv = { ...process.env, AIRLOCK_HOME: terminal, AIRLOCK_PASSPHRASE_FILE: passFile };
const host = join(out, 'host');

say('airlock init');
const init = JSON.parse(run(process.execPath, [airlock, 'init', '--name', 'Hello Project Releases', '--json'], { env: terminalEnv }));
say(`airlock release ${branch} @ ${commit.slice(0, 12)}`);
run(process.execPath, [airlock, 'release', '--source', source, '--branch', branch, '--commit', commit, '--to', host, '--json'], { env: terminalEnv, stdio: ['ignore', 'pipe', 'inherit'] });

// --- what a user pins, and a verified download ----------------------------------------
const trusted = join(out, 'trusted');
mkdirSync(trusted, { recursive: true });
for (const f of ['root.json', 'release-signing.asc', 'minisign.pub']) {
  if (existsSync(join(host, 'keys', f))) copyFileSync(join(host, 'keys', f), join(trusted, f));
}
const rootFingerprint = createHash('sha256').update(readFileSync(join(trusted, 'root.json'))).digest('hex');
if (rootFingerprint !== init.rootFingerprint) {
  process.stderr.write('demo: the published root.json differs from the one init made\n');
  process.exit(1);
}

const releaseDir = join(host, 'releases', project, version);
const artifacts = readdirSync(releaseDir)
  .filter((f) => !/\.(asc|minisig|sshsig|sha512)$/.test(f) && !f.startsWith('SHA256SUMS'))
  .sort()
  .map((f) => ({ target: `${project}/${version}/${f}`, release: `releases/${project}/${version}/${f}` }));

const state = join(out, 'verify-state');
const downloads = join(out, 'downloads');
say('airlock-verify init + download (as a user)');
run(process.execPath, [verifier, 'init', '--root', join(trusted, 'root.json'), '--fingerprint', rootFingerprint, '--state', state]);
run(process.execPath, [verifier, 'download', ...artifacts.map((a) => a.target), '--from', host, '--state', state, '--out-dir', downloads]);

writeFileSync(join(out, 'demo.json'), `${JSON.stringify({ project, version, rootFingerprint, source, artifacts }, null, 2)}\n`);
say(`done: host tree in ${host}, pinned root in ${join(trusted, 'root.json')} (fingerprint ${rootFingerprint})`);
process.stdout.write(`${join(out, 'demo.json')}\n`);
