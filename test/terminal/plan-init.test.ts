// `airlock init --dry-run` prints what planInit plans, derived from its data: each
// medium with the roles and key types it gets and the files made on it, and the
// repository's version 1 in publishing order — the very files the transaction then
// writes (checked against a real initRepository), not a fixed list.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_EXPIRY_DAYS } from '../../lib/repo/expiry.js';
import { initRepository } from '../../lib/repo/init-repository.js';
import { terminalPaths } from '../../lib/terminal/home.js';
import { describeInitPlan, planInit } from '../../lib/terminal/plan-init.js';
import { ensureBuilt, runCli } from '../support/e2e-cli.js';
import { memorySigner } from '../support/memory-signer.js';
import { existsSync } from 'node:fs';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('the init plan', () => {
  it('names each medium, its roles and key types, and the repository files the transaction writes', async () => {
    const work = await mkdtemp(join(tmpdir(), 'airlock-plan-init-'));
    dirs.push(work);
    const paths = terminalPaths(join(work, 'home'));
    const media = [join(work, 'a'), join(work, 'b')];
    const plan = planInit({ paths, rootKeys: 2, rootThreshold: 2, rootKeystores: media, homeIsTerminal: false, occupied: [], keyTypes: { targets: 'ecdsa-p256' } });
    expect(plan.keystores.map((k) => [k.medium, k.dir, k.keys.map((x) => `${x.role}:${x.keyType}`)])).toEqual([
      ['terminal', paths.keystore, ['targets:ecdsa-p256', 'snapshot:ed25519', 'timestamp:ed25519', 'pgp:ed25519', 'minisign:ed25519', 'ssh:ed25519', 'publish:ed25519']],
      ['root medium', media[0], ['root:ed25519']],
      ['root medium', media[1], ['root:ed25519']],
    ]);
    expect(plan.keystores[1]!.files).toEqual(['keystore.json', '<root key id>.key', 'audit.log', 'audit.head']);
    const together = planInit({ paths, rootKeys: 3, rootThreshold: 2, rootKeystores: [], homeIsTerminal: false, occupied: [] });
    expect(together.keystores).toHaveLength(1);
    expect(together.keystores[0]!.keys.filter((k) => k.role === 'root')).toHaveLength(3);
    expect(describeInitPlan(together)[0]).toContain('root threshold 2 of 3');

    // The repository files are the ones a real version 1 is made of, in the same order.
    const minisign = memorySigner('minisign');
    const made = await initRepository(
      join(work, 'repository'),
      join(work, 'staging'),
      { root: [memorySigner('root')], rootThreshold: 1, targets: memorySigner('targets'), snapshot: memorySigner('snapshot'), timestamp: memorySigner('timestamp'), pgp: memorySigner('pgp'), minisign },
      { now: new Date(), expiryDays: DEFAULT_EXPIRY_DAYS, name: 'Plan' },
    );
    expect(made.files.map((f) => f.replace(/^keys\/minisign-[0-9A-F]+\.pub$/, 'keys/minisign-<minisign key id>.pub'))).toEqual(plan.files);
  });

  it('airlock init --dry-run prints it (human and --json) and makes nothing', async () => {
    await ensureBuilt();
    const work = await mkdtemp(join(tmpdir(), 'airlock-plan-init-cli-'));
    dirs.push(work);
    const home = join(work, 'home');
    const media = [join(work, 'a'), join(work, 'b')];
    const args = ['init', '--dry-run', '--root-keystore', media[0]!, '--root-keystore', media[1]!, '--root-threshold', '2', '--key-type', 'targets=ecdsa-p256'];
    const json = await runCli('airlock', [...args, '--json'], { AIRLOCK_HOME: home });
    expect(json.status, json.stderr).toBe(0);
    const printed = (JSON.parse(json.stdout.trim().split('\n').at(-1)!) as { plan: unknown }).plan;
    expect(printed).toEqual(JSON.parse(JSON.stringify(planInit({ paths: terminalPaths(home), rootKeys: 1, rootThreshold: 2, rootKeystores: media, homeIsTerminal: false, occupied: [], keyTypes: { targets: 'ecdsa-p256' } }))));
    const human = await runCli('airlock', args, { AIRLOCK_HOME: home });
    expect(human.status, human.stderr).toBe(0);
    expect(human.stdout).toContain(`root medium keystore ${media[1]}`);
    expect(human.stdout).toMatch(/targets\s+ecdsa-p256/);
    expect(human.stdout).toContain('metadata/1.root.json');
    for (const d of [home, ...media]) expect(existsSync(d), d).toBe(false);
  });
});
