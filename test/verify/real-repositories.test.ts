// Repositories the verifier did not write (test/fixtures/tuf/README.md): Sigstore's
// production root (go-tuf era, ecdsa-sha2-nistp256 keys), Sigstore's staging root made
// with tuf-on-ci (keytype "ecdsa", empty signatures of keys that did not sign), and two
// repositories signed by securesystemslib as python-tuf signs (RSA-PSS, RSA PKCS#1 v1.5,
// ECDSA P-256 and P-384). Each is refreshed at a fixed reference time — the real ones
// expired long ago — by airlock-verify's Updater (its `now`, TUF §5.1) and by tuf-js
// (whose clock is fixed with a fake Date), a target downloaded by both, and each
// metadata file with a broken signature refused by both.
import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Updater } from '../../lib/verify/index.js';
import { codeOf } from '../support/error-codes.js';
import { serveDirectory, type StaticServer } from '../support/static-http.js';
import { tufJsClient } from '../support/tufjs-client.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'tuf');
const tmp = (): string => mkdtempSync(join(tmpdir(), 'airlock-real-repo-'));

interface RealRepository {
  name: string;
  dir: string;
  /** The root a client pins (metadata/N.root.json). */
  root: string;
  /** A reference time at which every file of the fixture is current. */
  now: Date;
  /** Targets downloaded, and where it was found (a delegated role for some). */
  targets: string[];
  /** Metadata files whose signatures are broken one at a time. */
  signed: string[];
  /** tuf-js 5.0.1 cannot verify these schemes (no rsa-pkcs1v15-sha256; ECDSA always over SHA-256). */
  tufJsUnsupported?: string;
}

const REPOSITORIES: RealRepository[] = [
  {
    name: 'Sigstore root-signing (production, go-tuf era, ecdsa-sha2-nistp256)',
    dir: 'sigstore-root-signing',
    root: '6.root.json',
    now: new Date('2023-04-20T00:00:00Z'),
    targets: ['rekor.pub'],
    signed: ['6.root.json', 'timestamp.json', '80.snapshot.json', '7.targets.json'],
  },
  {
    name: 'Sigstore root-signing-staging (made by tuf-on-ci, keytype ecdsa)',
    dir: 'sigstore-root-signing-staging',
    root: '12.root.json',
    now: new Date('2025-07-25T00:00:00Z'),
    targets: ['signing_config.v0.2.json'],
    signed: ['12.root.json', 'timestamp.json', '16.snapshot.json', '17.targets.json'],
  },
  {
    name: 'securesystemslib as python-tuf signs (rsassa-pss-sha256, ecdsa P-256)',
    dir: 'securesystemslib-rsa-pss',
    root: '1.root.json',
    now: new Date('2026-01-01T00:00:00Z'),
    targets: ['README.txt', 'team/hello.txt'],
    signed: ['1.root.json', 'timestamp.json', '1.snapshot.json', '1.targets.json', '1.team.json'],
  },
  {
    name: 'securesystemslib, more schemes (rsa-pkcs1v15-sha256 snapshot, ecdsa-sha2-nistp384 timestamp)',
    dir: 'securesystemslib-more-schemes',
    root: '1.root.json',
    now: new Date('2026-01-01T00:00:00Z'),
    targets: ['README.txt', 'team/hello.txt'],
    signed: ['1.root.json', 'timestamp.json', '1.snapshot.json', '1.targets.json', '1.team.json'],
    tufJsUnsupported: 'tuf-js 5.0.1 verifies neither rsa-pkcs1v15-sha256 nor ECDSA over SHA-384',
  },
];

interface Envelope {
  signatures: { keyid: string; sig: string }[];
  signed: { _type: string; roles?: Record<string, { threshold: number }> };
}

/**
 * Breaks signatures of one metadata file: one byte of one signature when the file
 * carries exactly its threshold of signatures; when it carries more (Sigstore's root has
 * 5 for a threshold of 3), as many as it takes to fall one short — each broken by one
 * flipped byte. The last byte of the signature (inside the ECDSA `s` or the RSA value)
 * is flipped, so it stays well-formed DER and hex.
 */
function breakSignatures(file: string, threshold: number): void {
  const text = readFileSync(file, 'utf8');
  const envelope = JSON.parse(text) as Envelope;
  const present = envelope.signatures.filter((s) => s.sig !== '');
  const toBreak = Math.max(1, present.length - threshold + 1);
  let out = text;
  for (const s of present.slice(0, toBreak)) {
    const last = parseInt(s.sig.slice(-2), 16) ^ 0x01;
    const broken = s.sig.slice(0, -2) + last.toString(16).padStart(2, '0');
    out = out.replace(s.sig, broken);
  }
  if (out === text) throw new Error(`no signature broken in ${file}`);
  writeFileSync(file, out);
}

/** The threshold a file is checked against: its role's in the pinned root, or 1 for a delegated role. */
function thresholdOf(repo: RealRepository, file: string): number {
  const root = JSON.parse(readFileSync(join(FIXTURES, repo.dir, 'metadata', repo.root), 'utf8')) as Envelope;
  const role = file.replace(/^\d+\./, '').replace(/\.json$/, '');
  return root.signed.roles?.[role]?.threshold ?? 1;
}

/**
 * A file the listing pins by hash is refused for its hash before its signatures are
 * read. (The root never is: Sigstore's old snapshots list a root.json, which no client
 * checks.)
 */
function listedWithHashes(repo: RealRepository, file: string): boolean {
  if (file.endsWith('.root.json')) return false;
  const dir = join(FIXTURES, repo.dir, 'metadata');
  const role = file.replace(/^\d+\./, '');
  const listings = readdirSync(dir)
    .filter((f) => /(^|\.)(timestamp|snapshot)\.json$/.test(f))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as { signed: { meta?: Record<string, { hashes?: unknown }> } });
  return listings.some((l) => l.signed.meta?.[role]?.hashes !== undefined);
}

describe.each(REPOSITORIES)('$name', (repo) => {
  const hostDir = join(FIXTURES, repo.dir);
  const rootBytes = (dir = hostDir): Uint8Array => new Uint8Array(readFileSync(join(dir, 'metadata', repo.root)));
  let host: StaticServer;

  beforeAll(async () => {
    host = await serveDirectory(hostDir);
  });
  afterAll(async () => {
    await host.close();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** The bytes the fixture hosts for a target (consistent-snapshot name HASH.FILE). */
  const hostedTarget = (target: string): Buffer => {
    const parts = target.split('/');
    const dir = join(hostDir, 'targets', ...parts.slice(0, -1));
    const name = readdirSync(dir).find((f) => f.endsWith(`.${parts[parts.length - 1]}`))!;
    return readFileSync(join(dir, name));
  };

  /** tuf-js with its clock at the fixture's reference time (it reads `new Date()`). */
  const atReferenceTime = async <T>(run: () => Promise<T>): Promise<T> => {
    vi.useFakeTimers({ toFake: ['Date'], now: repo.now });
    try {
      return await run();
    } finally {
      vi.useRealTimers();
    }
  };

  for (const kind of ['directory', 'http'] as const) {
    it(`airlock-verify refreshes and downloads ${repo.targets.join(', ')} from a ${kind}`, async () => {
      const state = tmp();
      const updater = new Updater({ trustedRoot: rootBytes(), stateDir: state, sources: [kind === 'http' ? host.url : hostDir], now: repo.now });
      await updater.refresh();
      for (const target of repo.targets) {
        const info = await updater.requireTargetInfo(target);
        const out = join(tmp(), 'out');
        expect(await updater.downloadTarget(info, out)).toEqual({ transferred: true });
        expect(readFileSync(out)).toEqual(hostedTarget(target));
      }
      // The trusted state holds what a python-tuf or tuf-js client would keep.
      expect(readdirSync(state).sort()).toEqual(expect.arrayContaining(['root.json', 'snapshot.json', 'targets.json', 'timestamp.json']));
    });
  }

  it('airlock-verify refuses it once the reference time is past its expiry', async () => {
    const updater = new Updater({ trustedRoot: rootBytes(), sources: [hostDir], now: new Date('2040-01-01T00:00:00Z') });
    expect(await codeOf(updater.refresh())).toBe('E_EXPIRED');
  });

  it(repo.tufJsUnsupported ? `tuf-js refuses it (${repo.tufJsUnsupported})` : 'tuf-js agrees: refreshes and downloads the same bytes', async () => {
    const client = tufJsClient(rootBytes(), host.url);
    try {
      if (repo.tufJsUnsupported) {
        await expect(atReferenceTime(() => client.refresh())).rejects.toThrow();
        return;
      }
      const view = await atReferenceTime(() => client.view(repo.targets));
      expect(view.found).toEqual([...repo.targets].sort());
      for (const target of repo.targets) expect(view.bytes.get(target)).toEqual(hostedTarget(target));
    } finally {
      await client.remove();
    }
  });

  for (const file of repo.signed) {
    it(`both refuse ${file} with a broken signature`, async () => {
      const dir = tmp();
      cpSync(hostDir, dir, { recursive: true });
      breakSignatures(join(dir, 'metadata', file), thresholdOf(repo, file));
      const target = repo.targets[repo.targets.length - 1]!;
      const updater = new Updater({ trustedRoot: rootBytes(dir), sources: [dir], now: repo.now });
      // A file pinned by hash in its listing is refused for the hash (the bytes changed)
      // before its signatures are looked at; every other one for its signatures.
      const expected = listedWithHashes(repo, file) ? 'E_HASH' : 'E_SIG_THRESHOLD';
      expect(await codeOf(updater.getTargetInfo(target))).toBe(expected);
      const served = await serveDirectory(dir);
      const client = tufJsClient(rootBytes(dir), served.url);
      try {
        await expect(atReferenceTime(() => client.download(target))).rejects.toThrow();
      } finally {
        await served.close();
        await client.remove();
      }
    });
  }
});
