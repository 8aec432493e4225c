// The keystore's audit log: one JSON object per line in `audit.log`, each entry holding
// the SHA-256 of the one before (`prev`) and of itself (`hash`, over the canonical JSON of
// the entry without `hash`), plus `audit.head` naming the last entry's sequence number
// and hash, so a cut-off tail is noticed too. Specified in docs/keys.md ("Audit log").
//
// What the chain proves, and what it cannot: any edit, removal, reordering or truncation
// made without rewriting every later entry and the head is detected, and so is a log
// missing the entry that made a key the keystore holds (deleting log and head together).
// Nothing secret protects the chain or `audit.head`: someone able to write the keystore
// can rewrite the whole chain consistently; copy the head hash (`airlock audit` prints
// it) to paper or another medium after a ceremony to pin it.
import { constants } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { canonicalBytes } from '../core/canonical-json.js';
import { sha256Hex } from '../core/digest.js';
import { AirlockError, fromSystemError } from '../core/errors.js';
import { isHex } from '../core/hex.js';
import { replaceSecretFile } from './secret-file.js';
import { KEY_ROLES, type KeyRole, type SignPurpose, type SignSubject } from './signer.js';

export const AUDIT_LOG_FILE = 'audit.log';
export const AUDIT_HEAD_FILE = 'audit.head';
const LOCK_FILE = 'audit.lock';
const GENESIS = '0'.repeat(64);
/** An entry is small; a longer line is not one of ours (and bounds the tail read). */
const MAX_ENTRY_BYTES = 16 * 1024;
const MAX_PROBLEMS = 100;

export type AuditEvent = 'sign' | 'key-generate' | 'key-passwd' | 'key-add';
const EVENTS: readonly AuditEvent[] = ['sign', 'key-generate', 'key-passwd', 'key-add'];

/** What a caller appends; the log adds seq, time (unless given), prev and hash. */
export interface AuditRecord {
  event: AuditEvent;
  keyId: string;
  role: KeyRole;
  purpose?: SignPurpose;
  subject?: SignSubject;
  /** Hex SHA-256 of the exact bytes signed. */
  messageSha256?: string;
  /** Hex of the signature made (public once published; lets a signature be traced here). */
  signature?: string;
  time?: string;
}

export interface AuditEntry extends Omit<AuditRecord, 'time'> {
  seq: number;
  time: string;
  prev: string;
  hash: string;
}

export type AuditProblemKind = 'malformed' | 'edited' | 'removed' | 'reordered' | 'truncated' | 'head-missing';

export interface AuditProblem {
  kind: AuditProblemKind;
  /** 1-based line of audit.log, when the problem is at a line. */
  line?: number;
  message: string;
}

export interface AuditVerdict {
  ok: boolean;
  entries: number;
  /** The last entry's hash: write it down after a ceremony to pin the log. */
  head: string | null;
  /** Entries after the head file's (a crash between appending and updating the head). */
  unanchored: number;
  problems: AuditProblem[];
}

export interface AuditVerifyOptions {
  /** The key ids the keystore holds: each must have its key-generate or key-add entry. */
  keyIds?: readonly string[];
}

interface Head {
  seq: number;
  hash: string;
}

function entryHash(entry: Omit<AuditEntry, 'hash'>): string {
  return sha256Hex(canonicalBytes(entry));
}

function tampered(message: string, details?: Record<string, unknown>): AirlockError {
  return new AirlockError('E_AUDIT_TAMPERED', `${message}; run \`airlock audit verify\` and investigate before signing again`, { details });
}

/** Refuses (E_USAGE) a subject the log cannot record; checked before anything is signed. */
export function assertSignSubject(subject: SignSubject): void {
  const ok =
    typeof subject === 'object' &&
    subject !== null &&
    typeof subject.kind === 'string' &&
    subject.kind.length > 0 &&
    subject.kind.length <= 64 &&
    typeof subject.name === 'string' &&
    subject.name.length > 0 &&
    subject.name.length <= 1024 &&
    (subject.version === undefined ||
      (typeof subject.version === 'string' && subject.version.length <= 256) ||
      Number.isSafeInteger(subject.version)) &&
    (subject.sha256 === undefined || isHex(subject.sha256, 32));
  if (!ok) {
    throw new AirlockError('E_USAGE', 'a signature subject needs kind and name (short strings), an integer or string version, and a hex sha256');
  }
}

/** Parses one line; null when it is not a well-formed entry. */
function parseEntry(line: string): AuditEntry | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const e = v as Record<string, unknown>;
  const ok =
    Number.isSafeInteger(e.seq) &&
    (e.seq as number) >= 1 &&
    typeof e.time === 'string' &&
    EVENTS.includes(e.event as AuditEvent) &&
    isHex(e.keyId, 32) &&
    KEY_ROLES.includes(e.role as KeyRole) &&
    isHex(e.prev, 32) &&
    isHex(e.hash, 32);
  return ok ? (e as unknown as AuditEntry) : null;
}

export class AuditLog {
  readonly dir: string;
  readonly file: string;
  readonly headFile: string;
  /** Appends within this process run one at a time; the lock file orders processes. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(dir: string) {
    this.dir = dir;
    this.file = join(dir, AUDIT_LOG_FILE);
    this.headFile = join(dir, AUDIT_HEAD_FILE);
  }

  /**
   * Appends one entry, chained to the last. Refuses (E_AUDIT_TAMPERED) when the log's
   * tail does not match the head, so a truncation cannot be papered over by new entries.
   */
  append(record: AuditRecord): Promise<AuditEntry> {
    const run = this.#queue.then(() => this.#withLock(() => this.#append(record)));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #append(record: AuditRecord): Promise<AuditEntry> {
    if (!EVENTS.includes(record.event) || !isHex(record.keyId, 32) || !KEY_ROLES.includes(record.role)) {
      throw new AirlockError('E_USAGE', 'an audit record needs a known event, a key id and a role');
    }
    if (record.subject !== undefined) assertSignSubject(record.subject);
    const last = await this.#tail();
    const head = await this.#readHead();
    if (head !== null) {
      if (last === null || last.seq < head.seq || (last.seq === head.seq && last.hash !== head.hash)) {
        throw tampered(`the audit log ${this.file} is shorter than, or differs from, its head ${this.headFile}`);
      }
    } else if (last !== null) {
      throw tampered(`the audit log head ${this.headFile} is missing`);
    }
    const unhashed: Omit<AuditEntry, 'hash'> = {
      seq: (last?.seq ?? 0) + 1,
      time: record.time ?? new Date().toISOString(),
      event: record.event,
      keyId: record.keyId,
      role: record.role,
      ...(record.purpose !== undefined ? { purpose: record.purpose } : {}),
      ...(record.subject !== undefined ? { subject: { ...record.subject } } : {}),
      ...(record.messageSha256 !== undefined ? { messageSha256: record.messageSha256 } : {}),
      ...(record.signature !== undefined ? { signature: record.signature } : {}),
      prev: last?.hash ?? GENESIS,
    };
    const entry: AuditEntry = { ...unhashed, hash: entryHash(unhashed) };
    const line = Buffer.from(`${JSON.stringify(entry)}\n`, 'utf8');
    if (line.length > MAX_ENTRY_BYTES) throw new AirlockError('E_USAGE', 'audit entry too large: shorten the subject name');
    try {
      const fh = await open(this.file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
      try {
        // One write(2) with O_APPEND: a line lands whole or, after a crash, as a torn tail.
        await fh.write(line);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await replaceSecretFile(this.headFile, Buffer.from(`${JSON.stringify({ seq: entry.seq, hash: entry.hash })}\n`));
    } catch (err) {
      throw fromSystemError(err, `appending to the audit log ${this.file}`);
    }
    return entry;
  }

  async #withLock<T>(fn: () => Promise<T>): Promise<T> {
    const lock = join(this.dir, LOCK_FILE);
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const fh = await open(lock, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        await fh.writeFile(`${process.pid}\n`);
        await fh.close();
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fromSystemError(err, `locking the audit log in ${this.dir}`);
        // A lock left by a crashed process is stale after a minute: an append takes milliseconds.
        const st = await stat(lock).catch(() => null);
        if (st !== null && Date.now() - st.mtimeMs > 60_000) await rm(lock, { force: true });
        if (Date.now() > deadline) {
          throw new AirlockError('E_IO', `the audit log in ${this.dir} is locked by another airlock (${lock}); wait for it, or remove the file if none runs`);
        }
        await new Promise((r) => setTimeout(r, 25 + Math.floor(Math.random() * 25)));
      }
    }
    try {
      return await fn();
    } finally {
      await rm(lock, { force: true });
    }
  }

  async #readHead(): Promise<Head | null> {
    let text: string;
    try {
      text = await readFile(this.headFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw fromSystemError(err, `reading ${this.headFile}`);
    }
    try {
      const h = JSON.parse(text) as Head;
      if (Number.isSafeInteger(h.seq) && h.seq >= 1 && isHex(h.hash, 32)) return { seq: h.seq, hash: h.hash };
    } catch {
      // fall through
    }
    throw tampered(`the audit log head ${this.headFile} is not valid`);
  }

  /** The last entry, read from the end of the file (constant time however long the log). */
  async #tail(): Promise<AuditEntry | null> {
    let fh;
    try {
      fh = await open(this.file, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw fromSystemError(err, `reading ${this.file}`);
    }
    try {
      const { size } = await fh.stat();
      if (size === 0) return null;
      const len = Math.min(size, MAX_ENTRY_BYTES + 1);
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, size - len);
      if (buf[len - 1] !== 0x0a) throw tampered(`the audit log ${this.file} ends in a partial line`);
      const start = buf.lastIndexOf(0x0a, len - 2) + 1;
      if (start === 0 && len < size) throw tampered(`the audit log ${this.file} ends in an over-long line`);
      const entry = parseEntry(buf.subarray(start, len - 1).toString('utf8'));
      if (entry === null || entry.hash !== entryHash(withoutHash(entry))) throw tampered(`the last entry of the audit log ${this.file} is not valid`);
      return entry;
    } finally {
      await fh.close();
    }
  }

  /** Entries in file order, streamed. Refuses a malformed line (E_AUDIT_TAMPERED). */
  async *iterate(): AsyncGenerator<AuditEntry> {
    let lineNo = 0;
    for await (const line of this.#lines()) {
      lineNo += 1;
      const entry = parseEntry(line);
      if (entry === null) throw tampered(`line ${lineNo} of the audit log ${this.file} is not a valid entry`, { line: lineNo });
      yield entry;
    }
  }

  async entries(): Promise<AuditEntry[]> {
    const all: AuditEntry[] = [];
    for await (const e of this.iterate()) all.push(e);
    return all;
  }

  async *#lines(): AsyncGenerator<string> {
    let fh;
    try {
      fh = await open(this.file, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw fromSystemError(err, `reading ${this.file}`);
    }
    const rl = createInterface({ input: fh.createReadStream(), crlfDelay: Infinity });
    try {
      for await (const line of rl) yield line;
    } finally {
      rl.close();
      await fh.close().catch(() => undefined);
    }
  }

  /**
   * Walks the whole chain (streaming) and compares its end with the head file. Reports
   * every problem found (up to a cap) instead of stopping at the first.
   */
  async verify(options: AuditVerifyOptions = {}): Promise<AuditVerdict> {
    const problems: AuditProblem[] = [];
    const add = (p: AuditProblem) => {
      if (problems.length < MAX_PROBLEMS) problems.push(p);
    };
    let lineNo = 0;
    let count = 0;
    let prevSeq = 0;
    let prevHash = GENESIS;
    let hashAtHead: string | undefined;
    let head: Head | null = null;
    let headInvalid = false;
    try {
      head = await this.#readHead();
    } catch (err) {
      if (!(err instanceof AirlockError)) throw err;
      headInvalid = true;
      add({ kind: 'edited', message: `${AUDIT_HEAD_FILE} is not valid` });
    }
    const introduced = new Set<string>();
    let endsCleanly = true;
    try {
      const fh = await open(this.file, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        const { size } = await fh.stat();
        if (size > 0) {
          const last = Buffer.alloc(1);
          await fh.read(last, 0, 1, size - 1);
          endsCleanly = last[0] === 0x0a;
        }
      } finally {
        await fh.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(err, `reading ${this.file}`);
    }
    for await (const line of this.#lines()) {
      lineNo += 1;
      const entry = parseEntry(line);
      if (entry === null) {
        add({ kind: 'malformed', line: lineNo, message: `line ${lineNo} is not a valid entry (edited or cut off)` });
        continue;
      }
      count += 1;
      if (entry.hash !== entryHash(withoutHash(entry))) {
        add({ kind: 'edited', line: lineNo, message: `entry ${entry.seq} (line ${lineNo}) does not match its own hash: it was edited` });
      }
      if (entry.seq > prevSeq + 1) {
        add({ kind: 'removed', line: lineNo, message: `entries ${prevSeq + 1}..${entry.seq - 1} are missing before line ${lineNo}` });
      } else if (entry.seq <= prevSeq) {
        add({ kind: 'reordered', line: lineNo, message: `entry ${entry.seq} (line ${lineNo}) comes after entry ${prevSeq}: entries were reordered or repeated` });
      } else if (entry.prev !== prevHash) {
        add({ kind: 'edited', line: lineNo, message: `entry ${entry.seq} (line ${lineNo}) does not chain to the entry before it: an earlier entry was edited and re-hashed` });
      }
      if (entry.event === 'key-generate' || entry.event === 'key-add') introduced.add(entry.keyId);
      prevSeq = entry.seq;
      prevHash = entry.hash;
      if (head !== null && entry.seq === head.seq) hashAtHead = entry.hash;
    }
    if (!endsCleanly) add({ kind: 'truncated', line: lineNo, message: 'the log ends in a partial line (cut off)' });
    let unanchored = 0;
    if (head === null) {
      if (count > 0 && !headInvalid) {
        add({ kind: 'head-missing', message: `${AUDIT_HEAD_FILE} is missing while the log has entries` });
      }
    } else if (prevSeq < head.seq) {
      add({ kind: 'truncated', message: `the log ends at entry ${prevSeq} but its head names entry ${head.seq}: entries were cut off` });
    } else {
      if (hashAtHead !== head.hash) add({ kind: 'edited', message: `entry ${head.seq} is not the one the head names` });
      unanchored = prevSeq - head.seq;
    }
    // Every key was logged when it was made or added. A key the log never introduces means
    // entries were removed — even when the whole log and its head were (an empty log
    // verifies on its own).
    for (const keyId of options.keyIds ?? []) {
      if (!introduced.has(keyId)) add({ kind: 'removed', message: `key ${keyId.slice(0, 16)} is in the keystore but the log never records it being made or added: entries were removed` });
    }
    return { ok: problems.length === 0, entries: count, head: count > 0 ? prevHash : null, unanchored, problems };
  }

  /** verify(), throwing E_AUDIT_TAMPERED (with the verdict as details) unless intact. */
  async assertIntact(options: AuditVerifyOptions = {}): Promise<AuditVerdict> {
    const verdict = await this.verify(options);
    if (!verdict.ok) {
      throw new AirlockError(
        'E_AUDIT_TAMPERED',
        `the audit log ${this.file} was altered: ${verdict.problems.map((p) => p.message).join('; ')}; keep a copy for investigation`,
        { details: { verdict } },
      );
    }
    return verdict;
  }
}

function withoutHash(entry: AuditEntry): Omit<AuditEntry, 'hash'> {
  const { hash: _hash, ...rest } = entry;
  return rest;
}
