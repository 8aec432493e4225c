// nginx with proxy_cache in front of an S3 gateway, playing the CDN: it keeps what the
// origin's Cache-Control allows (no-cache is not kept; max-age=N for N seconds) and,
// like a CDN's negative caching, keeps 403/404 answers for an hour. Every response says
// whether it came from the cache (X-Cache: HIT, MISS, EXPIRED, …).
import { join } from 'node:path';
import { startNginx, stopNginx, type NginxServer } from './publish-nginx.js';

export async function startCdn(origin: string): Promise<NginxServer> {
  return startNginx(origin, {
    httpConfig: (prefix) => `  proxy_cache_path ${join(prefix, 'cache')} levels=1:2 keys_zone=cdn:4m max_size=512m inactive=1h use_temp_path=off;`,
    serverConfig: [
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
    ].join('\n'),
  });
}

export const stopCdn = stopNginx;
