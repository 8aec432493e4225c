// One read of an artifact for every signature a release makes (issue 19): the build's
// copy out of its output directory hashes it for TUF (sha256, sha512), OpenPGP, minisign,
// SSHSIG, .sha512 and SHA256SUMS; the release then links it into place and reads it no
// more. Counted with the kernel's own tally of bytes this process read (/proc/self/io
// rchar, which copy_file_range counts too), on an artifact large enough to hash on
// worker threads; the signatures are then checked by gpgv, minisign, ssh-keygen and
// sha256sum/sha512sum, so the shortcut cannot sign the wrong bytes.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeArtifact } from '../../lib/builder/build-dirs.js';
import { PARALLEL_DIGEST_MIN_BYTES } from '../../lib/core/digest-set.js';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { initRepository } from '../../lib/repo/init-repository.js';
import { releaseToRepository } from '../../lib/repo/release.js';
import { run, tempDir } from '../support/compat-tools.js';
import { memorySigner } from '../support/memory-signer.js';

const SIZE = PARALLEL_DIGEST_MIN_BYTES + 3 * 1024 * 1024 + 5;
const NAME = 'big-1.0.0.tar.gz';
const now = new Date();
const options = { now, expiryDays: DEFAULT_EXPIRY_DAYS, name: 'Test Releases' };
const signers = {
  targets: memorySigner('targets'),
  snapshot: memorySigner('snapshot'),
  timestamp: memorySigner('timestamp'),
  pgp: memorySigner('pgp'),
  minisign: memorySigner('minisign'),
  ssh: memorySigner('ssh'),
};
let work: { path: string; remove(): Promise<void> };

/** Bytes this process has read through read(2) and friends so far. */
async function bytesRead(): Promise<number> {
  const io = await readFile('/proc/self/io', 'utf8');
  return Number(/^rchar: (\d+)$/m.exec(io)![1]);
}

beforeAll(async () => {
  work = await tempDir('one-read');
  await mkdir(join(work.path, 'out'));
  await writeFile(join(work.path, 'out', NAME), randomBytes(SIZE));
  await initRepository(join(work.path, 'repository'), join(work.path, 'staging'), { root: [memorySigner('root')], rootThreshold: 1, ...signers }, options);
});

afterAll(async () => {
  await work?.remove();
});

describe('a release of a large artifact', () => {
  let releaseDir: string;

  it('reads the artifact once, from the build output to every signature', async () => {
    const repoDir = join(work.path, 'repository');
    const before = await bytesRead();
    const taken = await takeArtifact(join(work.path, 'out'), NAME, join(work.path, 'artifacts'));
    if (taken === undefined || 'problem' in taken) throw new Error('the artifact was not taken');
    const result = await releaseToRepository(
      repoDir,
      join(work.path, 'staging'),
      { project: 'big', version: '1.0.0', commit: 'a'.repeat(40), branch: 'release/1.0.0', sourceDateEpoch: 1768478400, artifacts: [{ name: NAME, path: taken.path, content: taken.content }], provenance: new TextEncoder().encode('{"payloadType":"x"}') },
      signers,
      options,
    );
    const read = (await bytesRead()) - before;
    // Once is SIZE; metadata, keys and the small files are well under a MiB more.
    expect(read).toBeGreaterThanOrEqual(SIZE);
    expect(read).toBeLessThan(SIZE + 2 * 1024 * 1024);
    releaseDir = join(repoDir, 'releases', 'big', '1.0.0');
    // Linked, not copied: the release file and its consistent-snapshot name are the build's copy.
    const sha256 = result.targets.find((t) => t.target.endsWith(NAME))!.sha256;
    const inodes = await Promise.all([taken.path, join(releaseDir, NAME), join(repoDir, 'targets', 'big', '1.0.0', `${sha256}.${NAME}`)].map(async (p) => (await stat(p)).ino));
    expect(new Set(inodes).size).toBe(1);
  });

  it('signs the bytes it read: gpgv, minisign, ssh-keygen, sha256sum and sha512sum accept them', async () => {
    const keys = join(work.path, 'repository', 'keys');
    run('gpg', ['--batch', '--yes', '--output', join(work.path, 'ring.gpg'), '--dearmor', join(keys, 'release-signing.asc')]);
    expect(run('gpgv', ['--keyring', join(work.path, 'ring.gpg'), `${NAME}.asc`, NAME], { cwd: releaseDir }).status).toBe(0);
    expect(run('minisign', ['-V', '-p', join(keys, 'minisign.pub'), '-m', NAME], { cwd: releaseDir }).status).toBe(0);
    expect(run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: releaseDir }).status).toBe(0);
    expect(run('sha512sum', ['-c', `${NAME}.sha512`], { cwd: releaseDir }).status).toBe(0);
    const sig = run('ssh-keygen', ['-Y', 'verify', '-f', join(keys, 'allowed_signers'), '-I', 'big', '-n', 'file', '-s', `${NAME}.sshsig`], { cwd: releaseDir, input: await readFile(join(releaseDir, NAME)) });
    expect(sig.status, sig.stderr).toBe(0);
    // A flipped byte is refused: the checks above are not vacuous.
    const other = join(work.path, 'other');
    await mkdir(other);
    const bytes = await readFile(join(releaseDir, NAME));
    bytes[SIZE - 1] = bytes[SIZE - 1]! ^ 1;
    await writeFile(join(other, NAME), bytes);
    expect(run('gpgv', ['--keyring', join(work.path, 'ring.gpg'), join(releaseDir, `${NAME}.asc`), NAME], { cwd: other }).status).not.toBe(0);
  });

  it('refuses an artifact whose size changed after the build hashed it', async () => {
    const path = join(work.path, 'artifacts', 'late.bin');
    await writeFile(path, 'short');
    const content = { length: 99, sha256: '0'.repeat(64), sha512: '0'.repeat(128), blake2b512: '0'.repeat(128), sha256State: () => { throw new Error('never signed'); } };
    const err = await releaseToRepository(
      join(work.path, 'repository'),
      join(work.path, 'staging'),
      { project: 'big', version: '1.0.1', commit: 'a'.repeat(40), branch: 'release/1.0.1', sourceDateEpoch: 1768478400, artifacts: [{ name: 'late.bin', path, content }], provenance: new Uint8Array(1) },
      signers,
      options,
    ).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('E_IO');
  });
});

