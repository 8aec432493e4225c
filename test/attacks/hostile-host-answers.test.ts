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

  it('a --from that is not a URL is a usage error, not a crash', async () => {
    const r = await runVerifyCli(['refresh', '--from', 'http://[oops', '--root', rootFile]);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.errorCode).toBe('E_USAGE');
    expect(r.code).toBe(2);
  });
});
