// SSH file signatures judged by OpenSSH's own `ssh-keygen -Y verify` (PROTOCOL.sshsig),
// with keys/allowed_signers and its signing windows across an ssh key rotation.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshsigSignedData, parseSshSignature, sshFileSignature } from '../../../lib/repo/compat/sshsig.js';
import { formatAllowedSigners, parseAllowedSigners, recordSshSigning, sshTime } from '../../../lib/repo/compat/allowed-signers.js';
import { updateAllowedSigners, writeReleaseSignatures } from '../../../lib/repo/compat/index.js';
import { codeOf } from '../../support/error-codes.js';
import { flipByte, run, tempDir } from '../../support/compat-tools.js';
import { tempKeystore, testPassphrase, type TempKeystore } from '../../support/keys-fixtures.js';
import { memorySigner } from '../../support/memory-signer.js';

const pgp = memorySigner('pgp');
const mini = memorySigner('minisign');
const oldSsh = memorySigner('ssh');
const newSsh = memorySigner('ssh');
const firstRelease = new Date('2026-02-01T10:00:00Z');
const rotation = new Date('2026-03-01T10:00:00Z');
let dir: { path: string; remove(): Promise<void> };
let keys: string;
let v1: string;
let v2: string;

const contents = new Map<string, Uint8Array>();

function verify(releaseDir: string, file: string, opts: { at?: Date; principal?: string; namespace?: string } = {}) {
  return run(
    'ssh-keygen',
    ['-Y', 'verify', '-f', join(keys, 'allowed_signers'), '-I', opts.principal ?? 'demo', '-n', opts.namespace ?? 'file', '-s', join(releaseDir, `${file}.sshsig`), ...(opts.at ? [`-Overify-time=${sshTime(opts.at)}`] : [])],
    { input: Buffer.from(contents.get(join(releaseDir, file))!) },
  );
}

async function release(version: string, ssh: typeof oldSsh, at: Date): Promise<string> {
  const d = join(dir.path, 'releases', version);
  await mkdir(d, { recursive: true });
  for (const [name, bytes] of [
    [`demo-${version}.tar.gz`, randomBytes(1_500_000)],
    ['empty', new Uint8Array(0)],
  ] as const) {
    await writeFile(join(d, name), bytes);
    contents.set(join(d, name), new Uint8Array(bytes));
  }
  await updateAllowedSigners(keys, keys, ssh, 'demo', at);
  await writeReleaseSignatures({ dir: d, files: [`demo-${version}.tar.gz`, 'empty'], project: 'demo', version, pgp, minisign: mini, ssh, date: at });
  return d;
}

beforeAll(async () => {
  dir = await tempDir('compat-sshsig');
  keys = join(dir.path, 'keys');
  await mkdir(keys, { recursive: true });
  v1 = await release('1.0.0', oldSsh, firstRelease);
});

afterAll(async () => {
  await dir.remove();
});

describe('SSHSIG file signatures', () => {
  it('ssh-keygen -Y verify accepts every .sshsig with allowed_signers, namespace file', () => {
    for (const f of ['demo-1.0.0.tar.gz', 'empty']) {
      const r = verify(v1, f);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^Good "file" signature for demo with ED25519 key SHA256:/);
    }
  });

  it('refuses a flipped byte, another namespace, and a principal not listed', () => {
    const path = join(v1, 'demo-1.0.0.tar.gz');
    const original = contents.get(path)!;
    contents.set(path, flipByte(original, 700_000));
    try {
      expect(verify(v1, 'demo-1.0.0.tar.gz').status).not.toBe(0);
    } finally {
      contents.set(path, original);
    }
    expect(verify(v1, 'demo-1.0.0.tar.gz', { namespace: 'git' }).status).not.toBe(0);
    expect(verify(v1, 'demo-1.0.0.tar.gz', { principal: 'other' }).status).not.toBe(0);
  });

  it('writes what ssh-keygen -Y sign would: parsed back, it names the key, namespace file and sha512', async () => {
    const sig = parseSshSignature(await readFile(join(v1, 'empty.sshsig'), 'utf8'));
    expect(Buffer.from(sig.publicKey)).toEqual(Buffer.from(oldSsh.publicKey));
    expect([sig.namespace, sig.hashAlgorithm]).toEqual(['file', 'sha512']);
    expect(await codeOf(() => (parseSshSignature('-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n')))).toBe('E_SSHSIG_FORMAT');
  });

  it('the .sha512 files check with sha512sum -c', () => {
    const r = run('sha512sum', ['-c', 'demo-1.0.0.tar.gz.sha512', 'empty.sha512'], { cwd: v1 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('demo-1.0.0.tar.gz: OK\nempty: OK\n');
  });
});

describe('allowed_signers across an ssh key rotation', () => {
  beforeAll(async () => {
    v2 = await release('2.0.0', newSsh, rotation);
  });

  it('lists both keys with namespaces="file" and the windows that meet at the rotation', async () => {
    const listed = parseAllowedSigners(await readFile(join(keys, 'allowed_signers'), 'utf8'));
    expect(listed.map((s) => Buffer.from(s.publicKey).toString('hex'))).toEqual([Buffer.from(oldSsh.publicKey).toString('hex'), Buffer.from(newSsh.publicKey).toString('hex')]);
    expect(listed[0]!.validAfter).toEqual(firstRelease);
    expect(listed[0]!.validBefore).toEqual(new Date(rotation.getTime() - 1000));
    expect(listed[1]!.validAfter).toEqual(rotation);
    expect(listed[1]!.validBefore).toBeUndefined();
    expect(await readFile(join(keys, 'allowed_signers'), 'utf8')).toContain(`demo namespaces="file",valid-after="20260201100000Z",valid-before="20260301095959Z" ssh-ed25519 `);
  });

  it('an old release verifies at its signing time; a new one only with the new key', () => {
    expect(verify(v1, 'demo-1.0.0.tar.gz', { at: firstRelease }).status).toBe(0);
    // Now (after the rotation) the old key's window is closed: its signature no longer counts.
    expect(verify(v1, 'demo-1.0.0.tar.gz').status).not.toBe(0);
    expect(verify(v2, 'demo-2.0.0.tar.gz').status).toBe(0);
    expect(verify(v2, 'demo-2.0.0.tar.gz', { at: rotation }).status).toBe(0);
    // Before the rotation the new key was not yet the project's.
    expect(verify(v2, 'demo-2.0.0.tar.gz', { at: firstRelease }).status).not.toBe(0);
  });

  it('a retired key cannot sign again, and time cannot run backwards', async () => {
    const listed = parseAllowedSigners(await readFile(join(keys, 'allowed_signers'), 'utf8'));
    expect(await codeOf(() => (recordSshSigning(listed, oldSsh.publicKey, 'demo', new Date('2026-04-01T00:00:00Z'))))).toBe('E_SSH_KEY_RETIRED');
    expect(await codeOf(() => (recordSshSigning(listed, memorySigner('ssh').publicKey, 'demo', firstRelease)))).toBe('E_SIGNATURE_TIME');
    // A second project signed by the current key joins its principals.
    const grown = recordSshSigning(listed, newSsh.publicKey, 'other', new Date('2026-04-01T00:00:00Z'));
    expect(grown[1]!.principals).toEqual(['demo', 'other']);
    expect(parseAllowedSigners(formatAllowedSigners(grown))).toEqual(grown);
    expect(await codeOf(() => (parseAllowedSigners('demo namespaces="git",valid-after="20260101000000Z" ssh-ed25519 AAAA\n')))).toBe('E_ALLOWED_SIGNERS');
  });
});

describe('the ssh role in the keystore', () => {
  let t: TempKeystore;
  beforeAll(async () => {
    t = await tempKeystore();
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('signs SSHSIG data only; the publish key cannot sign SSHSIG data and the ssh key nothing else', async () => {
    await t.keystore.generate('ssh', testPassphrase());
    await t.keystore.generate('publish', testPassphrase());
    const ssh = await t.keystore.unlock('ssh', testPassphrase());
    const publish = await t.keystore.unlock('publish', testPassphrase());
    const subject = { kind: 'artifact', name: 'demo/1.0.0/x' };
    const data = sshsigSignedData('file', 'sha512', new Uint8Array(64));
    expect((await sshFileSignature(ssh, new Uint8Array(64), subject)).startsWith('-----BEGIN SSH SIGNATURE-----\n')).toBe(true);
    expect(await codeOf(publish.sign({ purpose: 'ssh', message: data, subject }))).toBe('E_KEY_ROLE');
    expect(await codeOf(ssh.sign({ purpose: 'sshsig', message: new Uint8Array(32), subject }))).toBe('E_KEY_ROLE');
    for (const purpose of ['ssh', 'openpgp', 'minisign', 'tuf-metadata'] as const) expect(await codeOf(ssh.sign({ purpose, message: data, subject }))).toBe('E_KEY_ROLE');
    // The one signature made is in the audit log, like every other role's.
    const entries = (await readFile(join(t.keystore.dir, 'audit.log'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { event: string; role: string; purpose?: string });
    expect(entries.filter((e) => e.event === 'sign')).toEqual([expect.objectContaining({ role: 'ssh', purpose: 'sshsig' })]);
    expect(entries.filter((e) => e.event === 'key-generate').map((e) => e.role)).toEqual(['ssh', 'publish']);
  });
});
