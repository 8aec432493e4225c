// The audit log: every signature leaves a chained entry, and each kind of tampering
// (edit, removal, reordering, truncation, a cut line, a deleted head) is detected.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalBytes } from '../../lib/core/canonical-json.js';
import { sha256Hex } from '../../lib/core/digest.js';
import { ed25519Verify } from '../../lib/core/ed25519.js';
import { fromHex } from '../../lib/core/hex.js';
import type { AuditedSigner } from '../../lib/keys/audited-signer.js';
import type { AuditProblemKind } from '../../lib/keys/audit-log.js';
import { tempKeystore, testPassphrase, type TempKeystore } from '../support/keys-fixtures.js';

let t: TempKeystore;
let signer: AuditedSigner;

async function signN(n: number): Promise<void> {
  for (let i = 1; i <= n; i++) {
    const message = Buffer.from(`{"version":${i}}`);
    await signer.sign({ purpose: 'tuf-metadata', message, subject: { kind: 'metadata', name: 'snapshot.json', version: i, sha256: sha256Hex(message) } });
  }
}

async function lines(): Promise<string[]> {
  return (await readFile(t.keystore.audit.file, 'utf8')).split('\n').filter((l) => l !== '');
}
async function writeLines(ls: string[]): Promise<void> {
  await writeFile(t.keystore.audit.file, ls.map((l) => `${l}\n`).join(''), { mode: 0o600 });
}
async function problemKinds(): Promise<AuditProblemKind[]> {
  const v = await t.keystore.audit.verify();
  expect(v.ok).toBe(false);
  await expect(t.keystore.audit.assertIntact()).rejects.toMatchObject({ code: 'E_AUDIT_TAMPERED' });
  return v.problems.map((p) => p.kind);
}
function rehash(entry: Record<string, unknown>): Record<string, unknown> {
  const { hash: _h, ...rest } = entry;
  return { ...rest, hash: sha256Hex(canonicalBytes(rest)) };
}

beforeEach(async () => {
  t = await tempKeystore();
  await t.keystore.generate('snapshot', testPassphrase());
  signer = await t.keystore.unlock('snapshot', testPassphrase());
  await signN(4);
});
afterEach(async () => {
  await t.cleanup();
});

describe('audit log entries', () => {
  it('records key generation and every signature: role, key id, subject, digest, signature', async () => {
    const entries = await t.keystore.audit.entries();
    expect(entries.map((e) => e.event)).toEqual(['key-generate', 'sign', 'sign', 'sign', 'sign']);
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    const e = entries[2]!;
    const message = Buffer.from('{"version":2}');
    expect(e).toMatchObject({ role: 'snapshot', keyId: signer.keyId, purpose: 'tuf-metadata', subject: { kind: 'metadata', name: 'snapshot.json', version: 2 } });
    expect(e.messageSha256).toBe(sha256Hex(message));
    expect(ed25519Verify(signer.publicKey, message, fromHex(e.signature!))).toBe(true);
    expect(e.prev).toBe(entries[1]!.hash);
    const v = await t.keystore.audit.verify();
    expect(v).toMatchObject({ ok: true, entries: 5, head: entries[4]!.hash, unanchored: 0, problems: [] });
  });

  it('a refused signature (wrong role, unrecordable subject) leaves no entry', async () => {
    await expect(signer.sign({ purpose: 'openpgp', message: new Uint8Array(1), subject: { kind: 'artifact', name: 'x' } })).rejects.toMatchObject({ code: 'E_KEY_ROLE' });
    await expect(signer.sign({ purpose: 'tuf-metadata', message: new Uint8Array(1), subject: { kind: 'metadata', name: '' } })).rejects.toMatchObject({ code: 'E_USAGE' });
    expect((await t.keystore.audit.entries()).length).toBe(5);
  });

  it('parallel signers keep one unbroken chain', async () => {
    const other = await t.keystore.unlock('snapshot', testPassphrase());
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        (i % 2 ? signer : other).sign({ purpose: 'tuf-metadata', message: Buffer.from(`{"m":${i}}`), subject: { kind: 'metadata', name: `m${i}` } }),
      ),
    );
    expect(await t.keystore.audit.verify()).toMatchObject({ ok: true, entries: 17 });
  });
});

describe('audit log tampering is detected', () => {
  it('an edited entry', async () => {
    const ls = await lines();
    ls[2] = ls[2]!.replace('"version":2', '"version":9');
    await writeLines(ls);
    expect(await problemKinds()).toContain('edited');
  });

  it('an edited entry whose own hash was recomputed (the next entry no longer chains)', async () => {
    const ls = await lines();
    const e = JSON.parse(ls[2]!);
    e.subject.name = 'root.json';
    ls[2] = JSON.stringify(rehash(e));
    await writeLines(ls);
    expect(await problemKinds()).toContain('edited');
  });

  it('a removed entry', async () => {
    const ls = await lines();
    ls.splice(2, 1);
    await writeLines(ls);
    expect(await problemKinds()).toContain('removed');
  });

  it('reordered entries', async () => {
    const ls = await lines();
    [ls[1], ls[2]] = [ls[2]!, ls[1]!];
    await writeLines(ls);
    expect(await problemKinds()).toContain('reordered');
  });

  it('a repeated entry', async () => {
    const ls = await lines();
    ls.splice(3, 0, ls[2]!);
    await writeLines(ls);
    expect(await problemKinds()).toContain('reordered');
  });

  it('the newest entries cut off (the head still names the last)', async () => {
    const ls = await lines();
    await writeLines(ls.slice(0, 3));
    expect(await problemKinds()).toEqual(['truncated']);
  });

  it('the last line cut in the middle', async () => {
    const text = await readFile(t.keystore.audit.file, 'utf8');
    await writeFile(t.keystore.audit.file, text.slice(0, text.length - 20));
    const kinds = await problemKinds();
    expect(kinds).toContain('malformed');
    expect(kinds).toContain('truncated');
  });

  it('the whole log deleted', async () => {
    await rm(t.keystore.audit.file);
    expect(await problemKinds()).toEqual(['truncated']);
  });

  it('the whole log and its head deleted together (an empty log would verify on its own)', async () => {
    await rm(t.keystore.audit.file);
    await rm(t.keystore.audit.headFile);
    const v = await t.keystore.verifyAudit();
    expect(v.ok).toBe(false);
    expect(v.problems.map((p) => p.kind)).toContain('removed');
    await expect(t.keystore.assertAuditIntact()).rejects.toMatchObject({ code: 'E_AUDIT_TAMPERED' });
    // New signatures start a fresh chain, which still lacks the entries that made the keys.
    await signN(1);
    expect((await t.keystore.verifyAudit()).ok).toBe(false);
  });

  it('the head file deleted', async () => {
    await rm(t.keystore.audit.headFile);
    expect(await problemKinds()).toEqual(['head-missing']);
  });

  it('the whole tail rewritten after a removal, but not the head', async () => {
    const ls = (await lines()).map((l) => JSON.parse(l) as Record<string, any>);
    ls.splice(2, 1);
    for (let i = 2; i < ls.length; i++) {
      ls[i]!.seq = i + 1;
      ls[i]!.prev = ls[i - 1]!.hash;
      ls[i] = rehash(ls[i]!);
    }
    await writeLines(ls.map((e) => JSON.stringify(e)));
    expect(await problemKinds()).toContain('truncated');
  });

  it('signing is refused once the tail no longer matches the head, so new entries cannot bury a cut', async () => {
    const ls = await lines();
    await writeLines(ls.slice(0, 3));
    await expect(signN(1)).rejects.toMatchObject({ code: 'E_AUDIT_TAMPERED' });
    expect((await lines()).length).toBe(3);
  });

  it('an entry after the head (a crash between the two writes) chains and is reported as unanchored', async () => {
    const ls = (await lines()).map((l) => JSON.parse(l) as Record<string, any>);
    const last = ls[ls.length - 1]!;
    const extra = rehash({ ...last, seq: last.seq + 1, prev: last.hash, hash: '' });
    await writeLines([...ls, extra].map((e) => JSON.stringify(e)));
    expect(await t.keystore.audit.verify()).toMatchObject({ ok: true, unanchored: 1 });
  });
});
