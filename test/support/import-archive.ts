// Archives for `airlock import` tests: DIR/<project>/<version>/ with a few small files
// and a release.json each, the layout docs/import.md specifies.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ArchiveSpec {
  project: string;
  version: string;
  files: Record<string, string>;
  commit?: string;
  branch?: string;
  date?: string;
}

export async function writeArchive(dir: string, releases: readonly ArchiveSpec[]): Promise<void> {
  for (const r of releases) {
    const d = join(dir, r.project, r.version);
    await mkdir(d, { recursive: true });
    for (const [name, content] of Object.entries(r.files)) await writeFile(join(d, name), content);
    const record = { commit: r.commit ?? 'a'.repeat(40), branch: r.branch ?? `release/${r.version}`, date: r.date ?? '2024-05-01T12:00:00Z' };
    await writeFile(join(d, 'release.json'), `${JSON.stringify(record)}\n`);
  }
}

/** `projects` × `versions` releases of `files` small files each. */
export function archiveOf(projects: number, versions: number, files: number): ArchiveSpec[] {
  const out: ArchiveSpec[] = [];
  for (let p = 0; p < projects; p++) {
    for (let v = 0; v < versions; v++) {
      const fs: Record<string, string> = {};
      for (let f = 0; f < files; f++) fs[`file-${f}.txt`] = `project ${p} version ${v} file ${f}\n`;
      out.push({ project: `proj${p}`, version: `1.${v}.0`, files: fs, commit: `${p}${v}`.padEnd(40, 'b') });
    }
  }
  return out;
}
