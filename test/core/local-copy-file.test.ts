// lib/core/local-copy-file.ts, the one reader of the terminal's copy: a directory at any
// depth below the copy's root that is a symlink — to a real directory holding the very
// files the copy should hold — is damage, never read through (path-beneath.ts); the
// copy's top two levels are refused up front (refuseLinkedDirectories).
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { digestOfLocalFile, openLocalFile, readLocalFile, readLocalMetadataBytes, refuseLinkedDirectories } from '../../lib/core/local-copy-file.js';
import { expectCode } from '../support/error-codes.js';

let work: string;
let copy: string;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'airlock-local-copy-'));
  copy = join(work, 'repository');
  for (const d of ['metadata', 'targets/p/1.0', 'releases/p/1.0', 'apt/dists/stable']) await mkdir(join(copy, d), { recursive: true });
  await writeFile(join(copy, 'metadata', 'timestamp.json'), '{}');
  await writeFile(join(copy, 'targets/p/1.0/f'), 'target');
  await writeFile(join(copy, 'apt/dists/stable/Release'), 'Release');
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Replaces the copy's directory `rel` by a symlink to an identical directory outside the copy. */
async function linkOut(rel: string): Promise<void> {
  const outside = join(work, `outside-${rel.replaceAll('/', '-')}`);
  await cp(join(copy, rel), outside, { recursive: true });
  await rm(join(copy, rel), { recursive: true });
  await symlink(outside, join(copy, rel));
}

describe('the copy read through a linked directory', () => {
  it('reads every file while the directories are real', async () => {
    expect(Buffer.from((await readLocalFile(copy, join(copy, 'targets/p/1.0/f'), 100))!).toString()).toBe('target');
    expect((await digestOfLocalFile(copy, join(copy, 'apt/dists/stable/Release')))?.length).toBe(7);
    expect((await readLocalMetadataBytes(copy, join(copy, 'metadata', 'timestamp.json'))).length).toBe(2);
    await refuseLinkedDirectories(copy);
  });

  for (const [dir, file] of [['targets/p/1.0', 'targets/p/1.0/f'], ['apt/dists/stable', 'apt/dists/stable/Release'], ['targets/p', 'targets/p/1.0/f'], ['metadata', 'metadata/timestamp.json']]) {
    it(`refuses ${file} under ${dir} linked elsewhere (E_REPOSITORY_DAMAGED) in every reader`, async () => {
      await linkOut(dir!);
      const path = join(copy, file!);
      await expectCode(openLocalFile(copy, path), 'E_REPOSITORY_DAMAGED');
      await expectCode(readLocalFile(copy, path, 100), 'E_REPOSITORY_DAMAGED');
      await expectCode(readLocalMetadataBytes(copy, path), 'E_REPOSITORY_DAMAGED');
      await expectCode(digestOfLocalFile(copy, path), 'E_REPOSITORY_DAMAGED');
    });
  }

  it('refuses a file where the copy keeps a directory (E_REPOSITORY_DAMAGED)', async () => {
    await rm(join(copy, 'targets/p/1.0'), { recursive: true });
    await writeFile(join(copy, 'targets/p/1.0'), 'not a directory');
    await expectCode(openLocalFile(copy, join(copy, 'targets/p/1.0/f')), 'E_REPOSITORY_DAMAGED');
  });

  for (const dir of ['keys', 'targets/p', 'releases/p', 'apt/dists']) {
    it(`refuses ${dir} linked elsewhere up front, before any file is read (refuseLinkedDirectories)`, async () => {
      if (dir === 'keys') await mkdir(join(copy, 'keys'));
      await linkOut(dir);
      await expectCode(refuseLinkedDirectories(copy), 'E_REPOSITORY_DAMAGED');
    });
  }

  it('lets a copy the root of which is itself a symlink be read: the home is the user\'s word', async () => {
    await symlink(copy, join(work, 'linked-home'));
    const root = join(work, 'linked-home');
    expect((await digestOfLocalFile(root, join(root, 'targets/p/1.0/f')))?.length).toBe(6);
    await refuseLinkedDirectories(root);
  });
});
