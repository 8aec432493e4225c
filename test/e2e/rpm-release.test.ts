// docs/recipe.md "A deterministic .rpm", played as written: a project made of the doc's
// recipe, spec file and build script is released with the built `airlock` (the plan's
// rpm checks, the build in its sandbox, the package signed through the keystore and
// checked with rpmkeys, the dnf repository published), dnf 4.14 installs it from the
// published host with gpgcheck and repo_gpgcheck, and `airlock reproduce` rebuilds the
// package byte for byte from another directory; a second release keeps the first listed.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { terminalPaths, type TerminalPaths } from '../../lib/terminal/home.js';
import { COMMIT_EPOCH, commitFiles, makeRepo, type TestRepo } from '../support/build-repo.js';
import { dnfInstall } from '../support/compat-rpm.js';
import { run } from '../support/compat-tools.js';
import { ensureBuilt, runCli } from '../support/e2e-cli.js';
import { serveDirectory, type StaticServer } from '../support/static-http.js';

const DOC = new URL('../../docs/recipe.md', import.meta.url);
const RPM = 'hello-1.0.0-1.noarch.rpm';
let work: string;
let paths: TerminalPaths;
let host: string;
let server: StaticServer;
let src: TestRepo;
let env: NodeJS.ProcessEnv;
let released: { status: number | null; stdout: string; stderr: string };

/** The fenced block after `<!-- doc-test: NAME -->` in docs/recipe.md. */
function docBlock(doc: string, name: string): string {
  const m = new RegExp(`<!-- doc-test: ${name} -->\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\``).exec(doc);
  if (!m) throw new Error(`docs/recipe.md has no doc-test block ${name}`);
  return m[1]!;
}

beforeAll(async () => {
  await ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'airlock-rpm-release-'));
  paths = terminalPaths(join(work, 'home'));
  host = join(work, 'host');
  await mkdir(host);
  server = await serveDirectory(host);
  // A terminal as the demo makes one (the CLI refuses test-only key costs).
  await writeFile(join(work, 'pass'), `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
  env = { AIRLOCK_HOME: paths.home, AIRLOCK_PASSPHRASE_FILE: join(work, 'pass') };
  const init = await runCli('airlock', ['init', '--name', 'Hello Releases', '--json'], env);
  if (init.status !== 0) throw new Error(`airlock init failed: ${init.stderr}`);
  // The .repo file names the host users fetch from: here, the test's loopback server.
  const config = JSON.parse(await readFile(paths.config, 'utf8')) as Record<string, unknown>;
  await writeFile(paths.config, `${JSON.stringify({ ...config, publicUrl: server.url }, null, 2)}\n`);

  const doc = await readFile(DOC, 'utf8');
  src = makeRepo(
    {
      'airlock.recipe.json': docBlock(doc, 'rpm-recipe'),
      'packaging/hello.spec': docBlock(doc, 'rpm-spec'),
      'packaging/build-rpm.sh': docBlock(doc, 'rpm-build'),
      'src/greeting.txt': 'hello from hello 1.0.0\n',
    },
    'release/1.0.0',
    work,
  );
  released = await runCli('airlock', ['release', '--source', src.dir, '--branch', src.branch, '--commit', src.commit, '--to', host, '--json'], env);
}, 300_000);

afterAll(async () => {
  await server?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the .rpm recipe of docs/recipe.md, released', () => {
  it('airlock release builds it and publishes a signed package and the dnf repository', async () => {
    expect(released.status, released.stderr).toBe(0);
    const built = join(host, 'releases', 'hello', '1.0.0', RPM);
    // The recipe's determinism settings are in the package.
    const q = run('rpm', ['-qp', '--qf', '%{BUILDTIME} %{BUILDHOST} %{PAYLOADCOMPRESSOR}', built]);
    expect(q.stdout).toBe(`${COMMIT_EPOCH} reproducible gzip`);
    const files = run('rpm', ['-qp', '--qf', '[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILEMTIMES} %{FILENAMES}\n]', built]);
    expect(files.stdout).toBe(`-rw-r--r-- root root ${COMMIT_EPOCH} /usr/share/hello/greeting.txt\n`);
    // The copy in rpm/Packages/ carries the header signature by the published key.
    const db = join(work, 'rpmdb');
    await mkdir(db);
    expect(run('rpmkeys', ['--dbpath', db, '--import', join(host, 'keys', 'release-signing.asc')]).status).toBe(0);
    const checked = run('rpmkeys', ['--dbpath', db, '--checksig', '-v', join(host, 'rpm', 'Packages', RPM)]);
    expect(checked.status, checked.stdout).toBe(0);
    expect(checked.stdout).toMatch(/Header V4 EdDSA\/SHA256 Signature, key ID [0-9a-f]{8}: OK/);
  });

  it('dnf installs it from the published host with gpgcheck and repo_gpgcheck', async () => {
    const r = await dnfInstall(join(work, 'dnf'), await readFile(join(host, 'rpm', 'hello.repo')), 'hello');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(await readFile(join(work, 'dnf', 'installroot', 'usr', 'share', 'hello', 'greeting.txt'), 'utf8')).toBe('hello from hello 1.0.0\n');
  }, 180_000);

  it('a second release keeps the first in the repository: both in rpm/Packages/ and the repodata, the newest installs', async () => {
    const recipe = await readFile(join(src.dir, 'airlock.recipe.json'), 'utf8');
    const commit = commitFiles(src.dir, 'release/1.0.1', { 'airlock.recipe.json': recipe.replaceAll('1.0.0', '1.0.1'), 'src/greeting.txt': 'hello from hello 1.0.1\n' }, COMMIT_EPOCH + 60);
    const r = await runCli('airlock', ['release', '--source', src.dir, '--branch', 'release/1.0.1', '--commit', commit, '--to', host, '--json'], env);
    expect(r.status, r.stderr).toBe(0);
    // The host keeps the earlier release's repodata files (published paths are never
    // deleted); repomd.xml names the current primary.
    const repomd = await readFile(join(host, 'rpm', 'repodata', 'repomd.xml'), 'utf8');
    const primary = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(repomd)![1]!;
    const xml = gunzipSync(await readFile(join(host, 'rpm', primary))).toString('utf8');
    expect([...xml.matchAll(/<version epoch="0" ver="([^"]+)"/g)].map((m) => m[1]).sort()).toEqual(['1.0.0', '1.0.1']);
    const d = await dnfInstall(join(work, 'dnf-2'), await readFile(join(host, 'rpm', 'hello.repo')), 'hello');
    expect(d.status, d.stdout + d.stderr).toBe(0);
    expect(await readFile(join(work, 'dnf-2', 'installroot', 'usr', 'share', 'hello', 'greeting.txt'), 'utf8')).toBe('hello from hello 1.0.1\n');
  }, 300_000);

  it('airlock reproduce rebuilds the package byte for byte from another directory', async () => {
    const root = join(host, 'keys', 'root.json');
    const fingerprint = createHash('sha256').update(await readFile(root)).digest('hex');
    const r = await runCli('airlock', ['reproduce', 'hello/1.0.0', '--from', host, '--root', root, '--fingerprint', fingerprint, '--source', src.dir, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { reproducible: boolean; artifacts: { name: string; status: string }[] };
    expect(report.reproducible).toBe(true);
    expect(report.artifacts.find((a) => a.name === RPM)?.status).toBe('identical');
  }, 240_000);
});
