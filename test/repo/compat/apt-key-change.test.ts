// apt users across an OpenPGP key change (issue 16.3), judged by apt-get itself over HTTP
// from 127.0.0.1: while the transition lasts, InRelease and Release.gpg carry a signature
// by the new key and one by the earlier key, so a client pinning either key updates; the
// Release's Signed-By names both; once the earlier key is retired only the new key signs,
// and a client still pinning the earlier key stops getting updates until it fetches the
// published keyring.
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aptKeyTransition } from '../../../lib/repo/compat/apt-key-transition.js';
import { openpgpFingerprint } from '../../../lib/repo/compat/index.js';
import { refreshRepository } from '../../../lib/repo/refresh.js';
import { observeAptSignedBy } from '../../../lib/terminal/plan-apt-keys.js';
import type { Signer } from '../../../lib/keys/signer.js';
import { aptClient, gpgvSigners, pgpKeyFiles, releaseHelloDeb, type AptClient } from '../../support/compat-apt.js';
import { run, tempDir } from '../../support/compat-tools.js';
import { lifecycleRepo, type LifecycleRepo } from '../../support/lifecycle-repo.js';
import { memorySigner } from '../../support/memory-signer.js';
import type { StaticServer } from '../../support/static-http.js';

const oldKey = memorySigner('pgp');
const newKey = memorySigner('pgp');
const OLD = openpgpFingerprint(oldKey);
const NEW = openpgpFingerprint(newKey);
let repo: LifecycleRepo;
let work: { path: string; remove(): Promise<void> };
let server: StaticServer;
/** Pins the old key only, as a user who set the repository up before the change. */
let pinsOld: AptClient;
/** Pins the new key only, as a user who set it up after the change. */
let pinsNew: AptClient;

async function release(version: string, pgp: Signer, aptCosigners: Signer[]): Promise<void> {
  await releaseHelloDeb(repo, work.path, version, pgp, aptCosigners);
}

/** Who co-signs now, decided as the plan does: from the copy's Signed-By, the keys held and airlock.json's retiredKeys. */
async function cosigners(retired: string[] = []): Promise<Signer[]> {
  const t = aptKeyTransition({ current: NEW, signedBy: await observeAptSignedBy(repo.repoDir), held: [OLD, NEW], retired });
  return t.cosigners.map((f) => (f === OLD ? oldKey : newKey));
}

async function client(name: string, keyFile: string): Promise<AptClient> {
  const c = await aptClient(join(work.path, name));
  await writeFile(join(c.root, 'etc/apt/sources.list.d/hello.list'), `deb [signed-by=${keyFile}] ${server.url}/apt stable main\n`);
  return c;
}

async function update(c: AptClient): Promise<{ ok: boolean; output: string; versions: string[] }> {
  const r = await c.aptGetAsync(['update']);
  const output = r.stdout + r.stderr;
  // apt-get update exits 0 when a repository fails to verify (it keeps the old lists): the warnings say it.
  const ok = r.status === 0 && !/^(W|E):/m.test(r.stderr);
  const policy = run('apt-cache', ['madison', 'hello'], { env: c.env });
  return { ok, output, versions: [...new Set([...policy.stdout.matchAll(/\|\s*(\S+)\s*\|/g)].map((m) => m[1]!))] };
}

beforeAll(async () => {
  repo = await lifecycleRepo({ rootKeys: 1, threshold: 1 });
  work = await tempDir('apt-key-change');
  for (const [name, key] of [['old', oldKey], ['new', newKey]] as const) await pgpKeyFiles(work.path, name, key);
  server = await repo.serve(repo.repoDir);
  await release('1.0.0', oldKey, await cosigners());
  pinsOld = await client('pins-old', join(work.path, 'old.asc'));
  pinsNew = await client('pins-new', join(work.path, 'new.asc'));
}, 120_000);

afterAll(async () => {
  await repo?.cleanup();
  await work?.remove();
});

describe('apt signed-by across a pgp key change', () => {
  it('before the change, the client pinning the old key updates', async () => {
    const r = await update(pinsOld);
    expect(r.ok, r.output).toBe(true);
    expect(r.versions).toEqual(['1.0.0']);
    expect(await observeAptSignedBy(repo.repoDir)).toEqual([OLD]);
  });

  it('during the transition InRelease and Release.gpg carry both signatures, and clients pinning either key update', async () => {
    const co = await cosigners();
    expect(co).toEqual([oldKey]);
    await release('1.0.1', newKey, co);
    const dist = join(repo.repoDir, 'apt/dists/stable');
    for (const f of ['InRelease', 'Release.gpg']) {
      expect(gpgvSigners(join(dist, f), join(work.path, 'old.gpg'))).toEqual([OLD]);
      expect(gpgvSigners(join(dist, f), join(work.path, 'new.gpg'))).toEqual([NEW]);
    }
    // Signed-By tells apt (and anyone reading the InRelease apt keeps) which keys sign: the new one first.
    expect(await readFile(join(dist, 'Release'), 'utf8')).toMatch(new RegExp(`^Signed-By: ${NEW}, ${OLD}$`, 'm'));
    for (const c of [pinsOld, pinsNew]) {
      const r = await update(c);
      expect(r.ok, r.output).toBe(true);
      expect(r.versions).toContain('1.0.1');
    }
    // The client pinning the old key is told where to move: its stored InRelease names the new key,
    // and the published keyring holds it first.
    const lists = join(pinsOld.root, 'state/lists');
    const stored = (await readdir(lists)).find((f) => f.endsWith('InRelease'))!;
    expect(await readFile(join(lists, stored), 'utf8')).toContain(`Signed-By: ${NEW}, ${OLD}`);
    await mkdir(join(work.path, 'gnupg'), { mode: 0o700 });
    const shown = run('gpg', ['--homedir', join(work.path, 'gnupg'), '--batch', '--with-colons', '--show-keys', join(repo.repoDir, 'keys/release-signing.asc')]);
    expect(shown.stdout.split('\n').filter((l) => l.startsWith('fpr:')).map((l) => l.split(':')[9])).toEqual([NEW, OLD]);
  });

  it('a refresh during the transition keeps both signatures', async () => {
    const co = await cosigners();
    expect(co).toEqual([oldKey]);
    const signers = { targets: [repo.online.targets], snapshot: [repo.online.snapshot], timestamp: [repo.online.timestamp] };
    await refreshRepository(repo.repoDir, repo.staging, signers, { now: new Date(), expiryDays: repo.expiryDays, marginDays: 3, aptPgp: [newKey, ...co] });
    expect(gpgvSigners(join(repo.repoDir, 'apt/dists/stable/InRelease'), join(work.path, 'old.gpg'))).toEqual([OLD]);
    expect((await update(pinsOld)).ok).toBe(true);
  });

  it('after the earlier key is retired only the new key signs: the old-key client stops updating until it fetches the published keyring', async () => {
    const t = aptKeyTransition({ current: NEW, signedBy: await observeAptSignedBy(repo.repoDir), held: [OLD, NEW], retired: [OLD] });
    expect(t).toMatchObject({ cosigners: [], retiring: [OLD], missing: [] });
    await release('1.0.2', newKey, await cosigners([OLD]));
    const dist = join(repo.repoDir, 'apt/dists/stable');
    expect(gpgvSigners(join(dist, 'InRelease'), join(work.path, 'old.gpg'))).toEqual([]);
    expect(gpgvSigners(join(dist, 'InRelease'), join(work.path, 'new.gpg'))).toEqual([NEW]);
    expect(await observeAptSignedBy(repo.repoDir)).toEqual([NEW]);
    // A retired key never comes back: the Release no longer names it.
    expect(await cosigners()).toEqual([]);

    const stale = await update(pinsOld);
    expect(stale.ok).toBe(false);
    expect(stale.output).toContain(`NO_PUBKEY ${NEW.slice(-16)}`);
    expect(stale.versions).not.toContain('1.0.2');
    const fresh = await update(pinsNew);
    expect(fresh.ok, fresh.output).toBe(true);
    expect(fresh.versions).toContain('1.0.2');

    // What docs/verifying.md tells the user to do: fetch keys/release-signing.asc again.
    await writeFile(join(work.path, 'old.asc'), await readFile(join(repo.repoDir, 'keys/release-signing.asc')));
    const moved = await update(pinsOld);
    expect(moved.ok, moved.output).toBe(true);
    expect(moved.versions).toContain('1.0.2');
  });

  it('an earlier key the keystore no longer holds is reported as missing (its users break), not silently dropped', () => {
    expect(aptKeyTransition({ current: NEW, signedBy: [NEW, OLD], held: [NEW], retired: [] })).toMatchObject({ cosigners: [], missing: [OLD], retiring: [] });
    expect(aptKeyTransition({ current: NEW, signedBy: [NEW], held: [NEW, OLD], retired: [] })).toMatchObject({ cosigners: [], missing: [], retiring: [] });
  });
});
