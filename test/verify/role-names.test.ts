// Delegated roles whose names need quoting (python-tuf tests/test_updater_delegation_graphs
// "unusual rolenames"): fetched as N.<quoted name>.json — the URL python-tuf and tuf-js
// request — and kept under the quoted name in --state, never refused for the name and
// never written outside the state directory.
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetadata } from '../../lib/core/tuf-metadata.js';
import { Updater } from '../../lib/verify/index.js';
import { quoteRoleName, remoteMetadataName } from '../../lib/verify/role-file-name.js';
import { expectCodeSync } from '../support/error-codes.js';
import { serveDirectory, type StaticServer } from '../support/static-http.js';
import { RepoSimulator } from '../support/tuf-repo-simulator.js';
import { tufJsClient } from '../support/tufjs-client.js';

const ROLES = ['/delegatedrole', '../delegatedrole', 'a b', 'ä', '..', '%2F', "it's(*)!"];
const QUOTED: Record<string, string> = {
  '/delegatedrole': '%2Fdelegatedrole',
  '../delegatedrole': '..%2Fdelegatedrole',
  'a b': 'a%20b',
  ä: '%C3%A4',
  '..': '..',
  '%2F': '%252F',
  // python's quote(…, '') also quotes what encodeURIComponent leaves alone.
  "it's(*)!": 'it%27s%28%2A%29%21',
};
const targetOf = (i: number): string => `r${i}/release.tar.gz`;

describe('role names that need quoting', () => {
  let sim: RepoSimulator;
  let host: StaticServer;

  beforeAll(async () => {
    sim = new RepoSimulator();
    ROLES.forEach((name, i) => {
      sim.delegate('targets', { name, paths: [`r${i}/*`] });
      sim.addTarget(targetOf(i), `release of ${name}`, name);
    });
    sim.publish();
    // A web server decodes the quoted URL (1.%2Fdelegatedrole.json → 1./delegatedrole.json,
    // where the simulator wrote it); a directory mirror holds the quoted name itself.
    for (const name of ROLES) {
      const version = sim.targets.get(name)!.version;
      sim.write(`metadata/${remoteMetadataName(name, version)}`, sim.read(sim.targetsFile(name)));
    }
    host = await serveDirectory(sim.hostDir);
  });
  afterAll(async () => {
    await host.close();
    sim.cleanup();
  });

  it('quotes as python-tuf does (urllib.parse.quote(name, ""))', () => {
    for (const name of ROLES) expect(quoteRoleName(name)).toBe(QUOTED[name]);
    expect(remoteMetadataName('/delegatedrole', 3)).toBe('3.%2Fdelegatedrole.json');
    expect(remoteMetadataName('a b', undefined)).toBe('a%20b.json');
  });

  it('refuses a name with a lone surrogate: UTF-8 has no bytes for it, so two names would share one file', () => {
    // '\uD800', '\uDC00' and U+FFFD itself would all quote as %EF%BF%BD.
    expect(quoteRoleName('\uFFFD')).toBe('%EF%BF%BD');
    expect(quoteRoleName('\u{1F511}')).toBe('%F0%9F%94%91');
    for (const name of ['\uD800', '\uDC00', 'a\uDBFFb']) expectCodeSync(() => quoteRoleName(name), 'E_METADATA_INVALID');
    const targets = (name: string): Uint8Array =>
      new TextEncoder().encode(
        JSON.stringify({
          signatures: [],
          signed: { _type: 'targets', spec_version: '1.0.31', version: 1, expires: '2030-01-01T00:00:00Z', targets: {}, delegations: { keys: {}, roles: [{ name, keyids: [], threshold: 1, terminating: false, paths: ['a/*'] }] } },
        }),
      );
    expect(parseMetadata(targets('\uFFFD'), 'targets').signed.delegations!.roles![0]!.name).toBe('\uFFFD');
    expectCodeSync(() => parseMetadata(targets('\uD800'), 'targets'), 'E_METADATA_INVALID');
  });

  for (const kind of ['http', 'directory'] as const) {
    it(`airlock-verify finds every target through them (${kind}) and keeps each role under its quoted name`, async () => {
      const parent = mkdtempSync(join(tmpdir(), 'airlock-rolenames-'));
      const state = join(parent, 'state');
      mkdirSync(state);
      const before = host.requested.length;
      const u = new Updater({ trustedRoot: sim.trustedRoot, stateDir: state, sources: [kind === 'http' ? host.url : sim.hostDir] });
      for (const [i, name] of ROLES.entries()) {
        const info = await u.requireTargetInfo(targetOf(i));
        expect(info.length, name).toBe(Buffer.byteLength(`release of ${name}`));
      }
      expect(readdirSync(state).sort()).toEqual(
        ['pinned-root.sha256', 'root.json', 'timestamp.json', 'snapshot.json', 'targets.json', ...ROLES.map((n) => `${QUOTED[n]}.json`)].sort(),
      );
      expect(readdirSync(parent), 'nothing written beside the state directory').toEqual(['state']);
      if (kind === 'http') {
        const urls = host.requested.slice(before);
        for (const name of ROLES) expect(urls).toContain(`/metadata/${sim.targets.get(name)!.version}.${QUOTED[name]}.json`);
      }
      // A second run reads each role back from the state under the same name.
      const again = new Updater({ trustedRoot: sim.trustedRoot, stateDir: state, sources: [sim.hostDir] });
      for (const [i] of ROLES.entries()) expect(await again.getTargetInfo(targetOf(i))).toBeDefined();
    });
  }

  it('tuf-js requests the same URLs and finds the same targets', async () => {
    const client = tufJsClient(sim.trustedRoot, host.url);
    try {
      const view = await client.view(ROLES.map((_, i) => targetOf(i)));
      expect(view.found).toEqual(ROLES.map((_, i) => targetOf(i)).sort());
    } finally {
      await client.remove();
    }
  });
});
