// Handlers that make the static test host (static-http.ts) hostile for one path: a
// host that trickles, or streams without end. Used as `server.override(path, trickle())`.
import type { Override } from './static-http.js';

/** Sends one byte every `everyMs` until the client goes away, or at most `maxBytes` (bounded). */
export function trickle(everyMs = 50, maxBytes = 10_000): Override {
  return (req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let sent = 0;
    const timer = setInterval(() => {
      if (sent >= maxBytes || res.destroyed) {
        clearInterval(timer);
        res.end();
        return;
      }
      sent++;
      res.write('{');
    }, everyMs);
    res.on('close', () => clearInterval(timer));
  };
}

/** Streams data without end (up to a bound far above any cap), as fast as the client reads. */
export function endless(maxBytes = 64 * 1024 * 1024): Override {
  return (req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = (): void => {
      while (sent < maxBytes && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  };
}
