// The host registry, host URLs, host key pins and known_hosts parsing, and the progress
// meter: the small pure parts of publishing.
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOf, hostKeyAlgorithmsFor, hostKeyMatches, keysFromKnownHosts, parseHostKeyPin } from '../../lib/publish/host-key.js';
import { parseHostUrl } from '../../lib/publish/host-url.js';
import { addHost, readHosts, removeHost, resolveHosts } from '../../lib/publish/hosts.js';
import { formatProgress, TransferProgress } from '../../lib/publish/progress.js';
import { ed25519KeyBlob } from '../../lib/publish/signer-agent.js';
import { codeOf, codeOfSync as code } from '../support/error-codes.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-hosts-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const blob = ed25519KeyBlob(randomBytes(32));
const line = `ssh-ed25519 ${blob.toString('base64')}`;

describe('host URLs', () => {
  it('reads directories and sftp URLs', () => {
    expect(parseHostUrl('/srv/www')).toEqual({ kind: 'directory', path: '/srv/www' });
    expect(parseHostUrl('file:///srv/www')).toEqual({ kind: 'directory', path: '/srv/www' });
    expect(parseHostUrl('sftp://pub@host.example:2222/www/')).toEqual({ kind: 'sftp', user: 'pub', hostname: 'host.example', port: 2222, path: '/www' });
    expect(parseHostUrl('sftp://pub@[::1]/www')).toMatchObject({ hostname: '::1', port: 22 });
  });

  it.each(['relative/dir', 'sftp://host/www', 'sftp://u:secret@host/www', 'sftp://u@host/', 'http://host/x', 'sftp://u@host/www?x=1'])('refuses %s', (url) => {
    expect(code(() => parseHostUrl(url))).toBe('E_USAGE');
  });
});

describe('hostile host URLs and host-side lines', () => {
  // The user and path go into the shell commands and sshd_config lines printed for root to paste.
  it.each([
    'sftp://pub@host/www/a%2F..%2F..%2Fetc',
    'sftp://pub@host/www/%2e%2e%2F..%2Froot',
    'sftp://bad%0AForceCommand%20x@host/www',
    'sftp://-oProxyCommand=x@host/www',
    'sftp://pub@host/www%3Brm%20-rf%20%2F',
    'sftp://pub@host/w%20w',
  ])('refuses %s', (url) => {
    expect(code(() => parseHostUrl(url))).toBe('E_USAGE');
  });

  it('refuses a chroot that is not a plain absolute directory', async () => {
    const { hostSideInstructions } = await import('../../lib/publish/host-side.js');
    const ok = { user: 'pub', treePath: '/www', publishKey: randomBytes(32) };
    expect(hostSideInstructions({ ...ok, chroot: '/srv/airlock' })).toContain('ChrootDirectory /srv/airlock');
    for (const chroot of ['/', 'srv', '/srv/a b', '/srv/../etc', '/srv\nMatch all', '/srv;reboot']) {
      expect(code(() => hostSideInstructions({ ...ok, chroot })), chroot).toBe('E_USAGE');
    }
  });
});

describe('host key pins', () => {
  it('normalises key lines (comment dropped) and fingerprints, and compares them with the presented key', () => {
    expect(parseHostKeyPin(`${line} root@host`)).toBe(line);
    const fp = fingerprintOf(blob);
    expect(parseHostKeyPin(fp)).toBe(fp);
    expect(hostKeyMatches(line, blob)).toBe(true);
    expect(hostKeyMatches(fp, blob)).toBe(true);
    const other = ed25519KeyBlob(randomBytes(32));
    expect(hostKeyMatches(line, other)).toBe(false);
    expect(hostKeyMatches(fp, other)).toBe(false);
    expect(hostKeyAlgorithmsFor(line)).toEqual(['ssh-ed25519']);
    expect(hostKeyAlgorithmsFor(fp)).toBeUndefined();
  });

  it.each(['', 'ssh-ed25519', 'ssh-dss AAAAB3NzaC1kc3M=', 'SHA256:short', `ssh-rsa ${blob.toString('base64')}`])('refuses the pin %j', (pin) => {
    expect(code(() => parseHostKeyPin(pin))).toBe('E_USAGE');
  });

  it('finds a host in known_hosts: plain, with a port, hashed, and not when negated', async () => {
    const salt = randomBytes(20);
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[h.example]:2222').digest('base64')}`;
    const rsaBlob = Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from('ssh-rsa'), Buffer.from([0, 0, 0, 1, 1])]);
    const file = join(dir, 'known_hosts');
    await writeFile(
      file,
      [
        '# comment',
        `other.example ${line}`,
        `h.example,10.0.0.1 ssh-rsa ${rsaBlob.toString('base64')}`,
        `h.example ${line}`,
        `${hashed} ${line}`,
        `@revoked h.example ${line}`,
        `*.example,!h.example ${line}`,
      ].join('\n'),
    );
    expect(await keysFromKnownHosts(file, 'h.example', 22)).toEqual([line, `ssh-rsa ${rsaBlob.toString('base64')}`]);
    expect(await keysFromKnownHosts(file, 'h.example', 2222)).toEqual([line]);
    expect(await keysFromKnownHosts(file, 'nowhere.test', 22)).toEqual([]);
  });
});

describe('the host registry', () => {
  it('adds, lists, resolves and removes hosts; SFTP hosts need a pinned key', async () => {
    const file = join(dir, 'hosts.json');
    expect(await readHosts(file)).toEqual([]);
    expect(await codeOf(resolveHosts(file, []))).toBe('E_HOST_UNKNOWN');
    expect(await codeOf(addHost(file, { name: 'web', url: 'sftp://pub@h.example/www' }))).toBe('E_USAGE');
    await addHost(file, { name: 'web', url: 'sftp://pub@h.example/www', hostKey: `${line} comment` });
    await addHost(file, { name: 'disk', url: 'file:///srv/mirror' });
    expect(await codeOf(addHost(file, { name: 'disk', url: '/elsewhere' }))).toBe('E_USAGE');
    expect(await codeOf(addHost(file, { name: 'bad name', url: '/x' }))).toBe('E_USAGE');
    expect(await readHosts(file)).toEqual([
      { name: 'web', url: 'sftp://pub@h.example/www', hostKey: line },
      { name: 'disk', url: '/srv/mirror' },
    ]);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await resolveHosts(file, [])).map((h) => h.name)).toEqual(['web', 'disk']);
    expect(await resolveHosts(file, ['disk', '/tmp/x'])).toEqual([{ name: 'disk', url: '/srv/mirror' }, { name: '/tmp/x', url: '/tmp/x' }]);
    expect(await codeOf(resolveHosts(file, ['sftp://pub@h.example/www']))).toBe('E_HOST_UNKNOWN');
    expect(await codeOf(resolveHosts(file, ['nope']))).toBe('E_HOST_UNKNOWN');
    await removeHost(file, 'web');
    expect(await codeOf(removeHost(file, 'web'))).toBe('E_HOST_UNKNOWN');
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ formatVersion: 1, hosts: [{ name: 'disk', url: '/srv/mirror' }] });
  });

  it("refuses a directory host in the terminal's keystore, repository copy or staging area", async () => {
    const home = join(dir, 'terminal-home');
    const file = join(home, 'hosts.json');
    expect(await codeOf(resolveHosts(file, [join(home, 'keystore')]))).toBe('E_USAGE');
    expect(await codeOf(resolveHosts(file, [join(home, 'staging', 'x')]))).toBe('E_USAGE');
    expect(await codeOf(addHost(file, { name: 'inside', url: `file://${home}/repository` }))).toBe('E_USAGE');
    expect(await resolveHosts(file, [join(dir, 'elsewhere'), join(home, 'mirror')])).toHaveLength(2);
  });

  it('refuses a damaged registry with E_CONFIG', async () => {
    const file = join(dir, 'bad-hosts.json');
    await writeFile(file, '{"formatVersion": 2, "hosts": []}');
    expect(await codeOf(readHosts(file))).toBe('E_CONFIG');
    await writeFile(file, 'not json');
    expect(await codeOf(readHosts(file))).toBe('E_CONFIG');
  });
});

describe('progress', () => {
  it('counts bytes over all hosts, with a rate and time left', () => {
    let now = 0;
    const p = new TransferProgress(() => now);
    p.onEvent({ type: 'plan', host: 'a', upload: 2, skip: 0, bytes: 4 << 20, leftovers: 0 });
    p.onEvent({ type: 'file-progress', host: 'a', path: 'x', bytes: 0, length: 2 << 20 });
    now = 1000;
    p.onEvent({ type: 'file-progress', host: 'a', path: 'x', bytes: 1 << 20, length: 2 << 20 });
    now = 2000;
    p.onEvent({ type: 'file-done', host: 'a', path: 'x', length: 2 << 20, sha256: '' });
    const s = p.snapshot();
    expect(s).toMatchObject({ bytesDone: 2 << 20, bytesTotal: 4 << 20, filesDone: 1, filesTotal: 2 });
    expect(s.rate).toBe(1 << 20);
    expect(s.etaSeconds).toBe(2);
    expect(formatProgress(s)).toBe('2.0 MiB / 4.0 MiB (50%)  1/2 files  1.0 MiB/s  ETA 0:02');
  });
});
