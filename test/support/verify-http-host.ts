// A loopback static host for the verifier's tests: serves a directory on 127.0.0.1 like
// a plain web server, with per-path overrides to play a hostile host (trickle, endless
// data, wrong status). Started and stopped by the test that uses it.
import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join, normalize } from 'node:path';

export type Override = (req: IncomingMessage, res: ServerResponse) => void;

export interface HttpHost {
  url: string;
  /** Paths requested, in order (e.g. "/metadata/timestamp.json"). */
  requests: string[];
  /** Serve this URL path with a handler instead of the file. */
  override(path: string, handler: Override): void;
  clearOverrides(): void;
  close(): Promise<void>;
}

export async function serveDirectory(dir: () => string): Promise<HttpHost> {
  const overrides = new Map<string, Override>();
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const o = overrides.get(path);
    if (o) return o(req, res);
    const file = join(dir(), normalize(path).replace(/^(\.\.(\/|$))+/, ''));
    let size: number;
    try {
      const s = statSync(file);
      if (!s.isFile()) throw new Error('not a file');
      size = s.size;
    } catch {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': size, 'content-type': 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    override: (path, handler) => overrides.set(path, handler),
    clearOverrides: () => overrides.clear(),
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  };
}

/** Sends `byte` every `everyMs` until the client goes away, or at most `maxBytes` (bounded). */
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
