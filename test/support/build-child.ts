// Entry point of a child process that runs one build, so a test can vary the caller's
// umask, TZ, locale and environment for real. Bundled by build-child-bundle.ts.
// argv[2]: the BuildRequest as JSON. Prints the result (without cleanup) as JSON.
import { buildRelease } from '../../lib/builder/index.js';

const req = JSON.parse(process.argv[2] ?? '{}');
try {
  const r = await buildRelease(req);
  process.stdout.write(JSON.stringify({ ok: true, artifacts: r.artifacts, workDir: r.workDir, statement: r.statement }));
} catch (err) {
  const e = err as { code?: string; message?: string };
  process.stdout.write(JSON.stringify({ ok: false, code: e.code ?? 'unknown', message: e.message }));
}
