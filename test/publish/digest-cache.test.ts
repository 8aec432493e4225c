import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DigestCachingTransport } from '../../lib/publish/digest-cache.js';
import type { RemoteDigest, RemoteFile, Transport } from '../../lib/publish/transport.js';

// A host whose one immutable object is replaced within the same second with bytes of the
// same length, as S3 allows (its mtime has whole seconds): only its version name differs.
function hostHolding(state: { sha256: string; version?: string }, reads: string[]): Transport {
  const path = 'releases/demo/1.0/notes.txt';
  const file = (): RemoteFile => ({ path, size: 5, mtime: 1_700_000_000, ...(state.version ? { version: state.version } : {}) });
  return {
    host: 'h',
    list: async () => [file()],
    digest: async (p): Promise<RemoteDigest> => {
      reads.push(p);
      return { length: 5, sha256: state.sha256, mtime: 1_700_000_000, ...(state.version ? { version: state.version } : {}) };
    },
    readSmall: async () => undefined,
    put: async () => undefined,
    rename: async () => 'renamed',
    remove: async () => undefined,
    close: async () => undefined,
  } as Transport;
}

describe('the digest cache', () => {
  let work: string;
  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'airlock-digest-cache-'));
  });
  afterEach(async () => {
    await rm(work, { recursive: true, force: true });
  });

  async function digestOnce(inner: Transport): Promise<string | undefined> {
    const t = await DigestCachingTransport.wrap(inner, join(work, 'cache.json'));
    try {
      const [f] = await t.list();
      return (await t.digest(f!.path))?.sha256;
    } finally {
      await t.close();
    }
  }

  it('reads an object again when the host names another version of it, even with the same length and second', async () => {
    const reads: string[] = [];
    const state = { sha256: 'a'.repeat(64), version: '"etag-1"' };
    expect(await digestOnce(hostHolding(state, reads))).toBe('a'.repeat(64));
    state.sha256 = 'b'.repeat(64);
    state.version = '"etag-2"';
    expect(await digestOnce(hostHolding(state, reads))).toBe('b'.repeat(64));
    expect(reads).toHaveLength(2);
  });

  it('answers from the cache while length, mtime and version agree', async () => {
    const reads: string[] = [];
    const state = { sha256: 'a'.repeat(64), version: '"etag-1"' };
    await digestOnce(hostHolding(state, reads));
    expect(await digestOnce(hostHolding(state, reads))).toBe('a'.repeat(64));
    expect(reads).toHaveLength(1);
  });

  it('keeps rsync\'s quick check on hosts without version names', async () => {
    const reads: string[] = [];
    const state = { sha256: 'a'.repeat(64) };
    await digestOnce(hostHolding(state, reads));
    expect(await digestOnce(hostHolding(state, reads))).toBe('a'.repeat(64));
    expect(reads).toHaveLength(1);
  });
});
