import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DigestCachingTransport } from '../../lib/publish/digest-cache.js';
import { applyPublishPlan } from '../../lib/publish/apply.js';
import { disposePlan, planPublish } from '../../lib/publish/plan.js';
import type { RemoteDigest, RemoteFile, Transport } from '../../lib/publish/transport.js';

// The digest cache through the plan that reads it (plan.ts merges it with the host's
// listing): which files a plan reads back from the host, and what the cache file and its
// journal hold after.

const MTIME = 1_700_000_000;
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** A host of files (path → bytes, one mtime, an optional version name each); reads counted. */
function host(files: Map<string, { bytes: string; version?: string }>, reads: string[]): Transport {
  const digestOf = (p: string): RemoteDigest | undefined => {
    const f = files.get(p);
    return f === undefined ? undefined : { length: f.bytes.length, sha256: sha(f.bytes), mtime: MTIME, ...(f.version ? { version: f.version } : {}) };
  };
  return {
    host: 'h',
    async *list(): AsyncGenerator<RemoteFile> {
      for (const [path, f] of files) yield { path, size: f.bytes.length, mtime: MTIME, ...(f.version ? { version: f.version } : {}) };
    },
    digest: async (p) => {
      reads.push(p);
      return digestOf(p);
    },
    readSmall: async () => undefined,
    put: async (local, p) => {
      files.set(p, { bytes: await readFile(local, 'utf8') });
    },
    rename: async (from, to) => {
      files.set(to, files.get(from)!);
      files.delete(from);
      return 'renamed';
    },
    remove: async (p) => {
      files.delete(p);
    },
    close: async () => undefined,
  };
}

let work: string;
let local: string;
let cache: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'airlock-digest-cache-'));
  local = join(work, 'local');
  cache = join(work, 'cache', 'h.digests');
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function localFile(path: string, bytes: string): Promise<void> {
  await mkdir(dirname(join(local, path)), { recursive: true });
  await writeFile(join(local, path), bytes);
}

/** One full plan (applied unless dryRun) through the caching transport; the paths it read back. */
async function publishOnce(inner: Transport, reads: string[], opts: { dryRun?: boolean; fullCheck?: boolean } = {}): Promise<string[]> {
  reads.length = 0;
  const t = await DigestCachingTransport.wrap(inner, cache, { ignoreCached: Boolean(opts.fullCheck), readOnly: Boolean(opts.dryRun) });
  try {
    const plan = await planPublish(local, t, { digestCache: { cache: t.cache, ignoreCached: t.ignoreCached, write: !t.readOnly } });
    const planned = [...reads];
    if (!opts.dryRun) await applyPublishPlan(plan, t);
    await disposePlan(plan);
    return planned;
  } finally {
    await t.close();
  }
}

describe('the digest cache', () => {
  const path = 'releases/demo/1.0/notes.txt';

  it('answers while length, mtime and version agree, and reads an object again under another version name', async () => {
    await localFile(path, 'hello');
    const files = new Map([[path, { bytes: 'hello', version: '"etag-1"' }]]);
    const reads: string[] = [];
    expect(await publishOnce(host(files, reads), reads)).toEqual([path]);
    expect(await publishOnce(host(files, reads), reads)).toEqual([]);
    // Replaced within the second with bytes of the same length, as S3 allows: only the version name differs.
    files.set(path, { bytes: 'hello', version: '"etag-2"' });
    expect(await publishOnce(host(files, reads), reads)).toEqual([path]);
  });

  it('keeps rsync\'s quick check on hosts without version names, and --full-check reads everything again', async () => {
    await localFile(path, 'hello');
    const files = new Map([[path, { bytes: 'hello' }]]);
    const reads: string[] = [];
    expect(await publishOnce(host(files, reads), reads)).toEqual([path]);
    expect(await publishOnce(host(files, reads), reads)).toEqual([]);
    expect(await publishOnce(host(files, reads), reads, { fullCheck: true })).toEqual([path]);
    expect(await publishOnce(host(files, reads), reads)).toEqual([]);
  });

  it('a dry run reads the cache and writes nothing', async () => {
    await localFile(path, 'hello');
    const files = new Map([[path, { bytes: 'hello' }]]);
    const reads: string[] = [];
    expect(await publishOnce(host(files, reads), reads, { dryRun: true })).toEqual([path]);
    await expect(stat(cache)).rejects.toThrow();
    await expect(stat(dirname(cache))).rejects.toThrow();
  });

  it('journals what an upload learns; the next plan answers from the journal, folds it in and drops it', async () => {
    await localFile('targets/a/1/x', 'xxxxx');
    const files = new Map<string, { bytes: string }>();
    const reads: string[] = [];
    await publishOnce(host(files, reads), reads);
    expect([...files.keys()]).toEqual(['targets/a/1/x']);
    const journal = (await readFile(`${cache}.journal`, 'utf8')).split('\n').filter(Boolean);
    expect(journal).toEqual([`"targets/a/1/x"\t5 ${MTIME} ${sha('xxxxx')}`]);
    await localFile('targets/b/1/y', 'yyyyy');
    expect(await publishOnce(host(files, reads), reads)).toEqual([]);
    expect((await readFile(cache, 'utf8')).split('\n')).toEqual(['airlock-digest-cache 2', `"targets/a/1/x"\t5 ${MTIME} ${sha('xxxxx')}`, '']);
    // y was uploaded by that publish: journaled again, x folded into the cache.
    expect(await readFile(`${cache}.journal`, 'utf8')).toContain('targets/b/1/y');
  });

  it('skips a journal line torn by a crash, lets a later line of a path win, and forgets a removed path', async () => {
    await localFile('targets/a/1/x', 'xxxxx');
    await localFile('targets/b/1/y', 'yyyyy');
    const files = new Map([
      ['targets/a/1/x', { bytes: 'xxxxx' }],
      ['targets/b/1/y', { bytes: 'yyyyy' }],
    ]);
    await mkdir(dirname(cache), { recursive: true });
    await writeFile(
      `${cache}.journal`,
      [`"targets/a/1/x"\t5 ${MTIME} ${sha('xxxxx')}`, `"targets/a/1/x"\t-`, `"targets/b/1/y"\t5 ${MTIME} ${'0'.repeat(64)}`, `"targets/b/1/y"\t5 ${MTIME} ${sha('yyyyy')}`, `"targets/c/1/z"\t5 17`].join('\n'),
    );
    const reads: string[] = [];
    expect(await publishOnce(host(files, reads), reads)).toEqual(['targets/a/1/x']);
  });

  it('trusts no cached digest of a mutable path: a planted entry for timestamp.json or InRelease is read back and uploaded', async () => {
    const mutable = ['dists/stable/InRelease', 'metadata/timestamp.json'];
    // Re-signed in place: the same length, the same mtime second, other bytes (the copy's
    // timestamp.json is timestamp metadata: a plan reads its version, and refuses one that is none).
    const timestamp = (version: number) => `{"signatures":[],"signed":{"_type":"timestamp","expires":"2030-01-01T00:00:00Z","meta":{"snapshot.json":{"version":1}},"spec_version":"1.0.31","version":${version}}}`;
    const newer = new Map([['dists/stable/InRelease', 'new!!'], ['metadata/timestamp.json', timestamp(2)]]);
    const older = new Map([['dists/stable/InRelease', 'old!!'], ['metadata/timestamp.json', timestamp(1)]]);
    for (const p of mutable) await localFile(p, newer.get(p)!);
    await localFile(path, 'hello');
    const files = new Map<string, { bytes: string }>([...mutable.map((p) => [p, { bytes: older.get(p)! }] as const), [path, { bytes: 'hello' }]]);
    await mkdir(dirname(cache), { recursive: true });
    // Entries the writers never make (they store immutable paths only), claiming the local bytes.
    const planted = [...mutable.map((p) => `${JSON.stringify(p)}\t${newer.get(p)!.length} ${MTIME} ${sha(newer.get(p)!)}`), `${JSON.stringify(path)}\t5 ${MTIME} ${sha('hello')}`].sort();
    await writeFile(cache, ['airlock-digest-cache 2', ...planted, ''].join('\n'));
    const reads: string[] = [];
    expect((await publishOnce(host(files, reads), reads)).sort()).toEqual(mutable);
    for (const p of mutable) expect(files.get(p)?.bytes).toBe(newer.get(p));
    // The immutable entry was trusted; the rewritten cache keeps it and drops the planted ones.
    const kept = await readFile(cache, 'utf8');
    expect(kept).toContain(path);
    for (const p of mutable) expect(kept).not.toContain(p);
  });

  it('reads a format-1 cache once and replaces it', async () => {
    await localFile(path, 'hello');
    const files = new Map([[path, { bytes: 'hello' }]]);
    await mkdir(dirname(cache), { recursive: true });
    const legacy = cache.replace(/\.digests$/, '.json');
    await writeFile(legacy, JSON.stringify({ formatVersion: 1, files: { [path]: { length: 5, mtime: MTIME, sha256: sha('hello') } } }));
    const reads: string[] = [];
    expect(await publishOnce(host(files, reads), reads)).toEqual([]);
    await expect(stat(legacy)).rejects.toThrow();
    expect(await readFile(cache, 'utf8')).toContain(path);
  });
});
