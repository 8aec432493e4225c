// Issue 19: the rpm repodata grows from the published repodata (createrepo_c --update
// with the previous metadata), never by reading every earlier package: the earlier .rpm
// is taken away from the copy before the next release, and its entry is still there,
// unchanged, next to the new package's.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openpgpCertificate } from '../../../lib/repo/compat/index.js';
import { checkRpmRelease, observeRpmTools } from '../../../lib/repo/compat/rpm-tools.js';
import { updateRpmRepository } from '../../../lib/repo/compat/rpm-repository.js';
import { buildRpm } from '../../support/compat-rpm.js';
import { tempDir } from '../../support/compat-tools.js';
import { memorySigner } from '../../support/memory-signer.js';

const pgp = memorySigner('pgp');
let work: { path: string; remove(): Promise<void> };
let publishedKeys: string;

async function primary(rpmDir: string): Promise<string> {
  const name = (await readdir(join(rpmDir, 'repodata'))).find((f) => f.endsWith('-primary.xml.gz'))!;
  return gunzipSync(await readFile(join(rpmDir, 'repodata', name))).toString('utf8');
}

/** Each package's entry in primary.xml, by its location. */
function packages(xml: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of xml.matchAll(/<package type="rpm">[\s\S]*?<\/package>/g)) out.set(/<location href="([^"]+)"/.exec(m[0])![1]!, m[0].replace(/<time file="\d+"/, '<time'));
  return out;
}

beforeAll(async () => {
  checkRpmRelease({ tools: await observeRpmTools(), publicUrl: 'http://127.0.0.1/', pgpKeyType: pgp.keyType });
  work = await tempDir('rpm-incremental');
  publishedKeys = await openpgpCertificate(pgp, 'Hello Releases <releases@example.org>');
}, 60_000);
afterAll(async () => {
  await work?.remove();
});

describe('rpm repodata, release after release', () => {
  it('lists the earlier packages from the published repodata without reading them', async () => {
    const copy = join(work.path, 'copy', 'rpm');
    const common = { pgp, date: new Date('2026-03-01T12:00:00Z'), project: 'hello', name: 'Hello', publicUrl: 'http://127.0.0.1/', publishedKeys };
    const first = await buildRpm(join(work.path, 'b1'), 'hello', '1.0.0');
    await updateRpmRepository({ ...common, rpmDir: copy, publishedRpmDir: copy, rpms: [first] });
    const before = packages(await primary(copy));
    expect([...before.keys()]).toEqual(['Packages/hello-1.0.0-1.noarch.rpm']);
    // The earlier package is gone from the terminal: a run that read it would fail.
    await rm(join(copy, 'Packages'), { recursive: true });
    await mkdir(join(copy, 'Packages'));
    await writeFile(join(copy, 'Packages', 'README'), 'not a package');

    const staging = join(work.path, 'staging', 'rpm');
    const second = await buildRpm(join(work.path, 'b2'), 'hello', '1.1.0');
    const written = await updateRpmRepository({ ...common, date: new Date('2026-03-02T12:00:00Z'), rpmDir: staging, publishedRpmDir: copy, rpms: [second] });
    expect(written.filter((p) => p.startsWith('Packages/'))).toEqual(['Packages/hello-1.1.0-1.noarch.rpm']);
    expect(await readdir(join(staging, 'Packages'))).toEqual(['hello-1.1.0-1.noarch.rpm']);
    const after = packages(await primary(staging));
    expect([...after.keys()].sort()).toEqual(['Packages/hello-1.0.0-1.noarch.rpm', 'Packages/hello-1.1.0-1.noarch.rpm']);
    expect(after.get('Packages/hello-1.0.0-1.noarch.rpm')).toBe(before.get('Packages/hello-1.0.0-1.noarch.rpm'));
    const repomd = await readFile(join(staging, 'repodata', 'repomd.xml'), 'utf8');
    for (const f of await readdir(join(staging, 'repodata'))) if (f.endsWith('.xml.gz')) expect(repomd).toContain(`repodata/${f}`);
  }, 120_000);
});
