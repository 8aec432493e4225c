// Length and hash checks of downloaded bytes against what trusted metadata lists
// (TUF §5.5.2, §5.6.2 for metadata; §5.7.3 for targets). Every listed hash must match,
// and every listed algorithm must be one we can compute: an unknown one is refused
// rather than skipped, so a listed hash never goes unchecked.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { DigestSet } from '../core/digest-set.js';
import { AirlockError, fromSystemError } from '../core/errors.js';

export interface ExpectedFile {
  length?: number;
  hashes?: Readonly<Record<string, string>>;
}

/** TUF/securesystemslib hash names → node:crypto names. */
const ALGORITHMS: Readonly<Record<string, string>> = {
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  blake2b: 'blake2b512',
};

export function digestNames(expected: ExpectedFile): { listed: string; node: string }[] {
  return Object.keys(expected.hashes ?? {}).map((listed) => {
    const node = Object.hasOwn(ALGORITHMS, listed) ? ALGORITHMS[listed] : undefined;
    if (node === undefined) {
      throw new AirlockError('E_HASH', `the metadata lists a ${listed} hash, which airlock-verify cannot compute; ask the publisher to list sha256 or sha512`);
    }
    return { listed, node };
  });
}

export function checkDigests(expected: ExpectedFile, length: number, digests: Readonly<Record<string, string>>, what: string): void {
  if (expected.length !== undefined && length !== expected.length) {
    throw new AirlockError('E_LENGTH', `${what}: ${length} bytes, but the signed metadata says ${expected.length}; the file is not the one published`, {
      details: { expected: expected.length, actual: length },
    });
  }
  for (const [alg, want] of Object.entries(expected.hashes ?? {})) {
    if (digests[alg] !== want.toLowerCase()) {
      throw new AirlockError('E_HASH', `${what}: ${alg} digest does not match the signed metadata; the file is not the one published`, {
        details: { algorithm: alg, expected: want, actual: digests[alg] },
      });
    }
  }
}

export function checkBytes(expected: ExpectedFile, bytes: Uint8Array, what: string): void {
  const digests: Record<string, string> = {};
  for (const { listed, node } of digestNames(expected)) digests[listed] = createHash(node).update(bytes).digest('hex');
  checkDigests(expected, bytes.length, digests, what);
}

/** Checks a file on disk in constant memory. */
export async function checkFile(expected: ExpectedFile, path: string): Promise<void> {
  const algorithms = digestNames(expected);
  const hashes = await DigestSet.open(
    algorithms.map((a) => a.node),
    expected.length ?? 0,
  );
  let length = 0;
  try {
    try {
      for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
        const b = chunk as Buffer;
        length += b.length;
        // Past the expected length it cannot match: stop reading a huge wrong file.
        if (expected.length !== undefined && length > expected.length) break;
        await hashes.update(b);
      }
    } catch (err) {
      throw fromSystemError(err, `reading ${path}`);
    }
    const digests = await hashes.digests();
    checkDigests(expected, length, Object.fromEntries(algorithms.map((a) => [a.listed, digests[a.node]!])), path);
  } finally {
    hashes.close();
  }
}
