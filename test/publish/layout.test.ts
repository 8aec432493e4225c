import { describe, expect, it } from 'vitest';
import { isAirlockError } from '../../lib/core/errors.js';
import { classifyPath, comparePublishOrder, isTemporaryPath, temporaryPath } from '../../lib/publish/layout.js';

const order = (paths: string[]) => paths.map((path) => ({ path, ...classifyPath(path) })).sort(comparePublishOrder).map((p) => p.path);

describe('publishing order', () => {
  it('puts content first, then delegated, targets, snapshot, the apt and rpm indices, timestamp, a new root after it (a rotation transition), and the bootstrap keys last', () => {
    const paths = [
      'metadata/timestamp.json',
      'metadata/2.snapshot.json',
      'metadata/10.root.json',
      'metadata/2.root.json',
      'metadata/2.targets.json',
      'metadata/3.bin-0a.json',
      'apt/dists/stable/InRelease',
      'apt/dists/stable/Release.gpg',
      'apt/dists/stable/Release',
      'apt/dists/stable/main/binary-amd64/Packages.gz',
      'apt/dists/stable/main/binary-amd64/Packages',
      'apt/pool/main/d/demo_1.0_amd64.deb',
      'rpm/repodata/repomd.xml.asc',
      'rpm/repodata/repomd.xml',
      'rpm/repodata/abc-primary.xml.gz',
      'rpm/Packages/demo-1.0-1.noarch.rpm',
      'keys/root.json',
      'releases/demo/1.0/SHA256SUMS.asc',
      'releases/demo/1.0/demo.tar.gz.asc',
      'releases/demo/1.0/demo.tar.gz',
      'targets/demo/1.0/abc.demo.tar.gz',
    ];
    expect(order(paths)).toEqual([
      'apt/pool/main/d/demo_1.0_amd64.deb',
      'rpm/Packages/demo-1.0-1.noarch.rpm',
      'targets/demo/1.0/abc.demo.tar.gz',
      'releases/demo/1.0/demo.tar.gz',
      'releases/demo/1.0/SHA256SUMS.asc',
      'releases/demo/1.0/demo.tar.gz.asc',
      'metadata/3.bin-0a.json',
      'metadata/2.targets.json',
      'metadata/2.snapshot.json',
      'apt/dists/stable/main/binary-amd64/Packages',
      'apt/dists/stable/main/binary-amd64/Packages.gz',
      'rpm/repodata/abc-primary.xml.gz',
      'apt/dists/stable/Release',
      'apt/dists/stable/Release.gpg',
      'apt/dists/stable/InRelease',
      'rpm/repodata/repomd.xml',
      'rpm/repodata/repomd.xml.asc',
      'metadata/timestamp.json',
      'metadata/2.root.json',
      'metadata/10.root.json',
      'keys/root.json',
    ]);
  });

  it('treats content and versioned metadata as immutable, timestamp, keys and apt indices as mutable', () => {
    expect(classifyPath('targets/a/1/x.f').immutable).toBe(true);
    expect(classifyPath('releases/a/1/f').immutable).toBe(true);
    expect(classifyPath('apt/pool/main/a.deb').immutable).toBe(true);
    expect(classifyPath('metadata/1.root.json').immutable).toBe(true);
    expect(classifyPath('metadata/4.snapshot.json').immutable).toBe(true);
    expect(classifyPath('metadata/timestamp.json').immutable).toBe(false);
    expect(classifyPath('keys/root.json').immutable).toBe(false);
    expect(classifyPath('apt/dists/stable/InRelease').immutable).toBe(false);
  });

  it.each(['metadata/root.json', 'metadata/snapshot.json', 'metadata/0.root.json', 'metadata/3.timestamp.json', 'metadata/notes.txt'])(
    'refuses %s, which has no place in the layout',
    (path) => {
      try {
        classifyPath(path);
        expect.unreachable();
      } catch (err) {
        expect(isAirlockError(err, 'E_PUBLISH_LAYOUT')).toBe(true);
      }
    },
  );

  it('names temporary files so that only its own leftovers are recognised', () => {
    const t = temporaryPath('metadata/timestamp.json');
    expect(t.startsWith('metadata/.timestamp.json.airlock-')).toBe(true);
    expect(isTemporaryPath(t)).toBe(true);
    expect(isTemporaryPath('metadata/timestamp.json')).toBe(false);
    expect(isTemporaryPath('metadata/.timestamp.json.1a2b3c.tmp')).toBe(false);
  });
});
