// A release made with every TUF role (root, targets, snapshot, timestamp) and the pgp key
// on ECDSA P-256 keys — once with the software keystore, once with the keys inside a
// PKCS#11 token (SoftHSM2, CKM_ECDSA) — signed the way `airlock init` and `airlock
// release` sign (Keystore.unlock, the signers chosen by what root lists). minisign stays
// Ed25519 (its format has no other algorithm). The result is judged by programs that are
// not airlock's signing code: airlock-verify (the bundle), tuf-js, securesystemslib (the
// key and signature library of python-tuf), gpgv and a real `apt-get update`.
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseProvenanceEnvelope } from '../../lib/builder/index.js';
import { tufKeyId } from '../../lib/core/tuf-key.js';
import type { KeyType } from '../../lib/core/key-type.js';
import type { Keystore } from '../../lib/keys/keystore.js';
import type { KeyRole } from '../../lib/keys/signer.js';
import { generateTokenKey, pinSource, PIN_FILE_ENV } from '../../lib/keys/pkcs11/index.js';
import { openpgpFingerprint } from '../../lib/repo/compat/index.js';
import { LocalRepository } from '../../lib/repo/local-repository.js';
import { targetsKeysOf } from '../../lib/reproduce/index.js';
import { aptClient, buildDeb } from '../support/compat-apt.js';
import { gpgStatus, run } from '../support/compat-tools.js';
import { tempKeystore, testPassphrase, type TempKeystore } from '../support/keys-fixtures.js';
import { initWithKeystore, releaseWithKeystore } from '../support/keys-release.js';
import { pinFile, softHsm, SOFTHSM_MODULE, USER_PIN, type SoftHsm } from '../support/pkcs11-softhsm.js';
import { serveDirectory, type StaticServer } from '../support/static-http.js';
import { tufJsUpdater } from '../support/tufjs-client.js';
import { runVerifyCli } from '../support/verify-clients.js';

const P256_ROLES = ['root', 'targets', 'snapshot', 'timestamp', 'pgp'] as const;
const PROJECT = 'hello';
const VERSION = '1.0.0';
const ARTIFACT = `${PROJECT}-${VERSION}.tar.gz`;
const DEB = `${PROJECT}_${VERSION}_all.deb`;
const SSLIB_CHECK = join(import.meta.dirname, '..', 'support', 'sslib-check.py');

interface Release {
  work: string;
  repoDir: string;
  keystore: Keystore;
  keyIds: Record<KeyRole, string>;
  server: StaticServer;
  cleanup(): Promise<void>;
}

type Backend = 'software keystore' | 'SoftHSM2 token';

async function makeRelease(backend: Backend): Promise<Release> {
  const ks: TempKeystore = await tempKeystore();
  const work = await mkdtemp(join(tmpdir(), 'airlock-p256-release-'));
  const repoDir = join(work, 'repository');
  let hsm: SoftHsm | undefined;
  const savedPinFile = process.env[PIN_FILE_ENV];
  const keyIds = {} as Record<KeyRole, string>;
  if (backend === 'SoftHSM2 token') {
    hsm = await softHsm();
    hsm.initToken('p256-token');
    hsm.use();
    process.env[PIN_FILE_ENV] = await pinFile(hsm.dir, USER_PIN);
    for (const role of P256_ROLES) {
      const key = await generateTokenKey({ module: SOFTHSM_MODULE, uri: { token: 'p256-token' } }, { label: `airlock-${role}`, pin: pinSource(), purpose: `a new ${role} key`, keyType: 'ecdsa-p256' });
      expect(key.keyType).toBe('ecdsa-p256');
      keyIds[role] = (await ks.keystore.addTokenKey(role, key.publicKey, key.reference, new Date(), key.keyType)).keyId;
    }
  } else {
    for (const role of P256_ROLES) keyIds[role] = (await ks.keystore.generate(role, testPassphrase(), 'ecdsa-p256')).keyId;
  }
  keyIds.minisign = (await ks.keystore.generate('minisign', testPassphrase())).keyId;

  const staging = join(work, 'staging');
  await initWithKeystore({ keystore: ks.keystore, repoDir, staging, name: 'P-256 Releases' });
  const artifact = join(work, ARTIFACT);
  await writeFile(artifact, Buffer.from('release bytes signed with ECDSA P-256\n'.repeat(2000)));
  const debDir = join(work, 'debs');
  await mkdir(debDir);
  const deb = await buildDeb(debDir, { package: PROJECT, version: VERSION, architecture: 'all' });
  await releaseWithKeystore({
    keystore: ks.keystore,
    repoDir,
    staging,
    project: PROJECT,
    version: VERSION,
    name: 'P-256 Releases',
    artifacts: [
      { name: ARTIFACT, path: artifact },
      { name: DEB, path: deb },
    ],
  });
  const server = await serveDirectory(repoDir);
  return {
    work,
    repoDir,
    keystore: ks.keystore,
    keyIds,
    server,
    async cleanup() {
      await server.close();
      if (savedPinFile === undefined) delete process.env[PIN_FILE_ENV];
      else process.env[PIN_FILE_ENV] = savedPinFile;
      await rm(work, { recursive: true, force: true });
      await ks.cleanup();
      await hsm?.cleanup();
    },
  };
}

const target = (file: string) => `${PROJECT}/${VERSION}/${file}`;

describe.each<Backend>(['software keystore', 'SoftHSM2 token'])('a release with every TUF role and pgp on ECDSA P-256 keys (%s)', (backend) => {
  let r: Release;
  beforeAll(async () => {
    r = await makeRelease(backend);
  }, 120_000);
  afterAll(async () => {
    await r?.cleanup();
  });
  const releaseFile = (file: string) => join(r.repoDir, 'releases', PROJECT, VERSION, file);

  it('lists P-256 keys exactly as securesystemslib encodes them (keytype ecdsa, PEM SPKI, key id over canonical JSON)', async () => {
    const root = (await new LocalRepository(r.repoDir).current()).root.signed;
    for (const role of ['root', 'targets', 'snapshot', 'timestamp'] as const) {
      const [id] = root.roles[role].keyids;
      expect(id).toBe(r.keyIds[role]);
      const key = root.keys[id!]!;
      expect(Object.keys(key).sort()).toEqual(['keytype', 'keyval', 'scheme']);
      expect(key.keytype).toBe('ecdsa');
      expect(key.scheme).toBe('ecdsa-sha2-nistp256');
      expect(Object.keys(key.keyval)).toEqual(['public']);
      // The 91-byte DER SPKI of a P-256 key (id-ecPublicKey, prime256v1, BIT STRING of 04‖X‖Y), in 64-column base64.
      expect(key.keyval.public).toMatch(/^-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE[A-Za-z0-9+/]{28}\n[A-Za-z0-9+/]{58}==\n-----END PUBLIC KEY-----\n$/);
      expect(tufKeyId(key)).toBe(id);
    }
    // securesystemslib (what python-tuf verifies with) loads every key, computes the same
    // key ids and verifies every signature on every top-level metadata file.
    const meta = join(r.repoDir, 'metadata');
    const names = (await readdir(meta)).filter((n) => n.endsWith('.json'));
    const files = ['1.root.json', ...names.filter((n) => n !== '1.root.json')].map((n) => join(meta, n));
    const py = run('/usr/bin/python3', [SSLIB_CHECK, ...files]);
    expect(py.status, py.stdout + py.stderr).toBe(0);
    const report = JSON.parse(py.stdout) as { keys: Record<string, [string, string]>; verified: Record<string, string[]>; problems: string[] };
    expect(report.problems).toEqual([]);
    expect(report.keys[r.keyIds.targets]).toEqual(['ecdsa', 'ecdsa-sha2-nistp256']);
    expect(report.verified[join(meta, 'timestamp.json')]).toEqual([r.keyIds.timestamp]);
    expect(Object.values(report.verified).every((ids) => ids.length === 1)).toBe(true);
    // …and refuses a signature with one byte changed, so the check above can fail.
    const ts = JSON.parse(await readFile(join(meta, 'timestamp.json'), 'utf8'));
    const sig: string = ts.signatures[0].sig;
    ts.signatures[0].sig = `${sig.slice(0, 20)}${sig[20] === '0' ? '1' : '0'}${sig.slice(21)}`;
    await writeFile(join(r.work, 'bad-timestamp.json'), JSON.stringify(ts));
    expect(run('/usr/bin/python3', [SSLIB_CHECK, files[0]!, join(r.work, 'bad-timestamp.json')]).status).toBe(1);
  });

  it('is accepted by airlock-verify (the standalone bundle), pinned to root.json', async () => {
    const out = join(r.work, 'verify-out');
    await mkdir(out);
    const v = await runVerifyCli(['download', target(ARTIFACT), target(`${PROJECT}-${VERSION}.intoto.jsonl`), '--from', r.server.url, '--root', join(r.repoDir, 'keys', 'root.json'), '--out-dir', out, '--json'], {
      env: { AIRLOCK_VERIFY_STATE: join(r.work, 'verify-state') },
    });
    expect(v.code, v.stderr).toBe(0);
    expect(await readFile(join(out, encodeURIComponent(target(ARTIFACT))))).toEqual(await readFile(join(r.work, ARTIFACT)));
  });

  it('is accepted by tuf-js', async () => {
    const { updater, dir } = await tufJsUpdater(r.server.url, join(r.repoDir, 'keys', 'root.json'));
    try {
      await updater.refresh();
      const info = await updater.getTargetInfo(target(ARTIFACT));
      const path = await updater.downloadTarget(info!, join(dir, 'got'));
      expect(await readFile(path)).toEqual(await readFile(join(r.work, ARTIFACT)));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('has a provenance envelope that verifies with the targets key root lists (as reproduce reads it)', async () => {
    const root = (await new LocalRepository(r.repoDir).current()).root.signed;
    const { keys, threshold } = targetsKeysOf(root);
    expect(keys.map((k) => k.keyType)).toEqual(['ecdsa-p256']);
    const verified = parseProvenanceEnvelope(await readFile(releaseFile(`${PROJECT}-${VERSION}.intoto.jsonl`)), keys, { threshold });
    expect(verified.keyIds).toEqual([r.keyIds.targets]);
  });

  it('has .asc and SHA256SUMS.asc signatures by the P-256 pgp key that gpgv accepts', async () => {
    const pgp = await r.keystore.unlock('pgp', testPassphrase());
    const fingerprint = openpgpFingerprint(pgp);
    await pgp.close();
    const keyring = join(r.work, 'release-signing.gpg');
    expect(run('gpg', ['--batch', '--yes', '--output', keyring, '--dearmor', join(r.repoDir, 'keys', 'release-signing.asc')]).status).toBe(0);
    for (const file of [ARTIFACT, DEB, 'SHA256SUMS']) {
      const v = run('gpgv', ['--status-fd', '1', '--keyring', keyring, releaseFile(`${file}.asc`), releaseFile(file)]);
      expect(v.status, v.stderr).toBe(0);
      const validsig = gpgStatus(v.stdout).find((s) => s[0] === 'VALIDSIG');
      expect(validsig?.[1]).toBe(fingerprint);
      // VALIDSIG field 7 is the public-key algorithm: 19 = ECDSA.
      expect(validsig?.[7]).toBe('19');
    }
    const copy = join(r.work, 'tampered.tar.gz');
    run('sh', ['-c', `cp '${releaseFile(ARTIFACT)}' '${copy}' && printf x >> '${copy}'`]);
    expect(run('gpgv', ['--keyring', keyring, releaseFile(`${ARTIFACT}.asc`), copy]).status).not.toBe(0);
  });

  it('has an apt repository (InRelease signed by the P-256 key) that real apt-get update accepts', async () => {
    const client = await aptClient(join(r.work, `apt-client-${Date.now()}`));
    await writeFile(join(client.root, 'etc/apt/sources.list.d/p256.list'), `deb [signed-by=${join(r.repoDir, 'keys', 'release-signing.asc')}] file://${join(r.repoDir, 'apt')} stable main\n`);
    const update = client.aptGet(['update']);
    expect(update.status, update.stdout + update.stderr).toBe(0);
    expect(update.stderr).not.toMatch(/^(W|E):/m);
    const dl = join(client.root, 'dl');
    await mkdir(dl);
    const d = client.aptGet(['download', PROJECT], dl);
    expect(d.status, d.stderr).toBe(0);
    // The same signature checks gpgv makes of InRelease by hand.
    const keyring = join(r.work, 'apt-keyring.gpg');
    run('gpg', ['--batch', '--yes', '--output', keyring, '--dearmor', join(r.repoDir, 'keys', 'release-signing.asc')]);
    expect(run('gpgv', ['--keyring', keyring, join(r.repoDir, 'apt', 'dists', 'stable', 'InRelease')]).status).toBe(0);
  });

  it('has the minisign key still on Ed25519', async () => {
    const minisign = (await r.keystore.list()).find((k) => k.role === 'minisign')!;
    expect(minisign.keyType satisfies KeyType).toBe('ed25519');
    const v = run('minisign', ['-V', '-p', join(r.repoDir, 'keys', 'minisign.pub'), '-m', releaseFile(ARTIFACT)]);
    expect(v.status, v.stderr).toBe(0);
  });
});
