// tuf-js, the independent TUF client, pointed at a host tree served over HTTP. Tests use
// it to show that what airlock publishes is a standard TUF repository.
import { constants } from 'node:fs';
import { copyFile, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Updater } from 'tuf-js';

export async function tufJsUpdater(baseUrl: string, trustedRoot: string, cacheDir?: string): Promise<{ updater: Updater; dir: string }> {
  const dir = cacheDir ?? (await mkdtemp(join(tmpdir(), 'airlock-tufjs-')));
  await mkdir(join(dir, 'metadata'), { recursive: true });
  await mkdir(join(dir, 'targets'), { recursive: true });
  // A reused cache keeps the root it already trusts (that is how rollback is caught across runs).
  await copyFile(trustedRoot, join(dir, 'metadata', 'root.json'), constants.COPYFILE_EXCL).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const updater = new Updater({
    metadataDir: join(dir, 'metadata'),
    metadataBaseUrl: `${baseUrl}/metadata`,
    targetDir: join(dir, 'targets'),
    targetBaseUrl: `${baseUrl}/targets`,
    config: { fetchTimeout: 5000, fetchRetries: 0 },
  });
  return { updater, dir };
}
