// `airlock audit` shows the keystore's audit log; `airlock audit verify` checks its
// hash chain and head and exits 1 (E_AUDIT_TAMPERED) if anything was edited, removed,
// reordered or cut off.
import { Keystore } from '../../lib/keys/keystore.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import type { AuditEntry } from '../../lib/keys/audit-log.js';
import { emit, note } from '../run.js';

export interface AuditOptions {
  keystore?: string;
  json?: boolean;
}

function line(e: AuditEntry): string {
  const s = e.subject;
  const what = s ? `${s.kind} ${s.name}${s.version !== undefined ? ` v${s.version}` : ''}${s.sha256 ? ` sha256:${s.sha256.slice(0, 16)}` : ''}` : '';
  return [String(e.seq).padStart(5), e.time, e.event.padEnd(12), e.role.padEnd(9), e.keyId.slice(0, 16), e.purpose ?? '', what].join('  ').trimEnd();
}

export async function audit(opts: AuditOptions): Promise<void> {
  const keystore = await Keystore.open(keystoreDirFor(opts));
  const verdict = await keystore.verifyAudit();
  const entries = await keystore.audit.entries();
  if (!verdict.ok) note(`warning: the audit log fails verification (${verdict.problems.length} problem(s)); run \`airlock audit verify\``);
  emit(opts, { ok: true, log: keystore.audit.file, intact: verdict.ok, head: verdict.head, entries }, () => [
    ...entries.map(line),
    entries.length === 0 ? 'the audit log is empty' : `${entries.length} entries; head ${verdict.head ?? '-'}${verdict.ok ? '' : ' (NOT intact)'}`,
  ]);
}

export async function auditVerify(opts: AuditOptions): Promise<void> {
  const keystore = await Keystore.open(keystoreDirFor(opts));
  const verdict = await keystore.assertAuditIntact();
  emit(opts, { ...verdict, log: keystore.audit.file }, () => [
    `audit log intact: ${verdict.entries} entries${verdict.head ? `, head ${verdict.head}` : ''}`,
    ...(verdict.unanchored > 0 ? [`note: ${verdict.unanchored} entry after the head file (an interrupted append); the chain is intact`] : []),
  ]);
}
