// A real OpenSSH sshd on 127.0.0.1 for publishing tests, configured with exactly the
// Match block and authorized_keys line `airlock host add` prints (lib/publish/host-side.ts):
// own host key, high port, everything under one temporary directory. The chroot has to
// be root-owned and not group/world-writable up to /, which /tmp is not, so the
// directory is made under /run; that needs root (as in CI).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { authorizedKeysLine, sshdMatchBlock } from '../../lib/publish/host-side.js';

const run = promisify(execFile);
export const SSHD = '/usr/sbin/sshd';

export interface SshdHost {
  port: number;
  user: string;
  /** The release tree on disk (what a web server would serve). */
  tree: string;
  /** sftp://user@127.0.0.1:port/www */
  url: string;
  /** `ssh-ed25519 AAAA…` of the server's host key. */
  hostKey: string;
  /** Where the config, host key and authorized_keys are. */
  base: string;
  process: ChildProcess;
  /** What sshd wrote to stderr so far (for failure messages). */
  log(): string;
}

export function canRunSshd(): boolean {
  return process.getuid?.() === 0;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/** Starts sshd letting `publishKey` (raw Ed25519) log in as root, chrooted, SFTP only. */
export async function startSshd(opts: { publishKey: Uint8Array; extraAuthorizedKeys?: string[]; umask?: string }): Promise<SshdHost> {
  const user = 'root';
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation directory
  const base = await mkdtemp('/run/airlock-sshd-');
  await chmod(base, 0o755);
  const etc = join(base, 'etc');
  const chroot = join(base, 'chroot');
  const tree = join(chroot, 'www');
  await mkdir(etc, { mode: 0o700 });
  await mkdir(chroot, { mode: 0o755 });
  await mkdir(tree, { mode: 0o755 });
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'airlock-test-host', '-f', join(etc, 'host_ed25519')]);
  const hostKey = (await readFile(join(etc, 'host_ed25519.pub'), 'utf8')).trim().split(' ').slice(0, 2).join(' ');
  await writeFile(join(etc, 'authorized_keys'), [authorizedKeysLine(opts.publishKey), ...(opts.extraAuthorizedKeys ?? [])].join('\n') + '\n', { mode: 0o600 });
  const port = await freePort();
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(etc, 'host_ed25519')}`,
    `PidFile ${join(etc, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(etc, 'authorized_keys')}`,
    'StrictModes no',
    'UsePAM no',
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'Subsystem sftp internal-sftp',
    'LogLevel VERBOSE',
    // Match blocks last: they run to the end of the file.
    sshdMatchBlock({ user, chroot }),
  ].join('\n');
  await writeFile(join(etc, 'sshd_config'), config, { mode: 0o600 });
  // With `umask`, sshd (and so internal-sftp) creates files under it, as a hardened host's would.
  const argv = [SSHD, '-D', '-e', '-f', join(etc, 'sshd_config')];
  const child = opts.umask === undefined ? spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn('sh', ['-c', `umask ${opts.umask} && exec "$@"`, 'sh', ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd did not start in 10 s:\n${log}`)), 10_000);
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('Server listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sshd exited with ${code}:\n${log}`));
    });
  });
  return { port, user, tree, url: `sftp://${user}@127.0.0.1:${port}/www`, hostKey, base, process: child, log: () => log };
}

/** Sends `signal` to a server the tests started, and SIGKILL if it has not exited 3 s later. */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  const running = () => child.exitCode === null && child.signalCode === null;
  if (!running()) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  if (running()) child.kill('SIGKILL');
}

export async function stopSshd(host: SshdHost | undefined): Promise<void> {
  if (!host) return;
  await stopProcess(host.process, 'SIGTERM');
  await rm(host.base, { recursive: true, force: true });
}
