// SoftHSM2 (Debian's softhsm2) as the hardware token of the tests: a private token
// directory and configuration in a temp dir, tokens made with softhsm2-util, keys made
// by OpenSC's pkcs11-tool where a test needs a key airlock did not make, and OpenSC's
// pkcs11-spy in front of the module where a test counts the calls airlock makes.
//
// SoftHSM2 reads SOFTHSM2_CONF when a process initialises it, so a test file points the
// variable at its own configuration (use()) and airlock, in the same process, finds it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
export const SPY_MODULE = ['/usr/lib/x86_64-linux-gnu/pkcs11-spy.so', '/usr/lib/aarch64-linux-gnu/pkcs11-spy.so', '/usr/lib/pkcs11-spy.so'].find((p) => existsSync(p)) ?? '/usr/lib/x86_64-linux-gnu/pkcs11-spy.so';

export const SO_PIN = '87654321';
export const USER_PIN = '246810';

export interface Tool {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface SoftHsm {
  dir: string;
  /** The configuration file: every token under dir/tokens. */
  conf: string;
  env: { SOFTHSM2_CONF: string };
  /** Initialises a new token in the first free slot. */
  initToken(label: string, pin?: string): void;
  /** A second configuration over the same tokens that offers only `mechanisms` (SoftHSM's slots.mechanisms). */
  confOffering(mechanisms: readonly string[]): Promise<string>;
  /** Runs OpenSC's pkcs11-tool against the SoftHSM module. */
  pkcs11Tool(args: readonly string[]): Tool;
  /** Points this process's SOFTHSM2_CONF at `conf` (default: this one) until restore(). */
  use(conf?: string): void;
  /** Routes `module` through pkcs11-spy, logging every call to the returned file. */
  spy(): Promise<{ module: string; log: string; calls(): Promise<string[]> }>;
  cleanup(): Promise<void>;
}

function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): Tool {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { PATH: process.env.PATH, ...env }, timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export async function softHsm(): Promise<SoftHsm> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-softhsm-'));
  const tokens = join(dir, 'tokens');
  await mkdir(tokens, { mode: 0o700 });
  const confText = (extra = '') => `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n${extra}`;
  const conf = join(dir, 'softhsm2.conf');
  await writeFile(conf, confText(), { mode: 0o600 });
  const env = { SOFTHSM2_CONF: conf };
  const saved = { conf: process.env.SOFTHSM2_CONF, spy: process.env.PKCS11SPY, spyOut: process.env.PKCS11SPY_OUTPUT };
  let spies = 0;
  return {
    dir,
    conf,
    env,
    initToken(label, pin = USER_PIN) {
      const r = run('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', SO_PIN, '--pin', pin], env);
      if (r.status !== 0) throw new Error(`softhsm2-util --init-token failed: ${r.stderr}`);
    },
    async confOffering(mechanisms) {
      const path = join(dir, `softhsm2-${mechanisms.length}-${Date.now()}.conf`);
      await writeFile(path, confText(`slots.mechanisms = ${mechanisms.join(',')}\n`), { mode: 0o600 });
      return path;
    },
    pkcs11Tool(args) {
      return run('pkcs11-tool', ['--module', SOFTHSM_MODULE, ...args], env);
    },
    use(which = conf) {
      process.env.SOFTHSM2_CONF = which;
    },
    async spy() {
      const log = join(dir, `spy-${++spies}.log`);
      process.env.PKCS11SPY = SOFTHSM_MODULE;
      process.env.PKCS11SPY_OUTPUT = log;
      return {
        module: SPY_MODULE,
        log,
        /** The PKCS#11 functions called, in order, with their CK_RV: "C_Login CKR_PIN_INCORRECT". */
        async calls() {
          const text = await readFile(log, 'utf8').catch(() => '');
          const out: string[] = [];
          let fn: string | undefined;
          for (const line of text.split('\n')) {
            const call = /^\d+: (C_\w+)/.exec(line);
            if (call) fn = call[1];
            const rv = /^Returned:\s+\d+ (CKR_\w+)/.exec(line);
            if (rv && fn) {
              out.push(`${fn} ${rv[1]}`);
              fn = undefined;
            }
          }
          return out;
        },
      };
    },
    async cleanup() {
      for (const [k, v] of [
        ['SOFTHSM2_CONF', saved.conf],
        ['PKCS11SPY', saved.spy],
        ['PKCS11SPY_OUTPUT', saved.spyOut],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A PIN file only its owner can read (what AIRLOCK_PIN_FILE names). */
export async function pinFile(dir: string, pin: string, name = 'token.pin'): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${pin}\n`, { mode: 0o600 });
  return path;
}
