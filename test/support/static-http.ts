// A plain static file server on 127.0.0.1 for tests: the "web server and nothing else"
// a package host is. Serves a directory read-only; GET and HEAD only. A test plays a
// hostile host by serving a path with its own handler (see hostile-http.ts).
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, resolve, sep } from 'node:path';

export type Override = (req: IncomingMessage, res: ServerResponse) => void;

export interface StaticServer {
  url: string;
  /** Every request's raw URL path, as the client sent it (before decoding). */
  requested: string[];
  /** Serve this URL path (e.g. "/metadata/timestamp.json") with a handler instead of the file. */
  override(path: string, handler: Override): void;
  clearOverrides(): void;
  close(): Promise<void>;
}

export async function serveDirectory(dir: string): Promise<StaticServer> {
  const root = resolve(dir);
  const overrides = new Map<string, Override>();
  const requested: string[] = [];
  const server: Server = createServer((req, res) => {
    requested.push(req.url ?? '/');
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      const override = overrides.get(path);
      if (override) return override(req, res);
      const file = normalize(join(root, path));
      if (!file.startsWith(root + sep) || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404).end();
        return;
      }
      const st = await stat(file).catch(() => undefined);
      if (!st?.isFile()) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-length': st.size, 'content-type': 'application/octet-stream' });
      if (req.method === 'HEAD') res.end();
      else createReadStream(file).pipe(res);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requested,
    override: (path, handler) => void overrides.set(path, handler),
    clearOverrides: () => overrides.clear(),
    close: () =>
      new Promise<void>((resolve) => {
        // Also ends responses a hostile handler keeps open.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
