// airlock on a real terminal: each program runs in a tmux pane (a real pseudo-terminal,
// 200×50), is typed at with send-keys, and what the screen shows is read with
// capture-pane — the commit confirmation with the signature status in words, the
// no-echo passphrase prompt, the progress line while a large artifact is hashed and
// signed, the root proposal's diff before the passphrase, airlock-verify's download progress line, and
// Ctrl-C at each prompt (E_USAGE "cancelled", exit 2, no stack trace, nothing written).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRepo, recipeJson } from '../support/build-repo.js';
import { airlockBin, ensureBuilt, runAirlock, verifierBin } from '../support/e2e-cli.js';
import { serveDirectory } from '../support/static-http.js';

const work = mkdtempSync(join(tmpdir(), 'airlock-terminal-'));
const socket = `airlock-test-${process.pid}`;
const home = join(work, 'terminal');
const host = join(work, 'host');
const passphrase = 'typed at a real terminal';
const passFile = join(work, 'pass');
// 64 MiB: hashing, signing and staging it keeps the progress line on screen long enough to see.
const BIG = 64 * 1024 * 1024;

function tmux(args: string[]): string {
  const r = spawnSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A program in its own tmux window; the shell prints [exit N] when it ends and keeps the pane. */
class Pane {
  readonly seen: string[] = [];
  constructor(readonly name: string, argv: string[], env: Record<string, string>) {
    const vars = Object.entries({ PATH: process.env.PATH!, HOME: join(work, 'user'), TERM: 'xterm', ...env }).map(([k, v]) => `${k}=${quote(v)}`);
    const command = `env -i ${vars.join(' ')} ${argv.map(quote).join(' ')}; echo "[exit $?]"; sleep 3600`;
    tmux(['new-window', '-d', '-n', name, command]);
  }
  screen(): string {
    const s = tmux(['capture-pane', '-p', '-J', '-S', '-100', '-t', `=t:=${this.name}`]);
    this.seen.push(s);
    return s;
  }
  async waitFor(pattern: RegExp, timeoutMs = 180_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.screen();
      if (pattern.test(s)) return s;
      if (/\[exit \d+\]/.test(s) && !pattern.test(s)) throw new Error(`${this.name} ended without showing ${pattern}:\n${s}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not show ${pattern} in ${timeoutMs} ms:\n${s}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  type(text: string): void {
    tmux(['send-keys', '-t', `=t:=${this.name}`, '-l', text]);
  }
  key(name: 'Enter' | 'C-c'): void {
    tmux(['send-keys', '-t', `=t:=${this.name}`, name]);
  }
  async exitCode(): Promise<number> {
    const s = await this.waitFor(/\[exit \d+\]/);
    return Number(/\[exit (\d+)\]/.exec(s)![1]);
  }
}

const airlock = (name: string, args: string[], env: Record<string, string> = {}) =>
  new Pane(name, [process.execPath, airlockBin, ...args], { AIRLOCK_HOME: home, ...env });

let source: { dir: string; commit: string; branch: string };

beforeAll(async () => {
  await ensureBuilt();
  writeFileSync(passFile, `${passphrase}\n`, { mode: 0o600 });
  const init = runAirlock(['init', '--json'], { env: { AIRLOCK_HOME: home, AIRLOCK_PASSPHRASE_FILE: passFile } });
  expect(init.status, init.stderr).toBe(0);
  const recipe = {
    project: 'big',
    version: '1.0.0',
    steps: [{ name: 'data', run: ['sh', '-c', `head -c ${BIG} /dev/zero > "$AIRLOCK_OUT/big.bin"`] }],
    artifacts: ['big.bin'],
  };
  source = makeRepo({ 'airlock.recipe.json': recipeJson(recipe) }, 'release/1.0.0', work);
  tmux(['new-session', '-d', '-s', 't', '-x', '200', '-y', '50', 'sleep 3600']);
}, 300_000);

afterAll(() => {
  spawnSync('tmux', ['-L', socket, 'kill-server']);
  rmSync(work, { recursive: true, force: true });
});

describe('on a real terminal', () => {
  it('release: Ctrl-C at the commit confirmation is E_USAGE cancelled, exit 2, nothing built', async () => {
    const p = airlock('cancel-release', ['release', '--source', source.dir, '--branch', source.branch, '--to', host]);
    const s = await p.waitFor(/Type its first 12 characters to confirm: $/m);
    expect(s).toContain(source.commit);
    expect(s).toMatch(/signature\s+not signed/);
    p.key('C-c');
    expect(await p.exitCode()).toBe(2);
    const end = p.screen();
    expect(end).toMatch(/^error E_USAGE: cancelled/m);
    expect(end).not.toMatch(/AbortError|\n\s+at /);
    expect(existsSync(host)).toBe(false);
  });

  it('release: confirm the commit, a passphrase typed without echo, the progress line, released', async () => {
    const p = airlock('release', ['release', '--source', source.dir, '--branch', source.branch, '--to', host]);
    await p.waitFor(/Type its first 12 characters to confirm: $/m);
    p.type(source.commit.slice(0, 12));
    p.key('Enter');
    await p.waitFor(/Passphrase for .*: $/m, 300_000);
    p.type(passphrase);
    p.key('Enter');
    const progress = /(hashing|signing|staging|copying)\S* .* MiB \/ 64\.0 MiB \(\d+%\)/;
    await p.waitFor(progress, 300_000);
    expect(await p.exitCode()).toBe(0);
    const end = p.screen();
    expect(end).toMatch(/released big 1\.0\.0/);
    expect(p.seen.join('\n')).not.toContain(passphrase);
    // The progress line is erased when the work is done, not left among the results.
    expect(end).not.toMatch(progress);
  }, 600_000);

  it('root sign: the diff is on screen before the passphrase; Ctrl-C refuses and leaves the proposal unsigned', async () => {
    const proposal = join(work, 'proposal.json');
    const propose = runAirlock(['root', 'propose', '--expires-days', '400', '-o', proposal, '--json'], { env: { AIRLOCK_HOME: home, AIRLOCK_PASSPHRASE_FILE: passFile } });
    expect(propose.status, propose.stderr).toBe(0);
    const before = readFileSync(proposal, 'utf8');

    const cancel = airlock('cancel-sign', ['root', 'sign', proposal]);
    const s = await cancel.waitFor(/\(Ctrl-C to refuse\): $/m);
    expect(s).toMatch(/root proposal: v1 → v2/);
    expect(s).toMatch(/proposal digest\s+[0-9a-f]{64}/);
    expect(s).toMatch(/expires\s+\S+ → \S+/);
    expect(s).toMatch(/signatures \(new root v2\): 0 signed, 1 needed/);
    cancel.key('C-c');
    expect(await cancel.exitCode()).toBe(2);
    expect(cancel.screen()).toMatch(/^error E_USAGE: cancelled/m);
    expect(readFileSync(proposal, 'utf8')).toBe(before);

    const sign = airlock('sign', ['root', 'sign', proposal]);
    await sign.waitFor(/\(Ctrl-C to refuse\): $/m);
    sign.type(passphrase);
    sign.key('Enter');
    expect(await sign.exitCode()).toBe(0);
    expect(sign.screen()).toMatch(/signed root v2 with 1 key\(s\)/);
    expect(sign.seen.join('\n')).not.toContain(passphrase);
  }, 120_000);

  it('airlock-verify download: the progress line (bytes, rate, ETA) while it downloads, then verified', async () => {
    // The host over HTTP, the large target at about 32 MiB/s so the line stays on screen.
    const server = await serveDirectory(host);
    try {
      const dir = join(host, 'targets', 'big', '1.0.0');
      const stored = readdirSync(dir).filter((f) => f.endsWith('.big.bin'));
      expect(stored.length).toBeGreaterThan(0);
      const slow = (_req: unknown, res: import('node:http').ServerResponse) => {
        res.writeHead(200, { 'content-length': String(BIG) });
        const chunk = Buffer.alloc(1024 * 1024);
        let sent = 0;
        const next = () => {
          if (sent >= BIG) return void res.end();
          sent += chunk.length;
          res.write(chunk);
          setTimeout(next, 30);
        };
        next();
      };
      // Under each hash name: a client may fetch a target by any of its hashes.
      for (const f of stored) server.override(`/targets/big/1.0.0/${f}`, slow);
      const out = join(work, 'downloaded.bin');
      const p = new Pane('download', [process.execPath, verifierBin, 'download', 'big/1.0.0/big.bin', '--from', server.url, '--root', join(host, 'keys', 'root.json'), '-o', out], {});
      // The line names the file being written (-o).
      await p.waitFor(/downloaded\.bin\s+[\d.]+ [KM]iB \/ 64\.0 MiB \(\d+%\)\s+[\d.]+ \S+\/s\s+ETA \d+:\d\d/, 60_000);
      expect(await p.exitCode(), server.requested.join(' ')).toBe(0);
      const end = p.screen();
      expect(end).toMatch(/verified big\/1\.0\.0\/big\.bin/);
      expect(end).not.toMatch(/ETA \d/); // erased once done
      expect(readFileSync(out).length).toBe(BIG);
    } finally {
      await server.close();
    }
  }, 180_000);
});
