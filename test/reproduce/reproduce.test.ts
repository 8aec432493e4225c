// airlock reproduce against releases made the terminal's way (real build, DSSE
// provenance, signed TUF metadata; in-memory keys): an honest release reproduces; a
// validly signed release whose artifact came from a modified source does not, and the
// report names the entries; a provenance or host that does not verify is refused before
// any build — the recipe's marker step never runs and no build directory is made.
import { existsSync } from 'node:fs';
import { cp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AirlockError } from '../../lib/core/errors.js';
import { findDiffoscope, parseReleaseId, reproduceRelease, type ReproduceReport } from '../../lib/reproduce/index.js';
import { Updater } from '../../lib/verify/index.js';
import { COMMIT_EPOCH, makeRepo } from '../support/build-repo.js';
import { ensureBuilt, runCli } from '../support/e2e-cli.js';
import { memorySigner } from '../support/memory-signer.js';
import { rewriteTarGz, sampleRepository, SAMPLE_PROJECT, type SampleRepository } from '../support/reproduce-release.js';

let repo: SampleRepository;
let rootBytes: Uint8Array;

beforeAll(async () => {
  await ensureBuilt();
  repo = await sampleRepository();
  rootBytes = await readFile(repo.root);
  await repo.release('1.0.0');
  // A compromised build: the tarball came from a tree where README.md was edited and
  // src/hello.sh has another mtime; everything is signed with the repository's keys.
  await repo.release('1.1.0', {
    artifacts: async (build) => {
      const tarball = build.artifacts.find((a) => a.name.endsWith('.tar.gz'))!;
      await rewriteTarGz(tarball.path, {
        content: { [`${SAMPLE_PROJECT}-1.1.0/README.md`]: '# sample\n\nA project released to test airlock reproduce, and a backdoor.\n' },
        mtime: { [`${SAMPLE_PROJECT}-1.1.0/src/hello.sh`]: COMMIT_EPOCH + 3600 },
      });
    },
  });
  // A provenance signed by a key no root lists (a retired key, with a root pinned after the
  // rotation), listed in validly signed metadata.
  await repo.release('1.2.0', { provenanceSigner: memorySigner('targets') });
  // Validly signed provenance whose subject digest is not the published target's.
  await repo.release('1.3.0', {
    statement: (s) => {
      s.subject[0]!.digest.sha256 = 'ab'.repeat(32);
    },
  });
  // A release with a file the provenance does not name.
  await repo.release('1.4.0', {
    statement: (s) => {
      s.subject.pop();
    },
  });
  // A provenance claiming the current targets key's id, signed by another key.
  await repo.release('1.5.0', { provenanceSigner: { ...memorySigner('targets'), keyId: repo.targets.keyId } });
}, 120_000);

afterAll(async () => {
  await repo?.cleanup();
});

async function reproduceLib(version: string, extra: { from?: string; source?: string; workRoot?: string } = {}): Promise<ReproduceReport> {
  const updater = new Updater({ trustedRoot: rootBytes, sources: [extra.from ?? repo.host] });
  return reproduceRelease({ updater, release: { project: SAMPLE_PROJECT, version }, source: extra.source ?? repo.source, diffoscope: false, ...(extra.workRoot ? { workRoot: extra.workRoot } : {}) });
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AirlockError) return err.code;
    throw err;
  }
  throw new Error('expected a refusal');
}

/** Whether a build of `version` ran its recipe since the release was made. */
function buildRan(version: string): boolean {
  return existsSync(repo.marker(version));
}

describe('airlock reproduce (library)', () => {
  it('reproduces an honest release from any clone: every artifact identical, the build ran once', async () => {
    const report = await reproduceLib('1.0.0', { source: `file://${repo.source}` });
    expect(report.reproducible).toBe(true);
    expect(report.artifacts.map((a) => [a.name, a.status])).toEqual([
      [`${SAMPLE_PROJECT}-1.0.0.tar.gz`, 'identical'],
      [`${SAMPLE_PROJECT}-notes-1.0.0.txt`, 'identical'],
    ]);
    expect(report.unaccounted).toEqual([]);
    expect(report.outputDir).toBeNull();
    expect(report.provenance.signedBy).toEqual([repo.targets.keyId]);
    expect(report.provenance.signer).toEqual({ key: 'current', keyIds: [repo.targets.keyId] });
    expect(report.rebuild.network).toBe('isolated');
    expect((await readFile(repo.marker('1.0.0'), 'utf8')).trim().split('\n')).toEqual(['built']);
  });

  it('trusts a provenance signed by a key no verified root lists through the targets metadata, and names the signer as unlisted', async () => {
    // The targets metadata vouches for the envelope's length and hashes (issue 16.4):
    // after a targets-key rotation, every older provenance is signed by the retired key.
    const report = await reproduceLib('1.2.0');
    expect(report.reproducible).toBe(true);
    expect(report.provenance.signer.key).toBe('unlisted');
    expect(report.provenance.signer.keyIds).not.toContain(repo.targets.keyId);
  });

  it("refuses a provenance whose signature by the current targets key's id does not verify, before any build", async () => {
    const workRoot = join(repo.work, 'never-1.5.0');
    expect(await refusal(reproduceLib('1.5.0', { workRoot }))).toBe('E_PROVENANCE');
    expect(buildRan('1.5.0')).toBe(false);
    expect(existsSync(workRoot)).toBe(false);
  });

  it('refuses a signed provenance whose subject digest is not the published target hash, before any build', async () => {
    const workRoot = join(repo.work, 'never-1.3.0');
    expect(await refusal(reproduceLib('1.3.0', { workRoot }))).toBe('E_PROVENANCE');
    expect(buildRan('1.3.0')).toBe(false);
    expect(existsSync(workRoot)).toBe(false);
  });

  it('refuses a host whose provenance file was altered, before any build', async () => {
    const host = join(repo.work, 'host-altered-envelope');
    await cp(repo.host, host, { recursive: true });
    const dir = join(host, 'targets', SAMPLE_PROJECT, '1.0.0');
    const file = (await readdir(dir)).find((f) => f.endsWith('.intoto.jsonl'))!;
    const bytes = await readFile(join(dir, file));
    const at = bytes.indexOf('"payload":"') + 20;
    bytes.writeUInt8(bytes.readUInt8(at) ^ 1, at);
    await writeFile(join(dir, file), bytes);
    await rm(repo.marker('1.0.0'), { force: true });
    const workRoot = join(repo.work, 'never-altered');
    expect(await refusal(reproduceLib('1.0.0', { from: host, workRoot }))).toBe('E_HASH');
    expect(buildRan('1.0.0')).toBe(false);
    expect(existsSync(workRoot)).toBe(false);
  });

  it('refuses a source that does not hold the recorded commit (after verifying, before running a step)', async () => {
    const other = makeRepo({ 'README.md': 'another project\n' });
    try {
      await rm(repo.marker('1.0.0'), { force: true });
      expect(await refusal(reproduceLib('1.0.0', { source: other.dir }))).toBe('E_PIN_COMMIT');
      expect(buildRan('1.0.0')).toBe(false);
    } finally {
      await rm(other.dir, { recursive: true, force: true });
    }
  });

  it('does not call a release reproducible when one of its targets is not in the provenance', async () => {
    const report = await reproduceLib('1.4.0');
    expect(report.artifacts.map((a) => [a.name, a.status])).toEqual([[`${SAMPLE_PROJECT}-1.4.0.tar.gz`, 'identical']]);
    expect(report.unaccounted).toEqual([`${SAMPLE_PROJECT}/1.4.0/${SAMPLE_PROJECT}-notes-1.4.0.txt`]);
    expect(report.reproducible).toBe(false);
    expect(report.outputDir).not.toBeNull();
    await rm(report.outputDir!, { recursive: true, force: true });
  });

  it('refuses a release the repository does not have, and a malformed PROJECT/VERSION', async () => {
    expect(await refusal(reproduceLib('9.9.9'))).toBe('E_TARGET_UNKNOWN');
    for (const bad of ['sample', 'sample/1.0.0/x', '../1.0.0', 'sample/']) {
      expect(() => parseReleaseId(bad)).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    }
  });
});

describe('airlock reproduce (command line)', () => {
  it('exits 1 for a signed release built from a modified source, naming the changed and the re-timed entry', async () => {
    const output = join(repo.work, 'report-1.1.0');
    const r = await runCli('airlock', ['reproduce', `${SAMPLE_PROJECT}/1.1.0`, '--from', repo.host, '--root', repo.root, '--source', repo.source, '--output', output, '--json']);
    expect(r.status, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout) as ReproduceReport & { ok: boolean; error: { code: string } };
    expect(report.ok).toBe(false);
    expect(report.error.code).toBe('E_NOT_REPRODUCIBLE');
    const [tarball, notes] = report.artifacts;
    expect(notes!.status).toBe('identical');
    expect(tarball!.status).toBe('different');
    expect(tarball!.archive!.orderDiffers).toBe(false);
    const byEntry = Object.fromEntries(tarball!.archive!.differences.map((d) => [d.entry, d]));
    expect(Object.keys(byEntry).sort()).toEqual([`${SAMPLE_PROJECT}-1.1.0/README.md`, `${SAMPLE_PROJECT}-1.1.0/src/hello.sh`]);
    expect(byEntry[`${SAMPLE_PROJECT}-1.1.0/README.md`]!.fields.map((f) => f.field).sort()).toEqual(['digest', 'size']);
    expect(byEntry[`${SAMPLE_PROJECT}-1.1.0/src/hello.sh`]!.fields).toEqual([{ field: 'mtime', published: COMMIT_EPOCH + 3600, rebuilt: COMMIT_EPOCH }]);
    // Both files, the build log and the report are kept for a person to look at.
    expect(report.outputDir).toBe(output);
    expect(tarball!.kept).toEqual({ published: join(output, 'published', tarball!.name), rebuilt: join(output, 'rebuilt', tarball!.name) });
    expect(existsSync(join(output, 'build.log'))).toBe(true);
    expect(JSON.parse(await readFile(join(output, 'report.json'), 'utf8')).reproducible).toBe(false);
    if (findDiffoscope()) {
      expect(tarball!.diffoscope!.output).toBe(join(output, 'diffoscope', `${tarball!.name}.txt`));
      expect(await readFile(tarball!.diffoscope!.output!, 'utf8')).toContain('README.md');
    } else {
      expect(tarball!.diffoscope).toBeUndefined();
    }

    // The text report a person reads names the same entries.
    const text = await runCli('airlock', ['reproduce', `${SAMPLE_PROJECT}/1.1.0`, '--from', repo.host, '--root', repo.root, '--source', repo.source, '--no-diffoscope']);
    expect(text.status, text.stderr).toBe(1);
    expect(text.stdout).toMatch(/DIFFERENT {2}sample-1\.1\.0\.tar\.gz/);
    expect(text.stdout).toContain(`${SAMPLE_PROJECT}-1.1.0/src/hello.sh: mtime ${COMMIT_EPOCH + 3600} → ${COMMIT_EPOCH}`);
    expect(text.stdout).toContain(`${SAMPLE_PROJECT}-1.1.0/README.md:`);
    expect(text.stderr).toContain('error E_NOT_REPRODUCIBLE');
    const kept = /report, build log and differing files: (\S+)/.exec(text.stdout)?.[1];
    expect(kept && existsSync(join(kept, 'report.json'))).toBe(true);
    if (kept) await rm(kept, { recursive: true, force: true });
  });

  it('exits 1 with the refusal code for a provenance whose signature does not verify', async () => {
    const r = await runCli('airlock', ['reproduce', `${SAMPLE_PROJECT}/1.5.0`, '--from', repo.host, '--root', repo.root, '--source', repo.source, '--json']);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout).error.code).toBe('E_PROVENANCE');
    expect(buildRan('1.5.0')).toBe(false);
  });
});
