// The two clients the trust-lifecycle tests hold to the same standard: airlock-verify's
// Updater (lib/verify, in process) and tuf-js, the independent TUF client. Each keeps
// its trusted metadata in its own directory between calls, started from one pinned
// root, exactly as a user's machine does. Refusals are reduced to the kind of failure
// (bad signatures, expired), so a test asserts what was refused, never wording.
import { isAirlockError } from '../../lib/core/errors.js';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Updater as AirlockUpdater } from '../../lib/verify/index.js';
import { tufJsClient } from './tufjs-client.js';

export type Refusal = 'signature' | 'expired' | 'rollback' | 'other';

export interface LifecycleClient {
  name: 'airlock-verify' | 'tuf-js';
  /** Updates trusted metadata from the host (TUF §5.1–5.6). */
  refresh(): Promise<void>;
  /** refresh, then the verified bytes of `target`. */
  download(target: string): Promise<Buffer>;
  /** refresh, then whether trusted metadata lists `target`. */
  lists(target: string): Promise<boolean>;
  /** Version of the root this client trusts now. */
  trustedRootVersion(): Promise<number>;
  /** Its trusted-metadata directory, to show a refusal left it unchanged. */
  stateDir: string;
}

/** What kind of refusal `err` is, for either client; anything unrecognised is 'other'. */
export function refusalOf(err: unknown): Refusal {
  if (isAirlockError(err)) {
    if (err.code === 'E_SIG_THRESHOLD') return 'signature';
    if (err.code === 'E_EXPIRED') return 'expired';
    if (err.code === 'E_ROLLBACK') return 'rollback';
    return 'other';
  }
  const name = (err as Error | undefined)?.constructor?.name;
  if (name === 'UnsignedMetadataError') return 'signature';
  if (name === 'ExpiredMetadataError') return 'expired';
  if (name === 'BadVersionError' || name === 'EqualVersionError') return 'rollback';
  // tuf-js wraps a refused targets file in a RuntimeError and keeps only the original
  // message (updater.ts `loadTargets`), so its text is all there is to tell.
  if (name === 'RuntimeError' && /Unable to load targets.*was signed by \d+\/\d+ keys/s.test((err as Error).message)) return 'signature';
  return 'other';
}

/** Resolves with the refusal kind; fails the test if `p` succeeds. */
export async function refused(p: Promise<unknown>): Promise<Refusal> {
  try {
    await p;
  } catch (err) {
    return refusalOf(err);
  }
  throw new Error('expected the client to refuse, and it accepted');
}

async function rootVersionIn(file: string): Promise<number> {
  return (JSON.parse(await readFile(file, 'utf8')) as { signed: { version: number } }).signed.version;
}

export async function airlockVerifyClient(baseUrl: string, pinnedRoot: Uint8Array): Promise<LifecycleClient> {
  const stateDir = await mkdtemp(join(tmpdir(), 'airlock-lifecycle-verify-'));
  const open = () => new AirlockUpdater({ trustedRoot: pinnedRoot, sources: [baseUrl], stateDir });
  return {
    name: 'airlock-verify',
    stateDir,
    async refresh() {
      await open().refresh();
    },
    async download(target) {
      const updater = open();
      await updater.refresh();
      const info = await updater.requireTargetInfo(target);
      const out = join(stateDir, '..', `${stateDir.split('/').at(-1)}-${encodeURIComponent(target)}`);
      await updater.downloadTarget(info, out);
      return readFile(out);
    },
    async lists(target) {
      const updater = open();
      await updater.refresh();
      return (await updater.getTargetInfo(target)) !== undefined;
    },
    trustedRootVersion: () => rootVersionIn(join(stateDir, 'root.json')),
  };
}

export function tufJsLifecycleClient(baseUrl: string, pinnedRoot: Uint8Array): LifecycleClient {
  const client = tufJsClient(pinnedRoot, baseUrl);
  return {
    name: 'tuf-js',
    stateDir: client.metadataDir,
    refresh: () => client.refresh(),
    download: (target) => client.download(target),
    lists: (target) => client.lists(target),
    trustedRootVersion: () => rootVersionIn(join(client.metadataDir, 'root.json')),
  };
}

/** Both clients, each with its own trusted state, pinned to the same root. */
export async function bothClients(baseUrl: string, pinnedRoot: Uint8Array): Promise<LifecycleClient[]> {
  return [await airlockVerifyClient(baseUrl, pinnedRoot), tufJsLifecycleClient(baseUrl, pinnedRoot)];
}
