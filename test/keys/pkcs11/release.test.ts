// A release whose root, targets, minisign and OpenPGP keys live in a token (SoftHSM2),
// signed the way `airlock release` signs: the keystore holds only references, the
// signers come from Keystore.unlock with the keystore passphrase (the token PIN comes
// from AIRLOCK_PIN_FILE, as in automation), snapshot and timestamp stay software keys.
// Every signing path runs unchanged against the token Signer: TUF metadata, the DSSE
// provenance, minisign (prehashed: the token signs a 64-byte digest) and OpenPGP. The
// result is checked by programs that are not airlock's signing code: airlock-verify (the
// bundle), tuf-js, minisign, gpgv.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseProvenanceEnvelope } from '../../../lib/builder/index.js';
import { toHex } from '../../../lib/core/hex.js';
import { generateTokenKey, pinSource, PIN_FILE_ENV, type TokenKey } from '../../../lib/keys/pkcs11/index.js';
import { loadedModuleCount } from '../../../lib/keys/pkcs11/cryptoki.js';
import type { KeyRole, Signer } from '../../../lib/keys/signer.js';
import { openpgpFingerprint } from '../../../lib/repo/compat/index.js';
import { DEFAULT_EXPIRY_DAYS } from '../../../lib/repo/expiry.js';
import { LocalRepository } from '../../../lib/repo/local-repository.js';
import { gpgStatus, run } from '../../support/compat-tools.js';
import { tempKeystore, testPassphrase, type TempKeystore } from '../../support/keys-fixtures.js';
import { initWithKeystore, releaseWithKeystore } from '../../support/keys-release.js';
import { probePrivateKey } from '../../support/pkcs11-inspect.js';
import { pinFile, softHsm, SOFTHSM_MODULE, USER_PIN, type SoftHsm } from '../../support/pkcs11-softhsm.js';
import { tufJsUpdater } from '../../support/tufjs-client.js';
import { serveDirectory, type StaticServer } from '../../support/static-http.js';
import { runVerifyCli } from '../../support/verify-clients.js';

const TOKEN = 'release-token';
const TOKEN_ROLES = ['root', 'targets', 'minisign', 'pgp'] as const;
const PROJECT = 'hello';
const VERSION = '1.0.0';
const ARTIFACT = `${PROJECT}-${VERSION}.tar.gz`;
const options = { expiryDays: DEFAULT_EXPIRY_DAYS, name: 'Token Releases' };

let hsm: SoftHsm;
let ks: TempKeystore;
let work: string;
let repoDir: string;
let server: StaticServer;
const tokenKeys = {} as Record<(typeof TOKEN_ROLES)[number], TokenKey>;
const keyIds = {} as Record<KeyRole, string>;
let savedPinFile: string | undefined;

beforeAll(async () => {
  hsm = await softHsm();
  hsm.initToken(TOKEN);
  hsm.use();
  savedPinFile = process.env[PIN_FILE_ENV];
  process.env[PIN_FILE_ENV] = await pinFile(hsm.dir, USER_PIN);
  ks = await tempKeystore();
  work = await mkdtemp(join(tmpdir(), 'airlock-token-release-'));
  repoDir = join(work, 'repository');

  for (const role of TOKEN_ROLES) {
    tokenKeys[role] = await generateTokenKey({ module: SOFTHSM_MODULE, uri: { token: TOKEN } }, { label: `airlock-${role}`, pin: pinSource(), purpose: `a new ${role} key` });
    keyIds[role] = (await ks.keystore.addTokenKey(role, tokenKeys[role].publicKey, tokenKeys[role].reference)).keyId;
  }
  for (const role of ['snapshot', 'timestamp'] as const) keyIds[role] = (await ks.keystore.generate(role, testPassphrase())).keyId;

  // airlock init and airlock release, with these keys.
  const staging = join(work, 'staging');
  await initWithKeystore({ keystore: ks.keystore, repoDir, staging, name: options.name });
  await writeFile(join(work, ARTIFACT), Buffer.from('release bytes signed by a hardware token\n'.repeat(1000)));
  await releaseWithKeystore({ keystore: ks.keystore, repoDir, staging, project: PROJECT, version: VERSION, name: options.name, artifacts: [{ name: ARTIFACT, path: join(work, ARTIFACT) }] });
  server = await serveDirectory(repoDir);
}, 60_000);

afterAll(async () => {
  await server?.close();
  if (savedPinFile === undefined) delete process.env[PIN_FILE_ENV];
  else process.env[PIN_FILE_ENV] = savedPinFile;
  if (work) await rm(work, { recursive: true, force: true });
  await ks?.cleanup();
  await hsm?.cleanup();
});

const target = (file: string) => `${PROJECT}/${VERSION}/${file}`;
const releaseFile = (file: string) => join(repoDir, 'releases', PROJECT, VERSION, file);

describe('a release signed with keys in a PKCS#11 token', () => {
  it('has root and targets metadata signed by the token keys root lists', async () => {
    const current = await new LocalRepository(repoDir).current();
    expect(current.root.signed.roles.root.keyids).toEqual([keyIds.root]);
    expect(current.root.signed.roles.targets.keyids).toEqual([keyIds.targets]);
    expect(current.root.signatures.map((s) => s.keyid)).toEqual([keyIds.root]);
    expect(current.targets.signatures.map((s) => s.keyid)).toEqual([keyIds.targets]);
    expect(current.root.signed.keys[keyIds.targets]!.keyval.public).toBe(toHex(tokenKeys.targets.publicKey));
    // Every handle was let go: sessions logged out and closed, the module finalised.
    expect(loadedModuleCount()).toBe(0);
  });

  it('is accepted by airlock-verify (the standalone bundle), pinned to root.json', async () => {
    const out = join(work, 'verify-out');
    await mkdir(out);
    const r = await runVerifyCli(['download', target(ARTIFACT), target(`${PROJECT}-${VERSION}.intoto.jsonl`), '--from', server.url, '--root', join(repoDir, 'keys', 'root.json'), '--out-dir', out, '--json'], {
      env: { AIRLOCK_VERIFY_STATE: join(work, 'verify-state') },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(out, encodeURIComponent(target(ARTIFACT))))).toEqual(await readFile(join(work, ARTIFACT)));
  });

  it('is accepted by tuf-js', async () => {
    const { updater, dir } = await tufJsUpdater(server.url, join(repoDir, 'keys', 'root.json'));
    try {
      await updater.refresh();
      const info = await updater.getTargetInfo(target(ARTIFACT));
      expect(info?.custom).toMatchObject({ airlock: { project: PROJECT, version: VERSION } });
      const path = await updater.downloadTarget(info!, join(dir, 'got'));
      expect(await readFile(path)).toEqual(await readFile(join(work, ARTIFACT)));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('has a minisign signature (token-signed BLAKE2b-512 digest) that the real minisign accepts', () => {
    for (const file of [ARTIFACT, 'SHA256SUMS']) {
      const r = run('minisign', ['-V', '-p', join(repoDir, 'keys', 'minisign.pub'), '-m', releaseFile(file)]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(`Trusted comment:`);
    }
    // A changed byte is refused, so the check above can fail.
    const copy = join(work, 'tampered.tar.gz');
    run('sh', ['-c', `cp '${releaseFile(ARTIFACT)}' '${copy}' && cp '${releaseFile(ARTIFACT)}.minisig' '${copy}.minisig' && printf x >> '${copy}'`]);
    expect(run('minisign', ['-V', '-p', join(repoDir, 'keys', 'minisign.pub'), '-m', copy]).status).not.toBe(0);
  });

  it('has OpenPGP signatures by the token pgp key that gpgv accepts', async () => {
    const info = (await ks.keystore.list()).find((k) => k.role === 'pgp')!;
    // The fingerprint binds the public key and its creation time, both from the keystore record.
    const fingerprint = openpgpFingerprint({ publicKey: tokenKeys.pgp.publicKey, createdAt: new Date(info.createdAt) } as Signer);
    const keyring = join(work, 'release-signing.gpg');
    expect(run('gpg', ['--batch', '--yes', '--output', keyring, '--dearmor', join(repoDir, 'keys', 'release-signing.asc')]).status).toBe(0);
    for (const file of [ARTIFACT, 'SHA256SUMS']) {
      const r = run('gpgv', ['--status-fd', '1', '--keyring', keyring, releaseFile(`${file}.asc`), releaseFile(file)]);
      expect(r.status, r.stderr).toBe(0);
      expect(gpgStatus(r.stdout).find((s) => s[0] === 'VALIDSIG')?.[1]).toBe(fingerprint);
    }
  });

  it('has a DSSE provenance envelope signed by the token targets key', async () => {
    const verified = parseProvenanceEnvelope(await readFile(releaseFile(`${PROJECT}-${VERSION}.intoto.jsonl`)), { keyId: keyIds.targets, publicKey: tokenKeys.targets.publicKey });
    expect(verified.keyIds).toEqual([keyIds.targets]);
    expect(verified.statement.subject.map((s) => s.name)).toEqual([ARTIFACT]);
  });

  it('audited every token signature under its key id and purpose', async () => {
    const signs = (await ks.keystore.audit.entries()).filter((e) => e.event === 'sign');
    const purposesOf = (role: KeyRole) => [...new Set(signs.filter((e) => e.keyId === keyIds[role]).map((e) => (e as { purpose?: string }).purpose))].sort();
    expect(purposesOf('root')).toEqual(['tuf-metadata']);
    expect(purposesOf('targets')).toEqual(['dsse', 'tuf-metadata']);
    expect(purposesOf('minisign')).toEqual(['minisign']);
    expect(purposesOf('pgp')).toEqual(['openpgp']);
  });

  it('left no secret in the keystore, and the token keys cannot be read out', async () => {
    const pin = [USER_PIN, Buffer.from(USER_PIN).toString('hex'), Buffer.from(USER_PIN).toString('base64')];
    for (const name of await readdir(ks.keystore.dir)) {
      const text = await readFile(join(ks.keystore.dir, name), 'utf8');
      for (const needle of pin) expect(text.includes(needle), name).toBe(false);
    }
    for (const info of (await ks.keystore.list()).filter((k) => k.kind === 'pkcs11')) {
      const json = JSON.parse(await readFile(info.file, 'utf8'));
      expect(Object.keys(json.token)).toEqual(['module', 'uri']);
      expect(json).not.toHaveProperty('cipher');
    }
    for (const role of TOKEN_ROLES) expect(probePrivateKey(SOFTHSM_MODULE, TOKEN, USER_PIN, `airlock-${role}`).value).toBe('CKR_ATTRIBUTE_SENSITIVE');
  });
});
