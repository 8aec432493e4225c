// The trust lifecycle through the built CLI, as the runbooks (docs/ceremony.md,
// docs/rotation.md) tell a release manager to type it: init with root keys on separate
// keystores (2 of 2), a root ceremony adding a third holder who signs on a device with no
// repository copy, a refused publish below the threshold, a targets key rotation with
// two root keystores brought in, refresh, status and expiry. Both clients, pinned to the
// first root, follow every step. Real (production-cost) keystores: this is the slow file.
import { readFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keystore } from '../../../lib/keys/keystore.js';
import { Passphrase } from '../../../lib/keys/passphrase.js';
import { DEFAULT_EXPIRY_DAYS } from '../../../lib/repo/expiry.js';
import { releaseToRepository } from '../../../lib/repo/release.js';
import { closeSigners, unlockListed } from '../../../lib/terminal/keys.js';
import { LocalRepository } from '../../../lib/repo/local-repository.js';
import { terminalPaths } from '../../../lib/terminal/home.js';
import { ensureBuilt } from '../../support/e2e-cli.js';
import { airlock, passphraseFile } from '../../support/lifecycle-cli.js';
import { bothClients, type LifecycleClient } from '../../support/lifecycle-clients.js';
import { serveDirectory, type StaticServer } from '../../support/static-http.js';

let work: string;
let home: string;
let host: string;
let server: StaticServer;
let clients: LifecycleClient[];
const dirs = { alice: '', bob: '', carol: '' };
const files = { terminal: '', alice: '', bob: '', carol: '', initFd: '' };
const TARGET = 'hello/1.0.0/hello-1.0.0.txt';
// Production-cost scrypt on a shared machine: each command can take seconds.
const SLOW = 240_000;

/** What `airlock release` does after the build, with the terminal's keys (the build itself is tested elsewhere). */
async function releaseWithTerminalKeys(version: string): Promise<void> {
  const paths = terminalPaths(home);
  const keystore = await Keystore.open(paths.keystore);
  const root = (await new LocalRepository(paths.repository).current()).root.signed;
  const pass = Passphrase.fromString('terminal passphrase');
  const signers = await Promise.all((['targets', 'snapshot', 'timestamp'] as const).map((r) => unlockListed(keystore, root, r, pass)));
  try {
    const artifact = join(work, `hello-${version}.txt`);
    await (await import('node:fs/promises')).writeFile(artifact, `hello ${version}`);
    await releaseToRepository(
      paths.repository,
      paths.staging,
      { project: 'hello', version, commit: 'd'.repeat(40), branch: `release/${version}`, sourceDateEpoch: 1768478400, artifacts: [{ name: `hello-${version}.txt`, path: artifact }], provenance: new TextEncoder().encode('{}') },
      { targets: signers[0]![0]!, snapshot: signers[1]![0]!, timestamp: signers[2]![0]! },
      { now: new Date(), expiryDays: DEFAULT_EXPIRY_DAYS, name: 'CLI lifecycle' },
    );
  } finally {
    pass.wipe();
    await closeSigners(signers.flat());
  }
}

beforeAll(async () => {
  await ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'airlock-lifecycle-cli-'));
  home = join(work, 'terminal');
  host = join(work, 'host');
  for (const who of ['alice', 'bob', 'carol'] as const) dirs[who] = join(work, `media-${who}`);
  files.terminal = await passphraseFile(work, 'terminal.pass', 'terminal passphrase');
  files.alice = await passphraseFile(work, 'alice.pass', 'alice passphrase');
  files.bob = await passphraseFile(work, 'bob.pass', 'bob passphrase');
  files.carol = await passphraseFile(work, 'carol.pass', 'carol passphrase');
  // One fd, one line per keystore: the terminal keystore first, then each --root-keystore in order.
  files.initFd = await passphraseFile(work, 'init.fd', 'terminal passphrase', 'alice passphrase', 'bob passphrase');
  server = await serveDirectory(host);
}, 120_000);

afterAll(async () => {
  await server?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('airlock trust lifecycle from the command line', () => {
  it('init puts one root key on each --root-keystore (2 of 2), none in the terminal keystore', async () => {
    const mismatch = airlock(home, ['init', '--root-keys', '3', '--root-keystore', dirs.alice], { fd3: files.initFd });
    expect([mismatch.status, mismatch.code]).toEqual([2, 'E_USAGE']);

    const r = airlock(home, ['init', '--root-keystore', dirs.alice, '--root-keystore', dirs.bob, '--root-threshold', '2', '--expiry', 'timestamp=5', '--passphrase-fd', '3'], { fd3: files.initFd });
    expect(r.status, r.stderr).toBe(0);
    expect(r.json!.rootKeys.map((k: { keystore: string }) => k.keystore)).toEqual([dirs.alice, dirs.bob]);
    const terminalKeys = await (await Keystore.open(join(home, 'keystore'))).list();
    expect(terminalKeys.map((k) => k.role)).not.toContain('root');
    for (const who of ['alice', 'bob'] as const) expect((await (await Keystore.open(dirs[who])).list()).map((k) => k.role)).toEqual(['root']);

    await releaseWithTerminalKeys('1.0.0');
    const published = airlock(home, ['refresh', '--to', host], { env: { AIRLOCK_PASSPHRASE_FILE: files.terminal } });
    expect(published.status, published.stderr).toBe(0);
    const status = airlock(home, ['status']);
    expect(status.json!.roles.find((x: { role: string }) => x.role === 'root')).toMatchObject({ threshold: 2, version: 1 });
    expect(status.json!.expiryDays.timestamp).toBe(5);

    clients = await bothClients(server.url, await readFile(join(host, 'keys', 'root.json')));
    for (const c of clients) expect((await c.download(TARGET)).toString(), c.name).toBe('hello 1.0.0');
  }, SLOW);

  it('root ceremony: propose adding carol, sign on each medium, refuse below threshold, publish', async () => {
    const gen = airlock(home, ['key', 'generate', 'root', '--keystore', dirs.carol], { env: { AIRLOCK_PASSPHRASE_FILE: files.carol } });
    expect(gen.status, gen.stderr).toBe(0);
    const proposal = join(work, 'root-2.json');
    const propose = airlock(home, ['root', 'propose', '--add-key', `root:${dirs.carol}`, '--threshold', '2', '-o', proposal]);
    expect(propose.status, propose.stderr).toBe(0);
    expect(propose.json!.diff.roles[0]).toMatchObject({ role: 'root', added: [gen.json!.key.keyId], threshold: { from: 2, to: 2 } });

    // The holder sees the change before the passphrase is asked: with no way to ask, the diff is already out.
    const noTty = airlock(home, ['root', 'sign', proposal, '--keystore', dirs.alice]);
    expect([noTty.status, noTty.code]).toEqual([3, 'E_NO_TTY']);
    expect(noTty.stderr).toContain(`+ add     ${gen.json!.key.keyId}`);
    expect(noTty.stderr.indexOf('proposal digest')).toBeLessThan(noTty.stderr.indexOf('E_NO_TTY'));

    const alice = airlock(home, ['root', 'sign', proposal, '--keystore', dirs.alice], { env: { AIRLOCK_PASSPHRASE_FILE: files.alice } });
    expect(alice.status, alice.stderr).toBe(0);
    // Old root: alice and bob, 2 of 2; alone, alice's signature is not enough.
    const early = airlock(home, ['root', 'publish', proposal, '--to', host]);
    expect([early.status, early.code]).toEqual([1, 'E_ROOT_THRESHOLD']);

    // Carol signs on her own device: no terminal home there, the previous root brought from the host.
    const carolCopy = join(work, 'root-2.carol.json');
    const carol = airlock(join(work, 'no-terminal-here'), ['root', 'sign', proposal, '--keystore', dirs.carol, '--previous', join(host, 'metadata', '1.root.json'), '-o', carolCopy], {
      env: { AIRLOCK_PASSPHRASE_FILE: files.carol },
    });
    expect(carol.status, carol.stderr).toBe(0);
    const still = airlock(home, ['root', 'publish', proposal, carolCopy, '--to', host]);
    expect([still.status, still.code]).toEqual([1, 'E_ROOT_THRESHOLD']);
    expect(still.json!.error.details.old).toMatchObject({ met: false, threshold: 2 });
    expect(still.json!.error.details.new).toMatchObject({ met: true });
    const bob = airlock(home, ['root', 'sign', proposal, '--keystore', dirs.bob], { env: { AIRLOCK_PASSPHRASE_FILE: files.bob } });
    expect(bob.status, bob.stderr).toBe(0);
    const publish = airlock(home, ['root', 'publish', proposal, carolCopy, '--to', host]);
    expect(publish.status, publish.stderr).toBe(0);
    expect(publish.json!.version).toBe(2);
    expect(await readFile(join(host, 'keys', 'root.json'))).toEqual(await readFile(join(host, 'metadata', '2.root.json')));
    for (const c of clients) {
      await c.refresh();
      expect(await c.trustedRootVersion(), c.name).toBe(2);
    }
  }, SLOW);

  it('key rotate targets with two root keystores brought in; clients follow and still download', async () => {
    const before = (await new LocalRepository(join(home, 'repository')).current()).root.signed.roles.targets.keyids;
    const r = airlock(home, ['key', 'rotate', 'targets', '--root-keystore', dirs.bob, '--root-keystore', dirs.carol, '--root-passphrase-file', files.bob, '--root-passphrase-file', files.carol, '--to', host], {
      env: { AIRLOCK_PASSPHRASE_FILE: files.terminal },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ version: 3, role: 'targets', oldKeyIds: before });
    expect(r.json!.newKeyId).not.toBe(before[0]);
    for (const c of clients) {
      expect((await c.download(TARGET)).toString(), c.name).toBe('hello 1.0.0');
      expect(await c.trustedRootVersion(), c.name).toBe(3);
    }
    // The keystore now holds the retired and the new targets key; signing picks the one root lists.
    const keystore = await Keystore.open(join(home, 'keystore'));
    expect((await keystore.list()).filter((k) => k.role === 'targets')).toHaveLength(2);
    const refreshed = airlock(home, ['refresh', '--resign', 'targets', '--to', host], { env: { AIRLOCK_PASSPHRASE_FILE: files.terminal } });
    expect(refreshed.status, refreshed.stderr).toBe(0);
    for (const c of clients) expect((await c.download(TARGET)).toString(), c.name).toBe('hello 1.0.0');
  }, SLOW);

  it('refresh --dry-run plans without a passphrase; expiry sets the periods; status lists keys held here', async () => {
    const plan = airlock(home, ['refresh', '--dry-run', '--resign', 'snapshot', '--to', host]);
    expect(plan.status, plan.stderr).toBe(0);
    expect(plan.json!.plan.resign).toEqual(['snapshot', 'timestamp']);
    const set = airlock(home, ['expiry', 'targets=90', '--warn-days', '2']);
    expect(set.json).toMatchObject({ changed: true, expiryDays: { targets: 90, timestamp: 5 }, warnDays: 2 });
    expect(airlock(home, ['expiry', 'targets=0']).code).toBe('E_USAGE');
    const status = airlock(home, ['status']);
    const targets = status.json!.roles.find((x: { role: string }) => x.role === 'targets');
    expect(targets.heldHere).toEqual(targets.keyids);
    expect(status.json!.roles.find((x: { role: string }) => x.role === 'root').heldHere).toEqual([]);
  }, SLOW);
});
