// `airlock doctor [--strict]`: the terminal's posture before a release. Warnings only;
// --strict exits 1 (E_DOCTOR) when there is any.
import { EXIT } from '../../lib/core/errors.js';
import { runDoctor } from '../../lib/terminal/doctor.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import { emit, note } from '../run.js';

export interface DoctorOptions {
  keystore?: string;
  strict?: boolean;
  json?: boolean;
}

export async function doctor(opts: DoctorOptions): Promise<number> {
  const report = await runDoctor({ keystoreDir: keystoreDirFor(opts) });
  const failed = Boolean(opts.strict) && !report.ok;
  const message = `${report.warnings} warning(s); --strict fails on any`;
  // A --strict failure has the documented error shape, with the checks beside it.
  emit(opts, { ...report, ok: !failed, strict: Boolean(opts.strict), ...(failed ? { error: { code: 'E_DOCTOR', message } } : {}) }, () =>
    report.checks.flatMap((c) => [`${c.status === 'ok' ? 'ok  ' : 'WARN'}  ${c.id}: ${c.summary}`, ...(c.status === 'warn' && c.fix ? [`        fix: ${c.fix}`] : [])]),
  );
  if (failed) {
    note(`error E_DOCTOR: ${message}`);
    return EXIT.refused;
  }
  if (!report.ok) note(`${report.warnings} warning(s); \`airlock doctor --strict\` would fail`);
  return EXIT.ok;
}
