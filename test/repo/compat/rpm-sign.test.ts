// rpm package signing, hardened (security review): rpmsign and rpmkeys read rpm's own
// defaults only (a hostile ~/.rpmmacros is never read), the signing command is airlock's
// whatever the macros say, a temporary directory with `%` in its path is not expanded as
// a macro (and one rpm would split is refused before anything runs), and a package whose
// signature rpmkeys does not accept with the published keys is refused.
import { chmod, copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AirlockError } from '../../../lib/core/errors.js';
import { openpgpCertificate, openpgpFingerprint } from '../../../lib/repo/compat/index.js';
import { checkRpmSignature, signRpmPackage } from '../../../lib/repo/compat/rpm-sign.js';
import { checkRpmRelease, observeRpmTools, rpmMacroPath } from '../../../lib/repo/compat/rpm-tools.js';
import { buildRpm } from '../../support/compat-rpm.js';
import { run, tempDir } from '../../support/compat-tools.js';
import { memorySigner } from '../../support/memory-signer.js';

const pgp = memorySigner('pgp');
const signedAt = new Date('2026-03-01T12:00:00Z');
const subject = { kind: 'rpm-header', name: 'rpm/Packages/hello-1.0.0-1.noarch.rpm' } as const;
let work: { path: string; remove(): Promise<void> };
let unsigned: string;
let publishedKeys: string;
let n = 0;
const savedEnv = { TMPDIR: process.env.TMPDIR, HOME: process.env.HOME, PATH: process.env.PATH };

async function freshCopy(): Promise<string> {
  const dir = join(work.path, `pkg-${++n}`);
  await mkdir(dir);
  await copyFile(unsigned, join(dir, 'hello-1.0.0-1.noarch.rpm'));
  return join(dir, 'hello-1.0.0-1.noarch.rpm');
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AirlockError) return err.code;
    throw err;
  }
  return 'resolved';
}

/** What rpmkeys says of `rpm` with only `keys` imported (rpm's default configuration). */
function checksig(rpm: string, keys: string): { status: number | null; stdout: string } {
  const db = join(work.path, `db-${++n}`);
  run('mkdir', [db]);
  run('rpmkeys', ['--dbpath', db, '--import', keys]);
  return run('rpmkeys', ['--dbpath', db, '--checksig', '-v', rpm]);
}

beforeAll(async () => {
  work = await tempDir('compat-rpmsign');
  unsigned = await buildRpm(join(work.path, 'build'));
  publishedKeys = await openpgpCertificate(pgp, 'Hello Releases <releases@example.org>');
  await writeFile(join(work.path, 'keys.asc'), publishedKeys);
}, 60_000);

afterEach(() => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

afterAll(async () => {
  await work?.remove();
});

describe('rpm package signatures', () => {
  it('signs with an Ed25519 pgp key; rpmkeys --checksig accepts it with the published key', async () => {
    for (const [signer, algorithm] of [[pgp, 'EdDSA']] as const) {
      const keys = await openpgpCertificate(signer, 'Hello Releases <releases@example.org>');
      const rpm = await freshCopy();
      await signRpmPackage(rpm, signer, signedAt, subject, keys);
      await writeFile(join(work.path, 'k.asc'), keys);
      const r = checksig(rpm, join(work.path, 'k.asc'));
      expect(r.status, r.stdout).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`Header V4 ${algorithm}/SHA256 Signature, key ID [0-9a-f]{8}: OK`));
    }
  }, 60_000);

  it('a TMPDIR with % in its path is taken literally, not expanded as an rpm macro', async () => {
    // Unescaped, rpm would expand %_bindir (or run a %(…) shell) inside the signing command's path.
    const tmp = join(work.path, 'tmp%_bindir%%{x}');
    await mkdir(tmp);
    process.env.TMPDIR = join(work.path, 'tmp%_bindir');
    await mkdir(process.env.TMPDIR);
    const rpm = await freshCopy();
    await signRpmPackage(rpm, pgp, signedAt, subject, publishedKeys);
    expect(checksig(rpm, join(work.path, 'keys.asc')).status).toBe(0);
    expect(rpmMacroPath('/tmp/a%b')).toBe('/tmp/a%%b');
  }, 60_000);

  it('refuses a TMPDIR rpm would split or parse (blank, brace, parenthesis, quote, newline) before rpmsign runs', async () => {
    for (const bad of ['with space', 'brace{', 'paren(id)', "quote'", 'new\nline']) {
      const tmp = join(work.path, `bad-${++n}-${bad}`);
      await mkdir(tmp);
      process.env.TMPDIR = tmp;
      const rpm = await freshCopy();
      const before = await readFile(rpm);
      expect(await codeOf(signRpmPackage(rpm, pgp, signedAt, subject, publishedKeys)), bad).toBe('E_CONFIG');
      expect(await readFile(rpm)).toEqual(before);
      // The release plan refuses the same TMPDIR before the build.
      expect(() => checkRpmRelease({ tools: { missing: [], tmpdir: tmp }, publicUrl: 'https://releases.example.org', pgpKeyType: 'ed25519' })).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
    }
  });

  it('ignores a hostile ~/.rpmmacros (which rpm reads by default) and signs with its own command', async () => {
    const home = join(work.path, 'hostile-home');
    const marker = join(work.path, 'macros-were-read');
    const evil = join(work.path, 'evil-sign');
    await mkdir(home);
    await writeFile(evil, `#!/bin/sh\ntouch ${marker}.sign\nexit 1\n`);
    await chmod(evil, 0o755);
    // Each macro runs a shell (%(…)) when rpm expands it: rpmsign expands %_gpg_name,
    // rpmkeys %_dbpath and %_pkgverify_* (which could switch its signature checks off).
    const hostile = (value: string): string => `%(touch ${marker})${value}`;
    await writeFile(join(home, '.rpmmacros'), [`%__gpg_sign_cmd ${hostile(evil)} -sbo %{__signature_filename}`, `%__gpg ${evil}`, `%_gpg_name ${hostile('x')}`, `%_pkgverify_level ${hostile('none')}`, `%_pkgverify_flags ${hostile('0xffffffff')}`, `%_dbpath ${hostile(join(work.path, 'evil-db'))}`, ''].join('\n'));
    // The control: rpm's programs, left to themselves, read that file.
    run('rpmkeys', ['--checksig', unsigned], { env: { HOME: home } });
    expect((await stat(marker)).isFile()).toBe(true);
    await rm(marker);

    process.env.HOME = home;
    const rpm = await freshCopy();
    await signRpmPackage(rpm, pgp, signedAt, subject, publishedKeys);
    await expect(stat(marker)).rejects.toThrow();
    await expect(stat(`${marker}.sign`)).rejects.toThrow();
    expect(checksig(rpm, join(work.path, 'keys.asc')).status).toBe(0);
  }, 60_000);

  it('refuses a package whose signature rpmkeys does not accept with the published keys', async () => {
    // The keys the host would publish are another key's: dnf users could not verify the package.
    const other = await openpgpCertificate(memorySigner('pgp'), 'Someone Else <else@example.org>');
    expect(await codeOf(signRpmPackage(await freshCopy(), pgp, signedAt, subject, other))).toBe('E_RPM_SIGNATURE');
    // An unsigned package.
    expect(await codeOf(checkRpmSignature(unsigned, publishedKeys, openpgpFingerprint(pgp), 'unsigned'))).toBe('E_RPM_SIGNATURE');
  }, 60_000);

  it('refuses when rpmsign reports success but placed no signature', async () => {
    // An rpmsign that skips the second run (the one that places the signature) and exits 0.
    const bin = join(work.path, 'fake-bin');
    await mkdir(bin);
    const real = run('sh', ['-c', 'command -v rpmsign']).stdout.trim();
    await writeFile(join(bin, 'rpmsign'), `#!/bin/sh\n[ "$AIRLOCK_RPMSIGN_PHASE" = emit ] && exit 0\nexec ${real} "$@"\n`);
    await chmod(join(bin, 'rpmsign'), 0o755);
    process.env.PATH = `${bin}:${savedEnv.PATH}`;
    const rpm = await freshCopy();
    expect(await codeOf(signRpmPackage(rpm, pgp, signedAt, subject, publishedKeys))).toBe('E_RPM_SIGNATURE');
  }, 60_000);
});

describe('the release plan check (checkRpmRelease)', () => {
  const ok = { tools: { missing: [], tmpdir: '/tmp' }, publicUrl: 'https://releases.example.org', pgpKeyType: 'ed25519' as const };
  const code = (f: () => void): string => {
    try {
      f();
      return 'ok';
    } catch (err) {
      return (err as AirlockError).code;
    }
  };

  it('passes on this machine, and refuses a missing tool, no pgp key or no publicUrl with their codes', async () => {
    const tools = await observeRpmTools();
    expect(code(() => checkRpmRelease({ ...ok, tools }))).toBe('ok');
    expect(code(() => checkRpmRelease({ ...ok, tools: { missing: [{ tool: 'createrepo_c', pkg: 'createrepo-c' }], tmpdir: '/tmp' } }))).toBe('E_TOOL_MISSING');
    expect(code(() => checkRpmRelease({ ...ok, pgpKeyType: undefined }))).toBe('E_KEY_NOT_FOUND');
    expect(code(() => checkRpmRelease({ ...ok, publicUrl: undefined }))).toBe('E_CONFIG');
  });

  it('refuses a P-256 pgp key before the build: Debian 12\'s rpm 4.18 cannot place or check its signature', async () => {
    expect(code(() => checkRpmRelease({ ...ok, pgpKeyType: 'ecdsa-p256' }))).toBe('E_KEY_ROLE');
    // What rpm itself says, so the check is lifted once rpm learns it.
    const p256 = memorySigner('pgp', new Date('2026-01-01T00:00:00Z'), 'ecdsa-p256');
    const keys = await openpgpCertificate(p256, 'Hello Releases <releases@example.org>');
    expect(await codeOf(signRpmPackage(await freshCopy(), p256, signedAt, subject, keys))).toBe('E_RPM_INVALID');
  }, 60_000);

  it('finds a tool missing from PATH', async () => {
    process.env.PATH = '/nonexistent';
    const tools = await observeRpmTools();
    expect(tools.missing.map((m) => m.tool)).toEqual(expect.arrayContaining(['rpmsign', 'rpmkeys', 'createrepo_c']));
  });
});
