// A real nginx on 127.0.0.1 serving a host tree as the static host (docs/publishing.md: "a web
// server and nothing else"), for tests: high port, every path (pid, logs, temp dirs)
// in a temporary directory, access log off, stopped by stopNginx.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, stopProcess } from './publish-sshd.js';

export const NGINX = '/usr/sbin/nginx';

export interface NginxServer {
  port: number;
  /** http://127.0.0.1:port */
  url: string;
  root: string;
  process: ChildProcess;
  prefix: string;
  log(): string;
}

export async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}:\n${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nginx did not listen on ${port} in 10 s:\n${log()}`);
}

/**
 * Serves `root` read-only. The worker runs as the current user, so it reads what the
 * test wrote (as root, nginx would otherwise drop to `nobody`) — or, with `user`, as that
 * user (root only), to see the tree as a real web server does. `serverConfig` replaces
 * the server block's location lines; `httpConfig` adds lines to the http block (given
 * the server's private directory).
 */
export async function startNginx(root: string, opts: { user?: string; serverConfig?: string; httpConfig?: (prefix: string) => string } = {}): Promise<NginxServer> {
  const prefix = await mkdtemp(join(tmpdir(), 'airlock-nginx-'));
  await mkdir(join(prefix, 'temp'));
  const port = await freePort();
  const t = (n: string) => join(prefix, 'temp', n);
  const me = userInfo();
  const conf = [
    opts.user !== undefined ? `user ${opts.user};` : process.getuid?.() === 0 ? `user ${me.username};` : '',
    'worker_processes 1;',
    `pid ${join(prefix, 'nginx.pid')};`,
    `error_log ${join(prefix, 'error.log')} warn;`,
    'events { worker_connections 64; }',
    'http {',
    '  access_log off;',
    '  default_type application/octet-stream;',
    `  client_body_temp_path ${t('body')};`,
    `  proxy_temp_path ${t('proxy')};`,
    `  fastcgi_temp_path ${t('fastcgi')};`,
    `  uwsgi_temp_path ${t('uwsgi')};`,
    `  scgi_temp_path ${t('scgi')};`,
    opts.httpConfig?.(prefix) ?? '',
    '  server {',
    `    listen 127.0.0.1:${port};`,
    `    root ${root};`,
    '    autoindex off;',
    opts.serverConfig ?? '    location / { limit_except GET HEAD { deny all; } }',
    '  }',
    '}',
    '',
  ].join('\n');
  await writeFile(join(prefix, 'nginx.conf'), conf);
  const child = spawn(NGINX, ['-e', join(prefix, 'error.log'), '-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  await waitForPort(port, child, () => log);
  return { port, url: `http://127.0.0.1:${port}`, root, process: child, prefix, log: () => log };
}

export async function stopNginx(server: NginxServer | undefined): Promise<void> {
  if (!server) return;
  await stopProcess(server.process, 'SIGQUIT');
  await rm(server.prefix, { recursive: true, force: true });
}
