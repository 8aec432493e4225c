// The trusted state between runs (--state): a damaged state is reported as such
// (E_STATE), never taken for a hostile host and never quietly reset.
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Updater } from '../../lib/verify/index.js';
import { RepoSimulator } from '../support/tuf-repo-simulator.js';
import { codeOf } from '../support/error-codes.js';
import { snapshotDir } from '../support/verify-clients.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'airlock-verify-state-'));

describe('--state', () => {
  const sim = new RepoSimulator();
  sim.addTarget('a/1/a', 'a');
  sim.publish();
  afterAll(() => sim.cleanup());

  async function trustedState(): Promise<string> {
    const state = tmp();
    await new Updater({ trustedRoot: sim.trustedRoot, stateDir: state, sources: [sim.hostDir] }).refresh();
    return state;
  }

  it('a damaged root.json in the state is E_STATE, not a refusal of the host', async () => {
    const state = await trustedState();
    writeFileSync(join(state, 'root.json'), '{"signed":');
    expect(await codeOf(new Updater({ stateDir: state, sources: [sim.hostDir] }).refresh())).toBe('E_STATE');
    const root = JSON.parse(Buffer.from(sim.trustedRoot).toString());
    const sig: string = root.signatures[0].sig;
    root.signatures[0].sig = `${sig[0] === '0' ? '1' : '0'}${sig.slice(1)}`;
    writeFileSync(join(state, 'root.json'), JSON.stringify(root));
    expect(await codeOf(new Updater({ stateDir: state, sources: [sim.hostDir] }).refresh())).toBe('E_STATE');
  });

  it('a damaged timestamp or snapshot in the state is E_STATE, not silently dropped with its rollback protection', async () => {
    for (const file of ['timestamp.json', 'snapshot.json', 'targets.json']) {
      const state = await trustedState();
      writeFileSync(join(state, file), readFileSync(join(state, file)).subarray(0, 40));
      const before = snapshotDir(state);
      expect(await codeOf(new Updater({ stateDir: state, sources: [sim.hostDir] }).refresh()), file).toBe('E_STATE');
      expect(snapshotDir(state), 'the state is left for the user to repair').toEqual(before);
    }
  });

  it('a --root that does not verify is not written into a new state', async () => {
    const state = join(tmp(), 'new');
    expect(await codeOf(new Updater({ trustedRoot: new TextEncoder().encode('not a root'), stateDir: state, sources: [sim.hostDir] }).refresh())).toBe('E_METADATA_INVALID');
    expect(existsSync(join(state, 'root.json'))).toBe(false);
  });
});
