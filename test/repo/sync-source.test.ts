// lib/repo/sync-source.ts on its own: what a directory host's tree may hold and how a
// path the host's metadata names is refused (the CLI's `airlock sync --from DIR` reads
// through HostTreeSource; the whole sync is test/repo/sync-from-host.test.ts).
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostTreeSource, openSyncSource } from '../../lib/repo/sync-source.js';
import { HttpSource } from '../../lib/verify/index.js';
import { expectCode } from '../support/error-codes.js';

let host: string;

beforeAll(async () => {
  host = await mkdtemp(join(tmpdir(), 'airlock-sync-source-'));
  await mkdir(join(host, 'metadata'));
  await writeFile(join(host, 'metadata', 'timestamp.json'), '{}');
  await writeFile(join(host, 'secret'), 'outside metadata/');
  // A directory linked to a real one outside the host, holding the same plausible file.
  await mkdir(join(host, '..', `${basename(host)}-outside`, 'p'), { recursive: true });
  await writeFile(join(host, '..', `${basename(host)}-outside`, 'p', 'a.tar.gz'), 'plausible');
  await mkdir(join(host, 'targets'));
  await symlink(join(host, '..', `${basename(host)}-outside`, 'p'), join(host, 'targets', 'p'));
  await writeFile(join(host, 'releases'), 'a file where a directory is');
});

afterAll(async () => {
  if (host) await rm(host, { recursive: true, force: true });
  if (host) await rm(join(host, '..', `${basename(host)}-outside`), { recursive: true, force: true });
});

async function read(source: HostTreeSource, path: string[]): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of source.fetch({ path, signal: new AbortController().signal })) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}

describe('HostTreeSource', () => {
  it('reads a file of the host tree', async () => {
    expect(await read(new HostTreeSource(host), ['metadata', 'timestamp.json'])).toBe('{}');
  });

  for (const bad of [['metadata', '..', 'secret'], ['metadata', '.'], ['', 'secret'], ['metadata/../secret'], ['metadata\\..\\secret'], ['metadata', 'a\0b']]) {
    it(`refuses a path the metadata names outside a plain tree (${JSON.stringify(bad)}: E_METADATA_INVALID), in fetch and probe`, async () => {
      const source = new HostTreeSource(host);
      await expectCode(read(source, bad), 'E_METADATA_INVALID');
      await expectCode(source.probe(bad), 'E_METADATA_INVALID');
    });
  }

  it('refuses a file under a directory linked elsewhere, or under a file (E_HOST_UNSAFE), in fetch and probe', async () => {
    const source = new HostTreeSource(host);
    for (const path of [['targets', 'p', 'a.tar.gz'], ['releases', 'p', 'a.tar.gz']]) {
      await expectCode(read(source, path), 'E_HOST_UNSAFE');
      await expectCode(source.probe(path), 'E_HOST_UNSAFE');
    }
  });

  it('says a missing file or directory is not there (E_NOT_FOUND)', async () => {
    const source = new HostTreeSource(host);
    await expectCode(read(source, ['metadata', '2.root.json']), 'E_NOT_FOUND');
    await expectCode(source.probe(['targets', 'q', '1.0.0', 'a.tar.gz']), 'E_NOT_FOUND');
  });
});

describe('openSyncSource', () => {
  it('reads a directory as a HostTreeSource (never following links), an http(s) URL as lib/verify does, and refuses any other scheme (E_USAGE)', async () => {
    const dir = openSyncSource(host);
    expect(dir).toBeInstanceOf(HostTreeSource);
    expect(dir.probe).toBeTypeOf('function');
    await dir.probe!(['metadata', 'timestamp.json']);
    expect(openSyncSource('https://releases.example.org/')).toBeInstanceOf(HttpSource);
    expect(openSyncSource('HTTP://releases.example.org/')).toBeInstanceOf(HttpSource);
    await expectCode(() => openSyncSource('sftp://user@example.org/srv'), 'E_USAGE');
  });
});
