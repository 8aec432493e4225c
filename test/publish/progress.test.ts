// The publish progress meter (lib/publish/progress.ts) over a long publish: it holds an
// entry only for each file on its way — never one per finished file, which a publish of
// 200,000 files would pile up and sum on every event — and its totals (bytes done, files
// done of files planned) stay right whatever order files start, send, start over, finish
// and fail in, over several hosts at once.
import { describe, expect, it } from 'vitest';
import { BATCH_AFTER_FILES } from '../../lib/publish/apply.js';
import { publish, type PublishEvent } from '../../lib/publish/index.js';
import { formatProgress, TransferProgress, type ProgressSnapshot } from '../../lib/publish/progress.js';
import { addRelease, createFixtureRepo } from '../support/publish-tuf-fixture.js';
import { scratchDirs } from '../support/scratch-dirs.js';

const scratch = scratchDirs('airlock-publish-progress-');

/** mulberry32: the same interleaving on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** What a host's upload looks like from outside: files left, files on their way (bytes told so far), what finished. */
interface HostRun {
  name: string;
  next: number;
  sending: Map<string, { length: number; told: number | undefined }>;
  failed: boolean;
}

const FILES = 10_000;
const AT_ONCE = 8;

describe('publish progress', () => {
  it('holds no entry per finished file over 10,000 files on two mirrors, and its totals stay right in any order', () => {
    const rand = seeded(19);
    const lengths = Array.from({ length: FILES }, () => (rand() < 0.05 ? 0 : Math.floor(rand() * 100_000)));
    const planned = lengths.reduce((a, b) => a + b, 0);
    const meter = new TransferProgress(() => 0);
    const hosts: HostRun[] = ['a', 'b'].map((name) => ({ name, next: 0, sending: new Map(), failed: false }));
    let bytesPlanned = 0;
    let filesPlanned = 0;
    let doneBytes = 0;
    let doneFiles = 0;
    let mostHeld = 0;
    /** The most entries the meter held beyond the files on their way (0: none). */
    let heldBeyondSending = 0;
    let wrong: { event: PublishEvent; got: ProgressSnapshot; want: Omit<ProgressSnapshot, 'rate' | 'etaSeconds'> } | undefined;

    const expected = () => {
      let inFlight = 0;
      for (const h of hosts) if (!h.failed) for (const f of h.sending.values()) inFlight += f.told ?? 0;
      return { bytesDone: doneBytes + inFlight, bytesTotal: bytesPlanned, filesDone: doneFiles, filesTotal: filesPlanned };
    };
    const emit = (event: PublishEvent) => {
      meter.onEvent(event);
      const got = meter.snapshot();
      const want = expected();
      if (wrong === undefined && (got.bytesDone !== want.bytesDone || got.bytesTotal !== want.bytesTotal || got.filesDone !== want.filesDone || got.filesTotal !== want.filesTotal)) wrong = { event, got, want };
      const sending = hosts.reduce((n, h) => n + (h.failed ? 0 : h.sending.size), 0);
      heldBeyondSending = Math.max(heldBeyondSending, meter.filesHeld - sending);
      mostHeld = Math.max(mostHeld, meter.filesHeld);
    };

    for (const h of hosts) {
      bytesPlanned += planned;
      filesPlanned += FILES;
      emit({ type: 'plan', host: h.name, upload: FILES, skip: 0, bytes: planned, leftovers: 0 });
    }
    // Host b fails once 3,000 of its files are in place, with files on their way.
    const failsAfter = 3_000;
    let bDone = 0;
    for (;;) {
      const active = hosts.filter((h) => !h.failed && (h.next < FILES || h.sending.size > 0));
      if (active.length === 0) break;
      const h = active[Math.floor(rand() * active.length)]!;
      if (h.next < FILES && (h.sending.size === 0 || (h.sending.size < AT_ONCE && rand() < 0.4))) {
        const i = h.next++;
        const path = `targets/demo/1.0/file-${i}.bin`;
        h.sending.set(path, { length: lengths[i]!, told: undefined });
        emit({ type: 'file-start', host: h.name, path, stage: 'content', length: lengths[i]! });
        continue;
      }
      const paths = [...h.sending.keys()];
      const path = paths[Math.floor(rand() * paths.length)]!;
      const f = h.sending.get(path)!;
      const roll = rand();
      if (roll < 0.45 && f.length > 0) {
        // Part of the file sent.
        f.told = Math.min(f.length, (f.told ?? 0) + 1 + Math.floor(rand() * f.length));
        emit({ type: 'file-progress', host: h.name, path, bytes: f.told, length: f.length });
      } else if (roll < 0.55 && f.told !== undefined) {
        // Started over (a retried write): counted from nothing again once its progress says so.
        emit({ type: 'file-start', host: h.name, path, stage: 'content', length: f.length });
        f.told = 0;
        emit({ type: 'file-progress', host: h.name, path, bytes: 0, length: f.length });
      } else {
        // In place: sometimes after a last progress event, sometimes straight (a small file, a batch's rename).
        if (rand() < 0.5 && f.length > 0) {
          f.told = f.length;
          emit({ type: 'file-progress', host: h.name, path, bytes: f.length, length: f.length });
        }
        h.sending.delete(path);
        doneBytes += f.length;
        doneFiles++;
        emit({ type: 'file-done', host: h.name, path, length: f.length, sha256: 'ab'.repeat(32) });
        if (h.name === 'b' && ++bDone === failsAfter) {
          expect(h.sending.size).toBeGreaterThan(0);
          h.failed = true;
          emit({ type: 'host-failed', host: 'b', code: 'E_IO', message: 'connection lost' });
        }
      }
    }

    expect(wrong).toBeUndefined();
    expect(doneFiles).toBe(FILES + failsAfter);
    // At most the files on their way on both hosts, never one per finished file.
    expect(heldBeyondSending).toBe(0);
    expect(mostHeld).toBeGreaterThan(0);
    expect(mostHeld).toBeLessThanOrEqual(2 * AT_ONCE);
    expect(meter.filesHeld).toBe(0);
    const end = meter.snapshot();
    expect(formatProgress(end)).toBe(formatProgress({ ...expected(), rate: 0, etaSeconds: undefined }));
    // Host b's files in place still count; those it had on their way do not.
    expect(end).toMatchObject({ bytesDone: doneBytes, bytesTotal: 2 * planned, filesDone: FILES + failsAfter, filesTotal: 2 * FILES });
  });

  it('ends a real publish to two directory mirrors at 100%, holding nothing', async () => {
    const local = await scratch.fresh('local');
    const repo = await createFixtureRepo(local, { delegatedRole: 'releases' });
    const files = Object.fromEntries(Array.from({ length: BATCH_AFTER_FILES + 8 }, (_, i) => [`file-${i}.txt`, `bytes of ${i}\n`.repeat(i + 1)]));
    await addRelease(repo, 'demo', '1.0', files);
    const meter = new TransferProgress();
    const sending = new Set<string>();
    let mostHeld = 0;
    let heldBeyondSending = 0;
    const onEvent = (e: PublishEvent) => {
      meter.onEvent(e);
      if (e.type === 'file-start') sending.add(`${e.host} ${e.path}`);
      if (e.type === 'file-done') sending.delete(`${e.host} ${e.path}`);
      heldBeyondSending = Math.max(heldBeyondSending, meter.filesHeld - sending.size);
      mostHeld = Math.max(mostHeld, meter.filesHeld);
    };
    const hosts = [
      { name: 'one', url: await scratch.fresh('one') },
      { name: 'two', url: await scratch.fresh('two') },
    ];
    const reports = await publish(local, hosts, { onEvent });
    expect(reports.map((r) => r.ok)).toEqual([true, true]);
    const end = meter.snapshot();
    const uploaded = reports.reduce((n, r) => n + r.uploaded, 0);
    expect(uploaded).toBeGreaterThan(2 * BATCH_AFTER_FILES);
    expect(end).toMatchObject({ bytesDone: end.bytesTotal, filesDone: uploaded, filesTotal: uploaded });
    expect(end.bytesTotal).toBe(reports.reduce((n, r) => n + r.bytes, 0));
    expect(formatProgress(end)).toContain(`(100%)  ${uploaded}/${uploaded} files`);
    expect(heldBeyondSending).toBe(0);
    expect(mostHeld).toBeGreaterThan(0);
    expect(meter.filesHeld).toBe(0);
  });
});
