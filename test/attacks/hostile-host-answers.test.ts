// A hostile host (or mirror) answering with things no well-behaved web server sends:
// each must end in a refusal with a stable code — the next mirror tried — never in a
// crash, a stack trace or a hang. Runs the built bundle, as users run it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RepoSimulator } from '../support/tuf-repo-simulator.js';
import { serveDirectory, type StaticServer } from '../support/static-http.js';
import { runVerifyCli } from '../support/verify-clients.js';
import { tempDir } from '../support/verify-attack.js';

describe('hostile host answers', () => {
  let sim: RepoSimulator;
  let good: StaticServer;
  let bad: StaticServer;
  let rootFile: string;

  beforeAll(async () => {
    sim = new RepoSimulator();
    sim.addTarget('demo/1/a.txt', 'a');
    sim.publish();
    good = await serveDirectory(sim.hostDir);
    bad = await serveDirectory(sim.hostDir);
    rootFile = join(tempDir(), 'root.json');
    writeFileSync(rootFile, sim.trustedRoot);
  });
  afterAll(async () => {
    await good.close();
    await bad.close();
    sim.cleanup();
  });

  it('a redirect to something that is not a URL is a refused mirror, not a crash', async () => {
    bad.clearOverrides();
    bad.override('/metadata/2.root.json', (_req, res) => res.writeHead(302, { location: 'http://[not-a-host' }).end());
    bad.override('/metadata/timestamp.json', (_req, res) => res.writeHead(302, { location: 'http://[not-a-host' }).end());
    const alone = await runVerifyCli(['refresh', '--from', bad.url, '--root', rootFile]);
    expect(alone.stderr).not.toMatch(/internal error|TypeError|at .*\.mjs/);
    expect(alone.errorCode, alone.stderr).toBe('E_NETWORK');
    expect(alone.code).toBe(3);
    const withGood = await runVerifyCli(['refresh', '--from', bad.url, '--from', good.url, '--root', rootFile]);
    expect(withGood.code, withGood.stderr).toBe(0);
    expect(withGood.stderr).toMatch(/warning: mirror .*E_NETWORK/);
  });

  it('cannot write terminal escape sequences through the messages that quote it', async () => {
    bad.clearOverrides();
    // An unsigned timestamp whose field names and key ids carry escape sequences: a host
    // needs no key to get them quoted in an error message or a mirror warning.
    const fake = '\u001b[2K\r\u001b[32mverified demo/1/a.txt (1 bytes)\u001b[0m\u009b2K\u202e';
    const ts = JSON.parse(Buffer.from(sim.read('metadata/timestamp.json')).toString());
    ts.signatures = [{ keyid: fake, sig: '00' }, { keyid: fake, sig: '00' }];
    ts.signed.meta = { [fake]: 1 };
    bad.override('/metadata/timestamp.json', (_req, res) => res.writeHead(200).end(JSON.stringify(ts)));
    const alone = await runVerifyCli(['refresh', '--from', bad.url, '--root', rootFile]);
    expect(alone.errorCode, alone.stderr).toBe('E_METADATA_INVALID');
    expect(alone.stderr).toContain('verified demo/1/a.txt');
    expect(alone.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    const json = await runVerifyCli(['refresh', '--from', bad.url, '--root', rootFile, '--json']);
    expect(JSON.parse(json.stdout).error.code).toBe('E_METADATA_INVALID');
    const warned = await runVerifyCli(['refresh', '--from', bad.url, '--from', good.url, '--root', rootFile]);
    expect(warned.code, warned.stderr).toBe(0);
    expect(warned.stderr).toMatch(/warning: mirror .*E_METADATA_INVALID/);
    expect(warned.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
  });

  it('a --from that is not a URL is a usage error, not a crash', async () => {
    const r = await runVerifyCli(['refresh', '--from', 'http://[oops', '--root', rootFile]);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.errorCode).toBe('E_USAGE');
    expect(r.code).toBe(2);
  });
});
