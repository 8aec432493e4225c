// The per-release files downloaders check with the tools they already have:
// <file>.asc (OpenPGP, detached, armored), <file>.minisig (minisign, prehashed),
// <file>.sshsig (SSHSIG, namespace "file"), <file>.sha512 (Apache/Maven style) and
// SHA256SUMS with its own .asc and .minisig. Every signature comes from one read of the
// artifact (lib/core/content-digests.ts), done by whoever read it first — in a release,
// the build's copy out of its output directory — or here when no one has: one SHA-256
// serves both SHA256SUMS and the OpenPGP signature (a copy of the hash state takes the
// signature trailer), BLAKE2b-512 feeds minisign, and one SHA-512 gives both the
// .sha512 line and the digest the SSHSIG covers.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../core/atomic-file.js';
import { READ_CHUNK, readContentDigests, type ContentDigests } from '../../core/content-digests.js';
import { AirlockError } from '../../core/errors.js';
import type { Signer } from '../../keys/signer.js';
import { minisignSignature, releaseTrustedComment } from './minisign.js';
import { beginDetachedSignature, openpgpDetachedSignature } from './openpgp-sign.js';
import { assertReleaseFileName, formatSha256Sums, formatSha512File, type SumEntry } from './sha256sums.js';
import { sshFileSignature } from './sshsig.js';

export const SUMS_FILE = 'SHA256SUMS';

export interface ReleaseSignatureOptions {
  /** Directory holding the release files; the signatures are written beside them. */
  dir: string;
  /** Plain file names inside `dir`. */
  files: string[];
  project: string;
  version: string;
  pgp: Signer;
  minisign: Signer;
  /** The `ssh` key: `<file>.sshsig` is written when given. */
  ssh?: Signer;
  /** Signing time for the OpenPGP signatures and the minisign timestamp; now by default. Must not precede either key's creation. */
  date?: Date;
  onProgress?: (file: string, bytes: number) => void;
  /**
   * Digests already taken of some files (by name), from the read that copied them: those
   * files are not read again. They must be the digests of the bytes in `dir`.
   */
  digests?: ReadonlyMap<string, ContentDigests>;
}

interface FileDigests {
  sha256: string;
  blake2b512: Uint8Array;
  sha512: Uint8Array;
  asc: string;
}

async function hashAndSignFile(opts: ReleaseSignatureOptions, name: string, date: Date): Promise<FileDigests> {
  const pending = beginDetachedSignature(opts.pgp, date);
  const content = opts.digests?.get(name) ?? (await readContentDigests(join(opts.dir, name), (bytes) => opts.onProgress?.(name, bytes)));
  const subject = { kind: 'artifact', name: `${opts.project}/${opts.version}/${name}`, version: opts.version, sha256: content.sha256 };
  // Read again only by a software ECDSA key (SignRequest.preimage), which refuses other bytes.
  const asc = await pending.finish(content.sha256State(), subject, () => createReadStream(join(opts.dir, name), { highWaterMark: READ_CHUNK }));
  opts.onProgress?.(name, content.length);
  return { sha256: content.sha256, blake2b512: new Uint8Array(Buffer.from(content.blake2b512, 'hex')), sha512: new Uint8Array(Buffer.from(content.sha512, 'hex')), asc };
}

/**
 * Writes `<file>.asc`, `<file>.minisig`, `<file>.sha512` (and `<file>.sshsig` with an
 * ssh key) for every file, then SHA256SUMS,
 * SHA256SUMS.asc and SHA256SUMS.minisig. Returns the names written, in that order.
 */
export async function writeReleaseSignatures(opts: ReleaseSignatureOptions): Promise<string[]> {
  const date = opts.date ?? new Date();
  const names = [...opts.files];
  for (const name of names) assertReleaseFileName(name);
  if (new Set(names).size !== names.length) throw new AirlockError('E_ARTIFACT_NAME', 'a release file is listed twice; list each file once');
  if (names.includes(SUMS_FILE)) throw new AirlockError('E_ARTIFACT_NAME', `a release file may not be called ${SUMS_FILE}; rename the artifact`);

  const written: string[] = [];
  const sums: SumEntry[] = [];
  for (const name of names) {
    const digests = await hashAndSignFile(opts, name, date);
    const comment = releaseTrustedComment({ timestamp: date, file: name, project: opts.project, version: opts.version });
    const subject = { kind: 'artifact', name: `${opts.project}/${opts.version}/${name}`, version: opts.version, sha256: digests.sha256 };
    const minisig = await minisignSignature(opts.minisign, digests.blake2b512, comment, subject);
    await writeFileAtomic(join(opts.dir, `${name}.asc`), digests.asc);
    await writeFileAtomic(join(opts.dir, `${name}.minisig`), minisig);
    await writeFileAtomic(join(opts.dir, `${name}.sha512`), formatSha512File(name, Buffer.from(digests.sha512).toString('hex')));
    written.push(`${name}.asc`, `${name}.minisig`, `${name}.sha512`);
    if (opts.ssh) {
      await writeFileAtomic(join(opts.dir, `${name}.sshsig`), await sshFileSignature(opts.ssh, digests.sha512, subject));
      written.push(`${name}.sshsig`);
    }
    sums.push({ name, sha256: digests.sha256 });
  }

  const sumsBytes = new Uint8Array(Buffer.from(formatSha256Sums(sums), 'utf8'));
  const sumsSha256 = createHash('sha256').update(sumsBytes).digest('hex');
  const subject = { kind: 'sums', name: `${opts.project}/${opts.version}/${SUMS_FILE}`, version: opts.version, sha256: sumsSha256 };
  const sumsAsc = await openpgpDetachedSignature(opts.pgp, sumsBytes, date, subject);
  const sumsComment = releaseTrustedComment({ timestamp: date, file: SUMS_FILE, project: opts.project, version: opts.version });
  const sumsMinisig = await minisignSignature(opts.minisign, new Uint8Array(createHash('blake2b512').update(sumsBytes).digest()), sumsComment, subject);
  await writeFileAtomic(join(opts.dir, SUMS_FILE), sumsBytes);
  await writeFileAtomic(join(opts.dir, `${SUMS_FILE}.asc`), sumsAsc);
  await writeFileAtomic(join(opts.dir, `${SUMS_FILE}.minisig`), sumsMinisig);
  written.push(SUMS_FILE, `${SUMS_FILE}.asc`, `${SUMS_FILE}.minisig`);
  return written;
}
