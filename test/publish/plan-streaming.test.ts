import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyPublishPlan, planPublish, publish, STAGE_ORDER, type PublishEvent } from '../../lib/publish/index.js';
import { PLAN_REPORT_ITEMS } from '../../lib/publish/events.js';
import { DirectoryTransport } from '../../lib/publish/directory-transport.js';
import { SpillDir, type HeldGauge } from '../../lib/publish/line-spill.js';
import { expectCode } from '../support/error-codes.js';
import { listTree } from '../support/e2e-cli.js';

// Issue 19: a full plan holds a sort chunk per list, never the tree. With a chunk of 32
// lines, a plan over ~1,000 paths must spill to disk and hold a few hundred lines at most,
// and still publish in order, resume after a cut, and skip what the host has.

const FILES = 1000;
const CHUNK = 32;

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'airlock-plan-stream-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function tree(): Promise<string> {
  const local = join(work, 'local');
  for (let i = 0; i < FILES; i++) {
    const dir = join(local, 'targets', (i % 37).toString(16), String(i));
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'f'), `file ${i}`);
  }
  await mkdir(join(local, 'metadata'), { recursive: true });
  for (const v of [1, 2]) await writeFile(join(local, 'metadata', `${v}.targets.json`), `{"v":${v}}`);
  await writeFile(join(local, 'metadata', '1.snapshot.json'), '{}');
  // Timestamp metadata (unsigned: a plan reads only its version): the copy's timestamp that is none is damage.
  await writeFile(join(local, 'metadata', 'timestamp.json'), '{"signatures":[],"signed":{"_type":"timestamp","expires":"2030-01-01T00:00:00Z","meta":{"snapshot.json":{"version":1}},"spec_version":"1.0.31","version":1}}');
  await mkdir(join(local, 'keys'), { recursive: true });
  await writeFile(join(local, 'keys', 'root.json'), '{}');
  return local;
}

function stageIndexOf(path: string): number {
  if (path.startsWith('targets/')) return STAGE_ORDER.indexOf('content');
  if (path.startsWith('keys/')) return STAGE_ORDER.indexOf('keys');
  if (path.endsWith('timestamp.json')) return STAGE_ORDER.indexOf('timestamp');
  return STAGE_ORDER.indexOf(path.includes('snapshot') ? 'snapshot' : 'targets');
}

describe('a full plan in bounded memory', () => {
  it('spills, holds a bounded number of lines, and publishes in order, resumably', async () => {
    const local = await tree();
    const host = join(work, 'host');
    const t = await DirectoryTransport.open('h', host);
    try {
      const gauge: HeldGauge = { now: 0, max: 0 };
      const spill = new SpillDir(gauge, CHUNK);
      const plan = await planPublish(local, t, { spill });
      expect(plan.upload).toBe(FILES + 5);
      expect(spill.used).toBe(true);
      expect(gauge.max).toBeLessThan(12 * CHUNK);
      // ~32 runs per list: merged in passes, at most the fan-in of each of the three lists open at once.
      expect(spill.reading.max).toBeLessThanOrEqual(3 * spill.fanIn);
      // Cut after 400 files (batches of the content run are renamed in order).
      await expectCode(applyPublishPlan(plan, t, { failAfter: 400 }), 'E_PUBLISH_INTERRUPTED');
      await spill.remove();

      const events: PublishEvent[] = [];
      const again = new SpillDir({ now: 0, max: 0 }, CHUNK);
      const resumed = await planPublish(local, t, { spill: again });
      expect(resumed.skip).toBe(400);
      expect(resumed.upload).toBe(FILES + 5 - 400);
      const report = await applyPublishPlan(resumed, t, { onEvent: (e) => events.push(e) });
      await again.remove();
      expect(report.uploaded).toBe(FILES + 5 - 400);
      const done = events.flatMap((e) => (e.type === 'file-done' ? [e.path] : []));
      expect(done).toHaveLength(FILES + 5 - 400);
      const stages = done.map(stageIndexOf);
      expect(stages).toEqual([...stages].sort((a, b) => a - b));
      expect(done.slice(-2)).toEqual(['metadata/timestamp.json', 'keys/root.json']);
      expect(await listTree(host)).toEqual(await listTree(local));

      const last = await planPublish(local, t, { spill: new SpillDir(undefined, CHUNK) });
      expect([last.upload, last.skip]).toEqual([0, FILES + 5]);
      await last.spill.remove();

      // Every file unreadable to a web server (a publish under umask 077): the repairs spill too.
      for (const f of await listTree(host)) await chmod(join(host, f), 0o600);
      // A dry run names the first repairs, as it does the uploads, and counts them all.
      const [dry] = await publish(local, [{ name: 'h', url: host }], { dryRun: true });
      expect([dry!.plan!.modeRepairs.length, dry!.plan!.modeRepairCount]).toEqual([PLAN_REPORT_ITEMS, FILES + 5]);
      expect(dry!.plan!.items).toBeUndefined(); // a large plan is not listed whole in the report
      const held: HeldGauge = { now: 0, max: 0 };
      const repairing = await planPublish(local, t, { spill: new SpillDir(held, CHUNK) });
      expect([repairing.upload, repairing.modeRepairCount, repairing.modeRepairs]).toEqual([0, FILES + 5, []]);
      expect(held.max).toBeLessThan(12 * CHUNK);
      const repaired = await applyPublishPlan(repairing, t);
      await repairing.spill.remove();
      expect(repaired.modesRepaired).toBe(FILES + 5);
      for (const f of await listTree(host)) expect([f, (await stat(join(host, f))).mode & 0o777]).toEqual([f, 0o644]);
    } finally {
      await t.close();
    }
  });
});

describe('the host directories a full plan holds', () => {
  it('are only those whose mode is wrong: of a host’s 2,000 directories, the 3 it repairs', async () => {
    const DIRS = 2000;
    // The host holds 2,000 release directories, each readable by a web server…
    const host = join(work, 'host');
    const dirs = ['', 'targets', 'targets/demo', ...Array.from({ length: DIRS }, (_, i) => `targets/demo/${i}`)];
    for (const d of dirs) {
      await mkdir(join(host, d), { recursive: true });
      await chmod(join(host, d), 0o755);
    }
    // …but three, at two depths; the copy's files are in those and in two others.
    const odd: Record<string, number> = { 'targets/demo': 0o775, 'targets/demo/7': 0o700, 'targets/demo/1999': 0o750 };
    for (const [d, mode] of Object.entries(odd)) await chmod(join(host, d), mode);
    const local = join(work, 'local');
    for (const i of [7, 8, 1998, 1999]) {
      await mkdir(join(local, `targets/demo/${i}`), { recursive: true });
      await writeFile(join(local, `targets/demo/${i}/f`), `file ${i}`);
    }

    const t = await DirectoryTransport.open('h', host);
    try {
      const held: HeldGauge = { now: 0, max: 0 };
      // What the watch holds as the listing streams: each time the host lists one more
      // directory, the watch holds exactly the odd ones listed before it — a watch that
      // collected the listing first, or held every directory, would not.
      const list = t.listDirectories.bind(t);
      const steps: { held: number; oddBefore: number }[] = [];
      let oddBefore = 0;
      t.listDirectories = async function* () {
        for await (const d of list()) {
          steps.push({ held: held.now, oddBefore });
          yield d;
          if (d.path in odd) oddBefore++;
        }
      };
      const plan = await planPublish(local, t, { directoriesHeld: held });
      expect(steps.length).toBe(dirs.length);
      expect(steps.filter((s) => s.held !== s.oddBefore)).toEqual([]);
      expect(oddBefore).toBe(3);
      expect([plan.upload, plan.modeRepairCount]).toEqual([4, 3]);
      // Top down: a file in an unreadable directory is unreadable anyway.
      expect(plan.modeRepairs).toEqual([
        { path: 'targets/demo', kind: 'dir', from: '0775', to: '0755' },
        { path: 'targets/demo/1999', kind: 'dir', from: '0750', to: '0755' },
        { path: 'targets/demo/7', kind: 'dir', from: '0700', to: '0755' },
      ]);
      // At most the 3 odd ones and the directory in hand; the 3 kept to the end.
      expect(held.max).toBe(4);
      expect(held.now).toBe(3);
      const report = await applyPublishPlan(plan, t);
      await plan.spill.remove();
      expect([report.uploaded, report.modesRepaired]).toEqual([4, 3]);
      for (const d of dirs) expect([d, (await stat(join(host, d))).mode & 0o777]).toEqual([d, 0o755]);

      // Repaired, the host's directories cost the plan nothing.
      const none: HeldGauge = { now: 0, max: 0 };
      const again = await planPublish(local, t, { directoriesHeld: none });
      await again.spill.remove();
      expect([again.upload, again.skip, again.modeRepairCount, none.now]).toEqual([0, 4, 0, 0]);
      expect(none.max).toBe(1); // the directory in hand
    } finally {
      await t.close();
    }
  });
});
