// Each doctor check on a machine built from fixtures: a fake /sys/class/net, ssh
// configs, environment, clock, tool versions and /proc/swaps.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runDoctor, type DoctorContext, type DoctorReport, type ToolRun } from '../../lib/terminal/doctor.js';
import { tempKeystore, testPassphrase, type TempKeystore } from '../support/keys-fixtures.js';

let t: TempKeystore;
let ctx: DoctorContext;

const goodTools: ToolRun = async (command) =>
  ({
    git: 'git version 2.39.5',
    gpg: 'gpg (GnuPG) 2.2.40\nlibgcrypt 1.10.1',
    gpgv: 'gpgv (GnuPG) 2.2.40',
    minisign: 'minisign 0.11',
    'dpkg-deb': "Debian 'dpkg-deb' package management program version 1.21.22 (amd64).",
  })[command] ?? null;

async function iface(name: string, flags: string): Promise<void> {
  await mkdir(join(t.home, 'net', name), { recursive: true });
  await writeFile(join(t.home, 'net', name, 'flags'), `${flags}\n`);
}

function check(r: DoctorReport, id: string) {
  return r.checks.find((c) => c.id === id)!;
}

beforeEach(async () => {
  t = await tempKeystore();
  await t.keystore.generate('targets', testPassphrase());
  await iface('lo', '0x9');
  await iface('eth0', '0x1002'); // present but down
  await mkdir(join(t.home, 'user', '.ssh'), { recursive: true });
  await mkdir(join(t.home, 'etc', 'ssh_config.d'), { recursive: true });
  await writeFile(join(t.home, 'etc', 'ssh_config'), 'Include ssh_config.d/*.conf\nHost *\n    ForwardAgent no\n');
  await writeFile(join(t.home, 'swaps'), 'Filename\tType\tSize\tUsed\tPriority\n');
  ctx = {
    keystoreDir: t.keystore.dir,
    env: {},
    homeDir: join(t.home, 'user'),
    sshSystemConfig: join(t.home, 'etc', 'ssh_config'),
    netClassDir: join(t.home, 'net'),
    swapsFile: join(t.home, 'swaps'),
    now: new Date(),
    runTool: goodTools,
    uid: 1000,
  };
});
afterEach(async () => {
  await t.cleanup();
});

describe('airlock doctor', () => {
  it('a well-kept terminal passes every check', async () => {
    const r = await runDoctor(ctx);
    expect(r.checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.checks.map((c) => c.id)).toEqual(['network', 'ssh-agent', 'ssh-forward-agent', 'keystore', 'audit-log', 'clock', 'tools', 'swap', 'user']);
  });

  it('warns about an interface that is up', async () => {
    await iface('wlan0', '0x1003');
    const r = await runDoctor(ctx);
    expect(check(r, 'network')).toMatchObject({ status: 'warn', details: { interfaces: ['wlan0'] } });
    expect(r.ok).toBe(false);
  });

  it('warns when run as root', async () => {
    const r = await runDoctor({ ...ctx, uid: 0 });
    expect(check(r, 'user').status).toBe('warn');
    expect(r.ok).toBe(false);
  });

  it('warns about a reachable ssh-agent', async () => {
    const r = await runDoctor({ ...ctx, env: { SSH_AUTH_SOCK: '/tmp/ssh-XXXX/agent.1' } });
    expect(check(r, 'ssh-agent').status).toBe('warn');
  });

  it('warns about ForwardAgent in the user config, and in a file the system config includes', async () => {
    await writeFile(join(t.home, 'user', '.ssh', 'config'), 'Host build\n  # ForwardAgent yes (a comment)\n  ForwardAgent=yes\n');
    await writeFile(join(t.home, 'etc', 'ssh_config.d', 'corp.conf'), 'Host *\n\tforwardagent "yes"\n');
    const r = await runDoctor(ctx);
    const c = check(r, 'ssh-forward-agent');
    expect(c.status).toBe('warn');
    expect((c.details!.lines as { file: string; line: number }[]).map((l) => [l.file.slice(t.home.length), l.line])).toEqual([
      ['/user/.ssh/config', 3],
      ['/etc/ssh_config.d/corp.conf', 2],
    ]);
  });

  it('warns about a missing keystore and a loose one', async () => {
    expect(check(await runDoctor({ ...ctx, keystoreDir: join(t.home, 'none') }), 'keystore').status).toBe('warn');
    await chmod(t.keystore.dir, 0o750);
    const c = check(await runDoctor(ctx), 'keystore');
    expect(c.status).toBe('warn');
    expect(c.fix).toContain('chmod 700');
  });

  it('warns about a tampered audit log', async () => {
    await writeFile(t.keystore.audit.file, '');
    expect(check(await runDoctor(ctx), 'audit-log').status).toBe('warn');
  });

  it('warns about an unset clock and one behind the audit log', async () => {
    expect(check(await runDoctor({ ...ctx, now: new Date('1970-01-01T00:00:10Z') }), 'clock').status).toBe('warn');
    const past = new Date(Date.now() - 3 * 24 * 3600 * 1000);
    const c = check(await runDoctor({ ...ctx, now: past }), 'clock');
    expect(c.status).toBe('warn');
    expect(c.summary).toContain('went backwards');
  });

  it('warns about missing and outdated tools', async () => {
    const r = await runDoctor({ ...ctx, runTool: async (cmd, args) => (cmd === 'minisign' ? null : cmd === 'gpg' ? 'gpg (GnuPG) 2.1.18' : goodTools(cmd, args)) });
    const c = check(r, 'tools');
    expect(c.status).toBe('warn');
    expect(c.summary).toContain('minisign is not installed');
    expect(c.summary).toContain('gpg 2.1.18 is older than 2.2');
  });

  it('warns when swap is on', async () => {
    await writeFile(join(t.home, 'swaps'), 'Filename\tType\tSize\tUsed\tPriority\n/dev/sda2\tpartition\t1000\t0\t-2\n');
    expect(check(await runDoctor(ctx), 'swap')).toMatchObject({ status: 'warn', details: { devices: ['/dev/sda2'] } });
  });

  it('runs against the real machine without throwing', async () => {
    const r = await runDoctor({ keystoreDir: t.keystore.dir });
    expect(r.checks.length).toBe(9);
  });
});
