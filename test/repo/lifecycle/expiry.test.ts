// Expiry and refresh: an expired timestamp on the host is refused by both clients (the
// freeze attack: a host replaying old metadata forever); after `airlock refresh` both
// accept again. tuf-js checks against the real clock, so the expired timestamp is a real
// one: airlock signs it with a reference time eight days in the past.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AirlockError } from '../../../lib/core/errors.js';
import { LocalRepository } from '../../../lib/repo/local-repository.js';
import { planRefresh, refreshRepository } from '../../../lib/repo/refresh.js';
import { repositoryStatus } from '../../../lib/repo/status.js';
import { treeDigest } from '../../support/e2e-cli.js';
import { bothClients, refused, type LifecycleClient } from '../../support/lifecycle-clients.js';
import { lifecycleRepo, type LifecycleRepo } from '../../support/lifecycle-repo.js';

const DAY = 86_400_000;
const code = (c: string) => (e: unknown) => e instanceof AirlockError && e.code === c;

let repo: LifecycleRepo;
let clients: LifecycleClient[];
let target: string;

const signers = () => ({ targets: [repo.online.targets], snapshot: [repo.online.snapshot], timestamp: [repo.online.timestamp] });

beforeAll(async () => {
  repo = await lifecycleRepo({ rootKeys: 1, threshold: 1 });
  target = await repo.release('1.0.0');
  const { url } = await repo.serve(repo.repoDir);
  clients = await bothClients(url, await readFile(join(repo.repoDir, 'metadata', '1.root.json')));
  for (const c of clients) expect((await c.download(target)).toString()).toBe('hello 1.0.0');
});

afterAll(async () => {
  await repo?.cleanup();
});

describe('an expired timestamp on the host (freeze attack)', () => {
  it('is refused by both clients, and airlock status reports it', async () => {
    const eightDaysAgo = new Date(Date.now() - 8 * DAY);
    const result = await refreshRepository(repo.repoDir, repo.staging, signers(), { now: eightDaysAgo, expiryDays: repo.expiryDays, marginDays: 3 });
    expect(result.plan.resign).toEqual(['timestamp']);
    expect(Date.parse(result.expires.timestamp!)).toBeLessThan(Date.now());
    for (const c of clients) {
      const before = await treeDigest(c.stateDir);
      expect(await refused(c.download(target)), c.name).toBe('expired');
      // A refusal leaves the trusted state as it was.
      if (c.name === 'airlock-verify') expect(await treeDigest(c.stateDir)).toEqual(before);
    }
    const status = await repositoryStatus(repo.repoDir, new Date(), 3);
    expect(status.roles.find((r) => r.role === 'timestamp')?.warning).toBe('expired');
  });

  it('after airlock refresh, both clients accept again', async () => {
    const result = await refreshRepository(repo.repoDir, repo.staging, signers(), { now: new Date(), expiryDays: repo.expiryDays, marginDays: 3 });
    expect(result.plan.resign).toEqual(['timestamp']);
    expect(result.files).toEqual(['metadata/timestamp.json']);
    for (const c of clients) expect((await c.download(target)).toString(), c.name).toBe('hello 1.0.0');
    const status = await repositoryStatus(repo.repoDir, new Date(), 3);
    expect(status.roles.every((r) => r.warning === undefined)).toBe(true);
  });
});

describe('what airlock refresh re-signs', () => {
  it('the timestamp always; snapshot and targets when they would expire before the next refresh is due', async () => {
    const current = await new LocalRepository(repo.repoDir).current();
    const options = { expiryDays: repo.expiryDays, marginDays: 3 };
    expect(planRefresh(current, { ...options, now: new Date() }).resign).toEqual(['timestamp']);
    // Snapshot (30 days) is due once fewer than 7 + 3 days are left.
    const snapshotExpiry = Date.parse(current.snapshot.signed.expires);
    expect(planRefresh(current, { ...options, now: new Date(snapshotExpiry - 11 * DAY) }).resign).toEqual(['timestamp']);
    expect(planRefresh(current, { ...options, now: new Date(snapshotExpiry - 9 * DAY) }).resign).toEqual(['snapshot', 'timestamp']);
    // Targets due pulls snapshot and timestamp along (each points at the one before).
    const targetsExpiry = Date.parse(current.targets.signed.expires);
    const plan = planRefresh(current, { ...options, now: new Date(targetsExpiry - 5 * DAY) });
    expect(plan.resign).toEqual(['targets', 'snapshot', 'timestamp']);
    expect(plan.due.map((d) => `${d.role}:${d.reason}`)).toEqual(['targets:expiring', 'snapshot:expiring', 'timestamp:timestamp']);
    expect(planRefresh(current, { ...options, now: new Date(), force: ['targets'] }).due.map((d) => `${d.role}:${d.reason}`)).toEqual(['targets:forced', 'snapshot:dependent', 'timestamp:timestamp']);
    // Root cannot be refreshed with online keys: the plan says it needs the ceremony.
    const rootExpiry = Date.parse(current.root.signed.expires);
    expect(planRefresh(current, { ...options, now: new Date(rootExpiry - DAY) }).rootDue?.role).toBe('root');
  });

  it('re-signs snapshot and targets when due, and clients follow', async () => {
    const current = await new LocalRepository(repo.repoDir).current();
    const result = await refreshRepository(repo.repoDir, repo.staging, signers(), { now: new Date(), expiryDays: repo.expiryDays, marginDays: 3, force: ['targets'] });
    expect(result.versions).toEqual({ targets: current.targets.signed.version + 1, snapshot: current.snapshot.signed.version + 1, timestamp: current.timestamp.signed.version + 1 });
    for (const c of clients) expect((await c.download(target)).toString(), c.name).toBe('hello 1.0.0');
  });

  it('refuses without a key root lists for a role that is due, before writing anything', async () => {
    const tree = await treeDigest(repo.repoDir);
    await expect(refreshRepository(repo.repoDir, repo.staging, { timestamp: [repo.online.timestamp] }, { now: new Date(), expiryDays: repo.expiryDays, marginDays: 3, force: ['snapshot'] })).rejects.toSatisfy(
      code('E_KEY_NOT_FOUND'),
    );
    await expect(refreshRepository(repo.repoDir, repo.staging, { timestamp: [repo.online.snapshot] }, { now: new Date(), expiryDays: repo.expiryDays, marginDays: 3 })).rejects.toSatisfy(code('E_KEY_NOT_FOUND'));
    expect(await treeDigest(repo.repoDir)).toEqual(tree);
  });

  it('uses the configured expiry of each role', async () => {
    const now = new Date();
    const result = await refreshRepository(repo.repoDir, repo.staging, signers(), { now, expiryDays: { ...repo.expiryDays, timestamp: 1 }, marginDays: 0 });
    expect(Date.parse(result.expires.timestamp!)).toBe(Math.floor(now.getTime() / 1000) * 1000 + DAY);
  });
});
