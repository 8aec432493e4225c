// nginx with proxy_cache in front of an S3 gateway, playing the CDN: it keeps what the
// origin's Cache-Control allows (no-cache is not kept; max-age=N for N seconds) and,
// like a CDN's negative caching, keeps 403/404 answers for an hour. Every response says
// whether it came from the cache (X-Cache: HIT, MISS, EXPIRED, …).
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { NGINX, waitForPort, type NginxServer } from './publish-nginx.js';
import { freePort, stopProcess } from './publish-sshd.js';

export async function startCdn(origin: string): Promise<NginxServer> {
  const prefix = await mkdtemp(join(tmpdir(), 'airlock-cdn-'));
  await mkdir(join(prefix, 'temp'));
  await mkdir(join(prefix, 'cache'));
  const port = await freePort();
  const t = (n: string) => join(prefix, 'temp', n);
  const conf = [
    process.getuid?.() === 0 ? `user ${userInfo().username};` : '',
    'worker_processes 1;',
    `pid ${join(prefix, 'nginx.pid')};`,
    `error_log ${join(prefix, 'error.log')} warn;`,
    'events { worker_connections 64; }',
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${t('body')};`,
    `  proxy_temp_path ${t('proxy')};`,
    `  fastcgi_temp_path ${t('fastcgi')};`,
    `  uwsgi_temp_path ${t('uwsgi')};`,
    `  scgi_temp_path ${t('scgi')};`,
    `  proxy_cache_path ${join(prefix, 'cache')} levels=1:2 keys_zone=cdn:4m max_size=512m inactive=1h use_temp_path=off;`,
    '  server {',
    `    listen 127.0.0.1:${port};`,
    '    location / {',
    '      limit_except GET HEAD { deny all; }',
    `      proxy_pass ${origin};`,
    '      proxy_cache cdn;',
    '      proxy_cache_valid 200 1h;',
    '      proxy_cache_valid 403 404 1h;',
    '      proxy_cache_revalidate on;',
    '      proxy_cache_lock on;',
    '      add_header X-Cache $upstream_cache_status always;',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
  await writeFile(join(prefix, 'nginx.conf'), conf);
  const child = spawn(NGINX, ['-e', join(prefix, 'error.log'), '-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  await waitForPort(port, child, () => log);
  return { port, url: `http://127.0.0.1:${port}`, root: origin, process: child, prefix, log: () => log };
}

export async function stopCdn(server: NginxServer | undefined): Promise<void> {
  if (!server) return;
  await stopProcess(server.process, 'SIGQUIT');
  await rm(server.prefix, { recursive: true, force: true });
}
