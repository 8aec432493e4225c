import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
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

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'airlock-digest-cache-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('the digest cache', () => {

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

// Issue 19: an incremental publish (no listing) never uses cached digests, so it neither
// reads nor rewrites the cache (~36 MB at 100,000 targets); what it learns is journaled.
describe('the digest cache without a listing', () => {

  const MTIME = 1_700_000_000;
  const sha = (c: string): string => c.repeat(64);
  /** A host of immutable files (path → sha256), all of length 5 and one mtime; reads counted. */
  function host(files: Map<string, string>, reads: string[]): Transport {
    return {
      host: 'h',
      list: async () => [...files.keys()].map((path) => ({ path, size: 5, mtime: MTIME })),
      digest: async (p): Promise<RemoteDigest | undefined> => {
        reads.push(p);
        const d = files.get(p);
        return d === undefined ? undefined : { length: 5, sha256: d, mtime: MTIME };
      },
      readSmall: async () => undefined,
      put: async () => undefined,
      rename: async (from, to) => {
        files.set(to, files.get(from)!);
        files.delete(from);
        return 'renamed';
      },
      remove: async (p) => {
        files.delete(p);
      },
      close: async () => undefined,
    } as Transport;
  }

  it('journals an upload instead of rewriting the cache; the next listing answers from the journal and folds it in', async () => {
    const cache = join(work, 'cache.json');
    const files = new Map([['targets/a/1/x', sha('a')]]);
    const reads: string[] = [];
    // A full publish: the cache learns targets/a/1/x.
    let t = await DigestCachingTransport.wrap(host(files, reads), cache);
    await t.list();
    await t.digest('targets/a/1/x');
    await t.close();
    const before = { bytes: await readFile(cache, 'utf8'), ino: (await stat(cache)).ino };
    expect(before.bytes).toContain('targets/a/1/x');

    // An incremental publish: a file put under a temporary name, checked, renamed; another removed.
    files.set('targets/b/1/.y.airlock-0123456789ab.part', sha('b'));
    t = await DigestCachingTransport.wrap(host(files, reads), cache);
    expect((await t.digest('targets/b/1/.y.airlock-0123456789ab.part'))?.sha256).toBe(sha('b'));
    await t.rename('targets/b/1/.y.airlock-0123456789ab.part', 'targets/b/1/y', { overwrite: false });
    await t.remove('targets/a/1/x');
    await t.close();
    expect({ bytes: await readFile(cache, 'utf8'), ino: (await stat(cache)).ino }).toEqual(before);
    const journal = (await readFile(`${cache}.journal`, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { path: string; removed?: boolean });
    expect(journal.map((e) => [e.path, e.removed === true])).toEqual([
      ['targets/b/1/y', false],
      ['targets/a/1/x', true],
    ]);

    // A listing reads cache and journal: y answers without a read, x is gone; the rewrite folds the journal in.
    files.set('targets/a/1/x', sha('c'));
    reads.length = 0;
    t = await DigestCachingTransport.wrap(host(files, reads), cache);
    await t.list();
    expect((await t.digest('targets/b/1/y'))?.sha256).toBe(sha('b'));
    expect((await t.digest('targets/a/1/x'))?.sha256).toBe(sha('c'));
    await t.close();
    expect(reads).toEqual(['targets/a/1/x']);
    await expect(stat(`${cache}.journal`)).rejects.toThrow();
    const folded = JSON.parse(await readFile(cache, 'utf8')) as { files: Record<string, { sha256: string }> };
    expect(Object.fromEntries(Object.entries(folded.files).map(([p, e]) => [p, e.sha256]))).toEqual({ 'targets/a/1/x': sha('c'), 'targets/b/1/y': sha('b') });
  });

  it('skips a journal line torn by a crash and keeps the entries after it', async () => {
    const cache = join(work, 'cache.json');
    await writeFile(`${cache}.journal`, `{"path":"targets/a/1/x","length":5,"mt\n${JSON.stringify({ path: 'targets/b/1/y', length: 5, mtime: MTIME, sha256: sha('b') })}\n`);
    const files = new Map([
      ['targets/a/1/x', sha('a')],
      ['targets/b/1/y', sha('b')],
    ]);
    const reads: string[] = [];
    const t = await DigestCachingTransport.wrap(host(files, reads), cache);
    await t.list();
    await t.digest('targets/a/1/x');
    await t.digest('targets/b/1/y');
    await t.close();
    expect(reads).toEqual(['targets/a/1/x']);
  });
});
