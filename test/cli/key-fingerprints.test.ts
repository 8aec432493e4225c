// The identities users compare, printed where a release manager looks (issue 16.3): init,
// key generate, status and release print the OpenPGP fingerprint and the minisign key id
// (human output and --json), and say it loudly — a WARNING line, `changed: true` — when a
// new key will be or was published. Across the pgp change, the release's apt Release is
// co-signed by the earlier key (the plan says so), checked with gpgv. Built CLI, as a user.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitFiles, makeRepo, recipeJson, type TestRepo } from '../support/build-repo.js';
import { run } from '../support/compat-tools.js';
import { ensureBuilt, runAirlock } from '../support/e2e-cli.js';

const work = mkdtempSync(join(tmpdir(), 'airlock-key-fingerprints-'));
const home = join(work, 'terminal');
const host = join(work, 'host');
const passFile = join(work, 'pass');
const env = { AIRLOCK_HOME: home, AIRLOCK_PASSPHRASE_FILE: passFile };
const FPR = /^[0-9A-F]{40}$/;
const KEYID = /^[0-9A-F]{16}$/;

const buildDeb = `#!/bin/sh
set -eu
pkg="$(mktemp -d)"
trap 'rm -rf "$pkg"' EXIT
chmod 0755 "$pkg"
mkdir -p "$pkg/DEBIAN" "$pkg/usr/share/hello"
printf 'hello %s\\n' "$AIRLOCK_VERSION" > "$pkg/usr/share/hello/hello.txt"
printf 'Package: hello\\nVersion: %s\\nArchitecture: all\\nMaintainer: Demo <dev@example.org>\\nDescription: test package\\n key fingerprint tests\\n' "$AIRLOCK_VERSION" > "$pkg/DEBIAN/control"
chmod -R u=rwX,go=rX "$pkg"
find "$pkg" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
dpkg-deb --root-owner-group -Zgzip --build "$pkg" "$AIRLOCK_OUT/hello_\${AIRLOCK_VERSION}_all.deb" >/dev/null
`;
const recipe = (version: string) => recipeJson({ project: 'hello', version, steps: [{ name: 'deb', run: ['sh', 'build-deb.sh'] }], artifacts: [`hello_${version}_all.deb`] });
let source: TestRepo;
let first: { openpgp: string; minisign: string };

function lines(out: string): string[] {
  return out.split('\n');
}

beforeAll(async () => {
  await ensureBuilt();
  writeFileSync(passFile, 'fingerprints test passphrase\n', { mode: 0o600 });
  source = makeRepo({ 'airlock.recipe.json': recipe('1.0.0'), 'build-deb.sh': { content: buildDeb, mode: 0o755 } }, 'release/1.0.0', work);
}, 120_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('the fingerprints users compare', () => {
  it('init prints the OpenPGP fingerprint and the minisign key id, unchanged', () => {
    const r = runAirlock(['init', '--name', 'Hello Releases', '--json'], { env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.json.keys.openpgp).toEqual({ fingerprint: expect.stringMatching(FPR), changed: false });
    expect(r.json.keys.minisign).toEqual({ keyId: expect.stringMatching(KEYID), changed: false });
    first = { openpgp: r.json.keys.openpgp.fingerprint, minisign: r.json.keys.minisign.keyId };
    // What gpg shows for the published keyring is what init printed.
    const shown = run('gpg', ['--homedir', work, '--batch', '--with-colons', '--show-keys', join(home, 'repository', 'keys', 'release-signing.asc')]);
    expect(shown.stdout).toContain(`fpr:::::::::${first.openpgp}:`);
  }, 240_000);

  it('status prints them, with no warning while the keystore signs with the published keys', () => {
    const r = runAirlock(['status'], { env });
    expect(r.status, r.stderr).toBe(0);
    expect(lines(r.stdout)).toContainEqual(expect.stringMatching(new RegExp(`^OpenPGP fingerprint +${first.openpgp} `)));
    expect(lines(r.stdout)).toContainEqual(expect.stringMatching(new RegExp(`^minisign key id +${first.minisign} `)));
    expect(r.stdout).not.toMatch(/^WARNING/m);
    const j = runAirlock(['status', '--json'], { env });
    expect(j.json.keys).toEqual({ openpgp: { fingerprint: first.openpgp, changed: false }, minisign: { keyId: first.minisign, changed: false } });
  }, 120_000);

  it('release 1.0.0 prints them unchanged', () => {
    const r = runAirlock(['release', '--source', source.dir, '--branch', source.branch, '--commit', source.commit, '--to', host], { env });
    expect(r.status, r.stderr).toBe(0);
    expect(lines(r.stdout)).toContainEqual(expect.stringMatching(new RegExp(`^OpenPGP fingerprint +${first.openpgp} `)));
    expect(r.stdout + r.stderr).not.toMatch(/WARNING/);
  }, 300_000);

  it('key generate pgp warns that the next release publishes another OpenPGP key; status says it too', () => {
    const g = runAirlock(['key', 'generate', 'pgp', '--json'], { env });
    expect(g.status, g.stderr).toBe(0);
    const next = g.json.key.fingerprints.openpgp as string;
    expect(next).toMatch(FPR);
    expect(next).not.toBe(first.openpgp);
    expect(g.json.publishedKeyChange.openpgp).toEqual({ fingerprint: next, changed: true, previous: first.openpgp });
    const s = runAirlock(['status'], { env });
    expect(s.status, s.stderr).toBe(0);
    expect(s.stdout).toMatch(new RegExp(`^WARNING: the OpenPGP key changes at the next release.*${first.openpgp} -> ${next}`, 'm'));
    expect(s.stdout).not.toMatch(/^WARNING: the minisign key/m);
    const sj = runAirlock(['status', '--json'], { env });
    expect(sj.json.keys.openpgp).toEqual({ fingerprint: next, changed: true, previous: first.openpgp });
    expect(sj.json.keys.minisign.changed).toBe(false);
  }, 180_000);

  it('release 1.0.1 says loudly that the OpenPGP key changed, and the earlier key co-signs the apt Release', () => {
    const commit = commitFiles(source.dir, 'release/1.0.1', { 'airlock.recipe.json': recipe('1.0.1') });
    const dry = runAirlock(['release', '--source', source.dir, '--branch', 'release/1.0.1', '--commit', commit, '--to', host, '--dry-run'], { env });
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`^apt: the earlier pgp key ${first.openpgp} co-signs InRelease`, 'm'));
    const r = runAirlock(['release', '--source', source.dir, '--branch', 'release/1.0.1', '--commit', commit, '--to', host, '--json'], { env });
    expect(r.status, r.stderr).toBe(0);
    const next = r.json.keys.openpgp.fingerprint as string;
    expect(r.json.keys.openpgp).toEqual({ fingerprint: next, changed: true, previous: first.openpgp });
    expect(r.json.keys.minisign).toEqual({ keyId: first.minisign, changed: false });
    expect(r.json.aptKeys.cosigners).toEqual([first.openpgp]);
    // gpgv: the host's InRelease verifies with the earlier key alone and with the new key alone.
    const keys = join(host, 'keys', 'release-signing.asc');
    const imported = run('gpg', ['--homedir', work, '--batch', '--import', keys]);
    expect(imported.status, imported.stderr).toBe(0);
    for (const fpr of [first.openpgp, next]) {
      const ring = join(work, `${fpr}.gpg`);
      expect(run('gpg', ['--homedir', work, '--batch', '--yes', '--export', '-o', ring, fpr]).status).toBe(0);
      // gpgv exits 2 for the signature whose key it lacks; apt reads the status lines and
      // accepts a VALIDSIG by a pinned key (test/repo/compat/apt-key-change.test.ts).
      const v = run('gpgv', ['--keyring', ring, '--status-fd', '1', join(host, 'apt', 'dists', 'stable', 'InRelease')]);
      expect([...v.stdout.matchAll(/^\[GNUPG:\] VALIDSIG ([0-9A-F]{40})/gm)].map((m) => m[1])).toEqual([fpr]);
      expect(v.stdout).not.toMatch(/BADSIG/);
    }
    const human = runAirlock(['status'], { env });
    expect(human.stdout).not.toMatch(/^WARNING/m);
  }, 420_000);
});
