// tuf-js (the independent TUF client) reading a host over HTTP: what release does a
// client see? Used to show that a host is never seen half-published.
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Updater } from 'tuf-js';

export interface ClientView {
  /** Target paths (of those asked about) the client found, sorted. */
  found: string[];
  /** Bytes of each found target, downloaded and verified by tuf-js. */
  bytes: Map<string, Buffer>;
}

/** A client state directory trusting only `root` (the bootstrap root.json). */
export async function freshClientState(root: Uint8Array): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-tufjs-'));
  await mkdir(join(dir, 'metadata'));
  await writeFile(join(dir, 'metadata', 'root.json'), root);
  return dir;
}

export async function copyClientState(state: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-tufjs-'));
  await cp(state, dir, { recursive: true });
  return dir;
}

/** Refreshes from `baseUrl` (metadata/ and targets/ under it) and downloads every asked target found. */
export async function tufView(baseUrl: string, state: string, targets: string[]): Promise<ClientView> {
  await mkdir(join(state, 'targets'), { recursive: true });
  const updater = new Updater({
    metadataDir: join(state, 'metadata'),
    metadataBaseUrl: `${baseUrl}/metadata`,
    targetDir: join(state, 'targets'),
    targetBaseUrl: `${baseUrl}/targets`,
    config: { fetchRetries: 0, fetchTimeout: 5000 },
  });
  await updater.refresh();
  const found: string[] = [];
  const bytes = new Map<string, Buffer>();
  for (const t of targets) {
    const info = await updater.getTargetInfo(t);
    if (!info) continue;
    found.push(t);
    const file = await updater.downloadTarget(info, join(state, 'targets', encodeURIComponent(t)));
    bytes.set(t, await readFile(file));
  }
  return { found: found.sort(), bytes };
}

export async function dropClientState(state: string): Promise<void> {
  await rm(state, { recursive: true, force: true });
}
