// The encrypted keystore (docs/keys.md): a 0700 directory holding one
// 0600 file per key (key-file.ts), a marker naming the directory a keystore, and the
// audit log. Private keys leave it only as Signers; there is no export.
import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { DEFAULT_KEY_TYPE, isRawPublicKey, verifyWithKey, type KeyType } from '../core/key-type.js';
import { AirlockError, fromSystemError } from '../core/errors.js';
import { toHex } from '../core/hex.js';
import { readRegularFile } from '../core/regular-file.js';
import { AuditLog, type AuditVerdict } from './audit-log.js';
import { AuditedSigner } from './audited-signer.js';
import {
  KEY_FILE_FORMAT,
  KEY_FILE_PATTERN,
  KEY_FILE_VERSION,
  MAX_KEY_FILE_BYTES,
  keyFileName,
  keyIdOf,
  keyTypeOf,
  parseKeyRecord,
  serializeKeyRecord,
  type KeyKind,
  type KeyRecord,
  type Pkcs11KeyRecord,
  type Pkcs11Reference,
  type SoftwareKeyRecord,
} from './key-file.js';
import { assertKeyTypeFor } from './key-type-choice.js';
import { keystorePermissionProblems, permissionsError, type PermissionProblem } from './keystore-permissions.js';
import { assertNewPassphrase, type Passphrase } from './passphrase.js';
import { openSeed, PRODUCTION_KDF_POLICY, sealSeed, type KdfPolicy, type ScryptCost } from './sealed-seed.js';
import { createSecretFile, replaceSecretFile } from './secret-file.js';
import { KEY_ROLES, type KeyRole, type SignRequest } from './signer.js';
import { newSecret, privateKeyFromSecret, rawPublicKeyOf, softwareKeyHandle, type KeyHandle } from './software-key.js';
import { openTokenKey, type TokenUnlockOptions } from './token-key.js';

export const KEYSTORE_MARKER = 'keystore.json';
const MARKER_FORMAT = 'airlock-keystore';

/** What anyone may know about a key: never anything secret. */
export interface KeyInfo {
  keyId: string;
  role: KeyRole;
  keyType: KeyType;
  /** Raw public key, hex (Ed25519: 32 bytes; P-256: the uncompressed point). */
  publicKey: string;
  createdAt: string;
  kind: KeyKind;
  /** Absolute path of the key file. */
  file: string;
  /** A token key's module and RFC 7512 URI (public: where the key lives, not the key). */
  token?: Pkcs11Reference;
}

/**
 * TEST ONLY. Cheaper scrypt so a test suite does not spend half a second per key. No
 * production path passes it (test/keys/test-only-kdf.test.ts fails the build if one
 * does); files record their parameters, so either keystore reads the other's keys.
 */
export interface KeystoreTestOnly {
  kdf: ScryptCost;
}

function policyFor(testOnly: KeystoreTestOnly | undefined): KdfPolicy {
  return testOnly === undefined ? PRODUCTION_KDF_POLICY : { write: testOnly.kdf, floor: testOnly.kdf };
}

/**
 * The key in use of a role root does not govern (pgp, minisign, ssh, publish): the newest
 * of a listing — adding a key (a rotation, a key moved into a token) replaces the old one.
 * Every choice of that key goes through here, so the key a release signs with and the key
 * `airlock sync` holds a host's apt and rpm indices to cannot drift apart.
 */
export function newestKeyOf<K extends { role: string; createdAt: string }>(listing: readonly K[], role: 'pgp' | 'minisign' | 'ssh' | 'publish'): K | undefined {
  return listing.filter((k) => k.role === role).sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))[0];
}

function infoOf(record: KeyRecord, file: string): KeyInfo {
  return { keyId: record.keyId, role: record.role, keyType: keyTypeOf(record), publicKey: record.publicKey, createdAt: record.createdAt, kind: record.kind, file, ...(record.kind === 'pkcs11' ? { token: { ...record.token } } : {}) };
}

function nowWholeSeconds(): string {
  return new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export class Keystore {
  readonly dir: string;
  readonly audit: AuditLog;
  readonly #policy: KdfPolicy;

  private constructor(dir: string, policy: KdfPolicy) {
    this.dir = dir;
    this.audit = new AuditLog(dir);
    this.#policy = policy;
  }

  static defaultDir(airlockHome: string): string {
    return join(airlockHome, 'keystore');
  }

  /**
   * Makes a keystore (mode 0700) or returns the one already there. Refuses an existing
   * directory that others can enter, or one that holds files but is no keystore.
   */
  static async create(dir: string, testOnly?: KeystoreTestOnly): Promise<Keystore> {
    const abs = resolve(dir);
    try {
      await mkdir(dirname(abs), { recursive: true, mode: 0o700 });
      await mkdir(abs, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fromSystemError(err, `creating keystore ${abs}`);
      const problems = await keystorePermissionProblems(abs);
      if (problems.length > 0) throw permissionsError(abs, problems);
      if (await isKeystore(abs)) return new Keystore(abs, policyFor(testOnly));
      if ((await readdir(abs)).length > 0) {
        throw new AirlockError('E_USAGE', `${abs} exists, is not empty and is not a keystore; choose an empty or new directory`, { details: { dir: abs } });
      }
    }
    try {
      // mkdir's mode passes through the umask, which could only narrow it; be exact anyway.
      const fh = await open(abs, constants.O_RDONLY | constants.O_DIRECTORY);
      try {
        await fh.chmod(0o700);
      } finally {
        await fh.close();
      }
    } catch (err) {
      throw fromSystemError(err, `creating keystore ${abs}`);
    }
    await createSecretFile(join(abs, KEYSTORE_MARKER), Buffer.from(`${JSON.stringify({ format: MARKER_FORMAT, version: 1 })}\n`));
    return new Keystore(abs, policyFor(testOnly));
  }

  /**
   * Opens an existing keystore after checking its posture: E_NOT_INITIALISED when it is
   * missing, E_KEYSTORE_PERMISSIONS (with the chmod to run) when it is not private.
   */
  static async open(dir: string, testOnly?: KeystoreTestOnly): Promise<Keystore> {
    const abs = resolve(dir);
    try {
      await stat(abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new AirlockError('E_NOT_INITIALISED', `no keystore at ${abs}; run \`airlock init\` (or \`airlock key generate ROLE --keystore ${abs}\`)`, {
          details: { dir: abs },
        });
      }
      throw fromSystemError(err, `opening keystore ${abs}`);
    }
    const problems = await keystorePermissionProblems(abs);
    if (problems.length > 0) throw permissionsError(abs, problems);
    if (!(await isKeystore(abs))) {
      throw new AirlockError('E_NOT_INITIALISED', `${abs} is not an airlock keystore (no ${KEYSTORE_MARKER}); check --keystore`, { details: { dir: abs } });
    }
    return new Keystore(abs, policyFor(testOnly));
  }

  /**
   * The audit log's verdict, with the check that every key held here was logged when it
   * was made or added (so a log deleted with its head is not taken for a new, empty one).
   */
  async verifyAudit(): Promise<AuditVerdict> {
    return this.audit.verify({ keyIds: (await this.#keyFileNames()).map((n) => KEY_FILE_PATTERN.exec(n)![1]!) });
  }

  /** verifyAudit(), throwing E_AUDIT_TAMPERED unless intact. */
  async assertAuditIntact(): Promise<AuditVerdict> {
    return this.audit.assertIntact({ keyIds: (await this.#keyFileNames()).map((n) => KEY_FILE_PATTERN.exec(n)![1]!) });
  }

  /** Makes a new key for `role` (Ed25519 unless `keyType` says otherwise), sealed under `passphrase`. */
  async generate(role: KeyRole, passphrase: Passphrase, keyType: KeyType = DEFAULT_KEY_TYPE): Promise<KeyInfo> {
    const key = await this.prepare(role, passphrase, keyType);
    try {
      return await key.store();
    } finally {
      await key.close();
    }
  }

  /**
   * A new key made and sealed in memory, written to the keystore only when it first signs
   * (or `store()`): a command that may still be refused after it needs the new public key
   * — a rotation puts it into the new root — keeps nothing when it is refused, because its
   * transaction checks everything before the first signature (no orphan key, no audit entry).
   */
  async prepare(role: KeyRole, passphrase: Passphrase, keyType: KeyType = DEFAULT_KEY_TYPE): Promise<PreparedKey> {
    if (!KEY_ROLES.includes(role)) throw new AirlockError('E_USAGE', `unknown role "${role}"; roles are ${KEY_ROLES.join(', ')}`);
    assertKeyTypeFor(role, keyType);
    assertNewPassphrase(passphrase);
    const seed = newSecret(keyType);
    let record: SoftwareKeyRecord;
    let handle: KeyHandle;
    try {
      const privateKey = privateKeyFromSecret(seed, keyType);
      const publicKey = toHex(rawPublicKeyOf(privateKey, keyType));
      // A key that cannot make a signature its own public key accepts is never stored.
      const probe = Buffer.from('airlock key self-test');
      handle = softwareKeyHandle(privateKey, keyType);
      if (!verifyWithKey(keyType, Buffer.from(publicKey, 'hex'), probe, await handle.signRaw(probe))) {
        throw new AirlockError('E_KEY_CORRUPT', 'a freshly generated key failed its self-test; the crypto library is broken');
      }
      record = await sealSeed(seed, passphrase, this.#policy.write, {
        format: KEY_FILE_FORMAT,
        version: KEY_FILE_VERSION,
        kind: 'software',
        keyType,
        keyId: keyIdOf(publicKey, keyType),
        role,
        publicKey,
        createdAt: nowWholeSeconds(),
      });
    } finally {
      seed.fill(0);
    }
    return new PreparedKey(record, handle, this.audit, async () => {
      const file = join(this.dir, keyFileName(record.keyId));
      await createSecretFile(file, serializeKeyRecord(record));
      await this.audit.append({ event: 'key-generate', keyId: record.keyId, role });
      return infoOf(record, file);
    });
  }

  /**
   * Records a key that lives in a PKCS#11 token: only its reference and public key
   * (issue 11's `airlock key add-token` calls this).
   */
  async addTokenKey(role: KeyRole, publicKey: Uint8Array, token: Pkcs11Reference, createdAt: Date = new Date(), keyType: KeyType = DEFAULT_KEY_TYPE): Promise<KeyInfo> {
    if (!KEY_ROLES.includes(role)) throw new AirlockError('E_USAGE', `unknown role "${role}"; roles are ${KEY_ROLES.join(', ')}`);
    assertKeyTypeFor(role, keyType);
    if (!isRawPublicKey(keyType, publicKey)) throw new AirlockError('E_TOKEN_KEY', `the token key is not an ${keyType === 'ed25519' ? 'Ed25519' : 'ECDSA P-256'} key`);
    if (typeof token.module !== 'string' || token.module === '' || typeof token.uri !== 'string' || !token.uri.startsWith('pkcs11:')) {
      throw new AirlockError('E_TOKEN_KEY', 'a token key needs the PKCS#11 module path and a pkcs11: URI (RFC 7512) naming the key', { details: { ...token } });
    }
    const publicHex = toHex(publicKey);
    const record: Pkcs11KeyRecord = {
      format: KEY_FILE_FORMAT,
      version: KEY_FILE_VERSION,
      kind: 'pkcs11',
      keyType,
      keyId: keyIdOf(publicHex, keyType),
      role,
      publicKey: publicHex,
      createdAt: new Date(Math.floor(createdAt.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
      token: { module: token.module, uri: token.uri },
    };
    // Parse what we are about to write, so a bad reference is refused now, not at signing time.
    const bytes = serializeKeyRecord(record);
    parseKeyRecord(bytes, 'the new token key record');
    const file = join(this.dir, keyFileName(record.keyId));
    await createSecretFile(file, bytes);
    await this.audit.append({ event: 'key-add', keyId: record.keyId, role });
    return infoOf(record, file);
  }

  /** Every key's public information, by role then age. Refuses a damaged key file. */
  async list(): Promise<KeyInfo[]> {
    const infos: KeyInfo[] = [];
    for (const name of await this.#keyFileNames()) {
      const keyId = KEY_FILE_PATTERN.exec(name)![1]!;
      const { record, file } = await this.#read(keyId);
      infos.push(infoOf(record, file));
    }
    return infos.sort((a, b) => KEY_ROLES.indexOf(a.role) - KEY_ROLES.indexOf(b.role) || a.createdAt.localeCompare(b.createdAt) || a.keyId.localeCompare(b.keyId));
  }

  /**
   * A Signer for one key, named by role (when the keystore holds exactly one key of it),
   * by key id, or by a unique key id prefix of at least 8 hex digits. A token key ignores
   * `passphrase` and takes its PIN from `options.pin` (default: AIRLOCK_PIN_FILE or a prompt).
   */
  async unlock(keyIdOrRole: string, passphrase: Passphrase, options: TokenUnlockOptions = {}): Promise<AuditedSigner> {
    const { record, file } = await this.#resolve(keyIdOrRole);
    let handle: KeyHandle;
    // The dispatch point for where a private key lives.
    switch (record.kind) {
      case 'software':
        handle = await this.#openSoftware(record, passphrase, file);
        break;
      case 'pkcs11':
        handle = await openTokenKey(record, options);
        break;
    }
    return new AuditedSigner(record, handle, this.audit);
  }

  /** Re-seals a key under a new passphrase (fresh salt and nonce) and replaces its file atomically. */
  async changePassphrase(keyId: string, oldPassphrase: Passphrase, newPassphrase: Passphrase): Promise<KeyInfo> {
    assertNewPassphrase(newPassphrase);
    const { record, file } = await this.#resolve(keyId);
    if (record.kind !== 'software') {
      throw new AirlockError('E_USAGE', `key ${record.keyId.slice(0, 16)} lives in a token; change the token's PIN with its own tools`);
    }
    const seed = await openSeed(record, oldPassphrase, this.#policy, file);
    let resealed: SoftwareKeyRecord;
    try {
      resealed = await this.#reseal(record, seed, newPassphrase);
    } finally {
      seed.fill(0);
    }
    await replaceSecretFile(file, serializeKeyRecord(resealed));
    await this.audit.append({ event: 'key-passwd', keyId: record.keyId, role: record.role });
    return infoOf(resealed, file);
  }

  /**
   * Checks that `passphrase` opens a key (E_KEY_PASSPHRASE if not) without unlocking it
   * for signing: what an interactive prompt asks again on. A token key passes (its PIN
   * is asked by the token).
   */
  async verifyPassphrase(keyIdOrRole: string, passphrase: Passphrase): Promise<void> {
    const { record, file } = await this.#resolve(keyIdOrRole);
    if (record.kind !== 'software') return;
    (await openSeed(record, passphrase, this.#policy, file)).fill(0);
  }

  /** readPassphrase's `check`: the passphrase must open the first of these keys (the first one a command unlocks). */
  passphraseCheckFor(keyIds: readonly string[]): (passphrase: Passphrase) => Promise<void> {
    return async (passphrase) => {
      if (keyIds[0] !== undefined) await this.verifyPassphrase(keyIds[0], passphrase);
    };
  }

  /**
   * `key passwd --all`: one passphrase for every software key of the keystore. Each key's
   * current passphrase is found first — `nextOld(locked)` is asked for another passphrase
   * while keys remain that none of those given opens (undefined gives up: E_KEY_PASSPHRASE
   * naming those keys) — so nothing is rewritten unless every key can be; then each key
   * file is replaced atomically under the new passphrase.
   */
  async changeAllPassphrases(nextOld: (locked: KeyInfo[]) => Promise<Passphrase | undefined>, readNew: () => Promise<Passphrase>): Promise<KeyInfo[]> {
    const keys: { record: SoftwareKeyRecord; file: string; seed?: Buffer }[] = [];
    for (const info of await this.list()) {
      const { record, file } = await this.#read(info.keyId);
      if (record.kind === 'software') keys.push({ record, file });
    }
    try {
      for (;;) {
        const locked = keys.filter((k) => k.seed === undefined);
        if (locked.length === 0) break;
        const old = await nextOld(locked.map((k) => infoOf(k.record, k.file)));
        if (old === undefined) {
          throw new AirlockError(
            'E_KEY_PASSPHRASE',
            `no passphrase given opens ${locked.map((k) => `the ${k.record.role} key ${k.record.keyId.slice(0, 16)}`).join(', ')}; nothing was changed — give each key's current passphrase`,
            { details: { keys: locked.map((k) => ({ keyId: k.record.keyId, role: k.record.role })) } },
          );
        }
        for (const k of locked) {
          try {
            k.seed = await openSeed(k.record, old, this.#policy, k.file);
          } catch (err) {
            if (!(err instanceof AirlockError && err.code === 'E_KEY_PASSPHRASE')) throw err;
          }
        }
      }
      const newPassphrase = await readNew();
      const resealed: { record: SoftwareKeyRecord; file: string }[] = [];
      try {
        assertNewPassphrase(newPassphrase);
        for (const k of keys) resealed.push({ record: await this.#reseal(k.record, k.seed!, newPassphrase), file: k.file });
      } finally {
        newPassphrase.wipe();
      }
      for (const r of resealed) {
        await replaceSecretFile(r.file, serializeKeyRecord(r.record));
        await this.audit.append({ event: 'key-passwd', keyId: r.record.keyId, role: r.record.role });
      }
      return resealed.map((r) => infoOf(r.record, r.file));
    } finally {
      for (const k of keys) k.seed?.fill(0);
    }
  }

  /** The same key sealed under another passphrase (fresh salt and nonce). */
  #reseal(record: SoftwareKeyRecord, seed: Buffer, newPassphrase: Passphrase): Promise<SoftwareKeyRecord> {
    // keyType stays absent in a file written before it existed, so the AEAD binds the same fields.
    const { format, version, kind, keyType, keyId, role, publicKey, createdAt } = record;
    return sealSeed(seed, newPassphrase, this.#policy.write, { format, version, kind, ...(keyType === undefined ? {} : { keyType }), keyId, role, publicKey, createdAt });
  }

  async #openSoftware(record: SoftwareKeyRecord, passphrase: Passphrase, file: string): Promise<KeyHandle> {
    const seed = await openSeed(record, passphrase, this.#policy, file);
    const keyType = keyTypeOf(record);
    let privateKey;
    try {
      privateKey = privateKeyFromSecret(seed, keyType);
    } catch (err) {
      // A P-256 scalar of 0 or ≥ n: the sealed bytes are not a key of this type.
      throw new AirlockError('E_KEY_CORRUPT', `key file ${file} holds a private key that is not a valid ${keyType} key; restore it from your backup`, { cause: err, details: { file } });
    } finally {
      seed.fill(0);
    }
    if (toHex(rawPublicKeyOf(privateKey, keyType)) !== record.publicKey) {
      throw new AirlockError('E_KEY_CORRUPT', `key file ${file} holds a private key that does not match its public key; restore it from your backup`, {
        details: { file },
      });
    }
    return softwareKeyHandle(privateKey, keyType);
  }

  async #keyFileNames(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((n) => KEY_FILE_PATTERN.test(n)).sort();
    } catch (err) {
      throw fromSystemError(err, `reading keystore ${this.dir}`);
    }
  }

  async #resolve(keyIdOrRole: string): Promise<{ record: KeyRecord; file: string }> {
    if ((KEY_ROLES as readonly string[]).includes(keyIdOrRole)) {
      const matches = (await this.list()).filter((k) => k.role === keyIdOrRole);
      if (matches.length === 0) {
        throw new AirlockError('E_KEY_NOT_FOUND', `the keystore ${this.dir} has no ${keyIdOrRole} key; run \`airlock key generate ${keyIdOrRole}\` or pass --keystore`, {
          details: { role: keyIdOrRole },
        });
      }
      if (matches.length > 1) {
        throw new AirlockError('E_USAGE', `the keystore holds ${matches.length} ${keyIdOrRole} keys; name one by key id (${matches.map((k) => k.keyId.slice(0, 16)).join(', ')})`, {
          details: { role: keyIdOrRole, keyIds: matches.map((k) => k.keyId) },
        });
      }
      return this.#read(matches[0]!.keyId);
    }
    const prefix = keyIdOrRole.toLowerCase();
    if (!/^[0-9a-f]{8,64}$/.test(prefix)) {
      throw new AirlockError('E_USAGE', `"${keyIdOrRole}" is neither a role (${KEY_ROLES.join(', ')}) nor a key id (at least 8 hex digits)`);
    }
    const ids = (await this.#keyFileNames()).map((n) => KEY_FILE_PATTERN.exec(n)![1]!).filter((id) => id.startsWith(prefix));
    if (ids.length === 0) {
      throw new AirlockError('E_KEY_NOT_FOUND', `no key ${keyIdOrRole} in the keystore ${this.dir}; \`airlock key list\` shows the keys`, { details: { keyId: keyIdOrRole } });
    }
    if (ids.length > 1) {
      throw new AirlockError('E_USAGE', `key id prefix ${keyIdOrRole} matches ${ids.length} keys; give more digits`, { details: { keyIds: ids } });
    }
    return this.#read(ids[0]!);
  }

  /** Reads one key file: never through a symlink, refused unless private, size-capped before parsing. */
  async #read(keyId: string): Promise<{ record: KeyRecord; file: string }> {
    const file = join(this.dir, keyFileName(keyId));
    let read;
    try {
      read = await readRegularFile(file, MAX_KEY_FILE_BYTES);
    } catch (err) {
      throw fromSystemError(err, `reading key file ${file}`);
    }
    if ('refused' in read) {
      if (read.refused === 'absent') throw new AirlockError('E_KEY_NOT_FOUND', `no key ${keyId} in the keystore ${this.dir}`, { details: { keyId } });
      if (read.refused === 'too-large') throw new AirlockError('E_KEY_CORRUPT', `key file ${file} is far larger than a key file; restore it from your backup`, { details: { file } });
      const problem = read.refused === 'symlink' ? 'is a symlink; a keystore holds only regular files' : 'is not a regular file';
      throw permissionsError(this.dir, [{ path: file, problem, fix: read.refused === 'symlink' ? `replace '${file}' by the real file` : `remove '${file}'` }]);
    }
    const { st } = read;
    const problems: PermissionProblem[] = [];
    if ((st.mode & 0o077) !== 0) problems.push({ path: file, problem: `mode ${(st.mode & 0o777).toString(8)} lets others read it`, fix: `chmod 600 '${file}'` });
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid) problems.push({ path: file, problem: `owned by uid ${st.uid}, not by you`, fix: `chown ${uid} '${file}'` });
    if (problems.length > 0) throw permissionsError(this.dir, problems);
    const bytes = Buffer.from(read.bytes.buffer, read.bytes.byteOffset, read.bytes.byteLength);
    return { record: parseKeyRecord(bytes, file, keyId), file };
  }
}

async function isKeystore(dir: string): Promise<boolean> {
  try {
    const marker = JSON.parse(await readFile(join(dir, KEYSTORE_MARKER), 'utf8')) as { format?: unknown };
    return marker.format === MARKER_FORMAT;
  } catch {
    return false;
  }
}

/**
 * A key made by `Keystore.prepare`: a Signer whose key file (and `key-generate` audit
 * entry) is written by its first signature, before the signature's own entry.
 */
export class PreparedKey extends AuditedSigner {
  readonly #persist: () => Promise<KeyInfo>;
  #stored: Promise<KeyInfo> | undefined;

  constructor(record: SoftwareKeyRecord, handle: KeyHandle, audit: AuditLog, persist: () => Promise<KeyInfo>) {
    super(record, handle, audit);
    this.#persist = persist;
  }

  /** Writes the key file (once); what `generate` returns. */
  store(): Promise<KeyInfo> {
    this.#stored ??= this.#persist();
    return this.#stored;
  }

  /** Whether the key has been written to the keystore. */
  get stored(): boolean {
    return this.#stored !== undefined;
  }

  override async sign(request: SignRequest): Promise<Uint8Array> {
    await this.store();
    return super.sign(request);
  }
}
