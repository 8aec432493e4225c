// `airlock doctor`: the release terminal's posture before a release (docs/keys.md,
// "airlock doctor"). Every finding is a warning with a fix; the CLI's --strict turns any
// warning into a failure. Checks only read: they change nothing on the machine.
// docs/keys.md ("airlock doctor") lists each check and why it matters.
import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { homedir, networkInterfaces } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { isAirlockError } from '../core/errors.js';
import { Keystore } from '../keys/keystore.js';
import { keystorePermissionProblems } from '../keys/keystore-permissions.js';

export type CheckStatus = 'ok' | 'warn';

export interface DoctorCheck {
  id: 'network' | 'ssh-agent' | 'ssh-forward-agent' | 'keystore' | 'audit-log' | 'clock' | 'tools' | 'swap' | 'user';
  status: CheckStatus;
  summary: string;
  /** What to do about a warning. */
  fix?: string;
  details?: Record<string, unknown>;
}

export interface DoctorReport {
  ok: boolean;
  warnings: number;
  checks: DoctorCheck[];
}

export interface ToolRun {
  /** null when the tool is not installed or did not run. */
  (command: string, args: string[]): Promise<string | null>;
}

/** Where the checks look; every field defaults to the real machine. Tests point them at fixtures. */
export interface DoctorContext {
  keystoreDir: string;
  env?: NodeJS.ProcessEnv;
  homeDir?: string;
  /** System-wide ssh client configuration (Debian: /etc/ssh/ssh_config). */
  sshSystemConfig?: string;
  /** Linux's view of network interfaces. */
  netClassDir?: string;
  swapsFile?: string;
  now?: Date;
  runTool?: ToolRun;
  /** The user airlock runs as (default: this process's). */
  uid?: number;
}

/** A clock before this is unset (a terminal whose RTC battery died reads 1970 or 2000). */
export const CLOCK_EARLIEST = new Date('2025-01-01T00:00:00Z');
export const CLOCK_LATEST = new Date('2100-01-01T00:00:00Z');

/** Tools a release uses, the least version known to work, and how to read the version. */
export const TOOLS: readonly { name: string; command: string; args: string[]; minimum: string; pattern: RegExp; purpose: string }[] = [
  { name: 'git', command: 'git', args: ['--version'], minimum: '2.20', pattern: /git version (\d+(?:\.\d+)+)/, purpose: 'pinned checkouts' },
  { name: 'gpg', command: 'gpg', args: ['--version'], minimum: '2.2', pattern: /gpg \(GnuPG\) (\d+(?:\.\d+)+)/, purpose: 'checking OpenPGP output' },
  { name: 'gpgv', command: 'gpgv', args: ['--version'], minimum: '2.2', pattern: /gpgv \(GnuPG\) (\d+(?:\.\d+)+)/, purpose: 'checking OpenPGP output' },
  { name: 'minisign', command: 'minisign', args: ['-v'], minimum: '0.9', pattern: /minisign (\d+(?:\.\d+)+)/, purpose: 'checking minisign output' },
  { name: 'dpkg-deb', command: 'dpkg-deb', args: ['--version'], minimum: '1.19', pattern: /version (\d+(?:\.\d+)+)/, purpose: 'building .deb packages' },
];
const NODE_MINIMUM = '20.11';

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const defaultRunTool: ToolRun = (command, args) =>
  new Promise((resolvePromise) => {
    execFile(command, args, { timeout: 5000, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' } }, (err, stdout, stderr) => {
      resolvePromise(err && !(stdout || stderr) ? null : `${stdout}${stderr}`);
    });
  });

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

// --- network ---------------------------------------------------------------------

const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;

async function checkNetwork(netClassDir: string): Promise<DoctorCheck> {
  let up: string[] | null = null;
  try {
    up = [];
    for (const name of (await readdir(netClassDir)).sort()) {
      const flags = await readText(join(netClassDir, name, 'flags'));
      if (flags === null) continue;
      const f = Number.parseInt(flags.trim(), 16);
      if ((f & IFF_UP) !== 0 && (f & IFF_LOOPBACK) === 0) up.push(name);
    }
  } catch {
    // Not Linux: fall back to interfaces that carry an address.
    up = Object.entries(networkInterfaces())
      .filter(([, addrs]) => (addrs ?? []).some((a) => !a.internal))
      .map(([name]) => name)
      .sort();
  }
  if (up.length === 0) return { id: 'network', status: 'ok', summary: 'no network interface is up (loopback aside)' };
  return {
    id: 'network',
    status: 'warn',
    summary: `network interface${up.length > 1 ? 's' : ''} up: ${up.join(', ')}; a release terminal should be offline while keys are unlocked`,
    fix: up.map((i) => `ip link set dev ${i} down`).join(' && ') + ' (and disable them at boot)',
    details: { interfaces: up },
  };
}

// --- ssh agent -------------------------------------------------------------------

async function checkSshAgent(env: NodeJS.ProcessEnv): Promise<DoctorCheck> {
  const sock = env.SSH_AUTH_SOCK;
  if (sock === undefined || sock === '') return { id: 'ssh-agent', status: 'ok', summary: 'no ssh-agent is reachable (SSH_AUTH_SOCK unset)' };
  const live = await stat(sock).then((s) => s.isSocket()).catch(() => false);
  return {
    id: 'ssh-agent',
    status: 'warn',
    summary: `an ssh-agent is ${live ? 'reachable' : 'configured'} at SSH_AUTH_SOCK=${sock}; airlock never uses one, and an agent on the terminal lends keys to whatever runs here`,
    fix: 'stop the agent (ssh-agent -k) and unset SSH_AUTH_SOCK in your shell profile',
    details: { socket: sock, live },
  };
}

// --- ForwardAgent in ssh client configuration ---------------------------------------

interface ForwardAgentLine {
  file: string;
  line: number;
  value: string;
}

/**
 * Every `ForwardAgent` line that enables forwarding (anything but "no"), following
 * `Include` (ssh_config(5): relative paths are under ~/.ssh for the user file and
 * /etc/ssh for the system file; globs allowed).
 */
export async function forwardAgentLines(file: string, includeBase: string, seen = new Set<string>()): Promise<ForwardAgentLine[]> {
  if (seen.has(file) || seen.size > 64) return [];
  seen.add(file);
  const text = await readText(file);
  if (text === null) return [];
  const found: ForwardAgentLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*(\w+)(?:\s*=\s*|\s+)(.*?)\s*$/.exec(lines[i]!.replace(/#.*$/, ''));
    if (!m) continue;
    const keyword = m[1]!.toLowerCase();
    const value = m[2]!.replace(/^"(.*)"$/, '$1');
    if (keyword === 'forwardagent' && value.toLowerCase() !== 'no') found.push({ file, line: i + 1, value });
    if (keyword === 'include') {
      for (const pattern of value.split(/\s+/).filter(Boolean)) {
        const expanded = pattern.startsWith('~/') ? join(homedir(), pattern.slice(2)) : pattern;
        const abs = isAbsolute(expanded) ? expanded : join(includeBase, expanded);
        for (const inc of await globFiles(abs)) found.push(...(await forwardAgentLines(inc, includeBase, seen)));
      }
    }
  }
  return found;
}

/** A small glob for Include: `*` and `?` in the last path component only, as ssh configs use. */
async function globFiles(pattern: string): Promise<string[]> {
  const base = pattern.slice(pattern.lastIndexOf('/') + 1);
  if (!/[*?]/.test(base)) return [pattern];
  const dir = dirname(pattern);
  const re = new RegExp(`^${base.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  try {
    return (await readdir(dir)).filter((n) => re.test(n)).sort().map((n) => join(dir, n));
  } catch {
    return [];
  }
}

async function checkForwardAgent(home: string, systemConfig: string): Promise<DoctorCheck> {
  const user = join(home, '.ssh', 'config');
  const lines = [...(await forwardAgentLines(user, join(home, '.ssh'))), ...(await forwardAgentLines(systemConfig, dirname(systemConfig)))];
  if (lines.length === 0) return { id: 'ssh-forward-agent', status: 'ok', summary: `agent forwarding is not enabled in ${user} or ${systemConfig}` };
  return {
    id: 'ssh-forward-agent',
    status: 'warn',
    summary: `agent forwarding is enabled: ${lines.map((l) => `${l.file}:${l.line} ForwardAgent ${l.value}`).join('; ')}`,
    fix: 'set "ForwardAgent no" (or delete those lines); a forwarded agent lets the remote host use your keys',
    details: { lines },
  };
}

// --- keystore and audit log -------------------------------------------------------

async function checkKeystore(dir: string): Promise<{ check: DoctorCheck; keystore: Keystore | null }> {
  const exists = await stat(dir).then(() => true).catch(() => false);
  if (!exists) {
    return {
      keystore: null,
      check: { id: 'keystore', status: 'warn', summary: `no keystore at ${dir}`, fix: 'run `airlock init`, or pass --keystore DIR', details: { dir } },
    };
  }
  const problems = await keystorePermissionProblems(dir);
  if (problems.length > 0) {
    return {
      keystore: null,
      check: {
        id: 'keystore',
        status: 'warn',
        summary: `keystore ${dir} is not private: ${problems.map((p) => `${p.path}: ${p.problem}`).join('; ')}`,
        fix: problems.map((p) => p.fix).join(' && '),
        details: { dir, problems },
      },
    };
  }
  try {
    const keystore = await Keystore.open(dir);
    const keys = await keystore.list();
    return {
      keystore,
      check: {
        id: 'keystore',
        status: 'ok',
        summary: `keystore ${dir} is private (0700/0600) and holds ${keys.length} key${keys.length === 1 ? '' : 's'}: ${keys.map((k) => k.role).join(', ') || 'none'}`,
        details: { dir, keys: keys.map((k) => ({ keyId: k.keyId, role: k.role, kind: k.kind, createdAt: k.createdAt })) },
      },
    };
  } catch (err) {
    if (!isAirlockError(err)) throw err;
    return { keystore: null, check: { id: 'keystore', status: 'warn', summary: err.message, details: { dir, code: err.code } } };
  }
}

async function checkAuditLog(keystore: Keystore): Promise<{ check: DoctorCheck; lastTime: string | null }> {
  const audit = keystore.audit;
  const verdict = await keystore.verifyAudit();
  let lastTime: string | null = null;
  if (verdict.ok) {
    for await (const e of audit.iterate()) lastTime = e.time;
    return {
      lastTime,
      check: { id: 'audit-log', status: 'ok', summary: `audit log intact: ${verdict.entries} entries${verdict.head ? `, head ${verdict.head}` : ''}`, details: { ...verdict } },
    };
  }
  return {
    lastTime,
    check: {
      id: 'audit-log',
      status: 'warn',
      summary: `audit log fails verification: ${verdict.problems.map((p) => p.message).join('; ')}`,
      fix: 'keep a copy of the keystore for investigation; `airlock audit verify` shows the details',
      details: { ...verdict },
    },
  };
}

// --- clock ------------------------------------------------------------------------

function checkClock(now: Date, lastAuditTime: string | null, newestKey: string | null): DoctorCheck {
  const problems: string[] = [];
  if (now < CLOCK_EARLIEST) problems.push(`the clock reads ${now.toISOString()}, before ${CLOCK_EARLIEST.toISOString().slice(0, 10)}: it is not set`);
  if (now > CLOCK_LATEST) problems.push(`the clock reads ${now.toISOString()}, implausibly far ahead`);
  if (lastAuditTime !== null && Date.parse(lastAuditTime) > now.getTime() + 60_000) {
    problems.push(`the clock reads ${now.toISOString()}, earlier than the last audit entry (${lastAuditTime}): it went backwards`);
  }
  if (newestKey !== null && Date.parse(newestKey) > now.getTime() + 60_000) {
    problems.push(`the clock reads ${now.toISOString()}, earlier than a key's creation (${newestKey})`);
  }
  if (problems.length === 0) return { id: 'clock', status: 'ok', summary: `the clock reads ${now.toISOString()} (UTC), consistent with the keystore`, details: { now: now.toISOString() } };
  return {
    id: 'clock',
    status: 'warn',
    summary: `${problems.join('; ')}; metadata expiry is computed from this clock`,
    fix: 'set the clock from a trusted reference (date -u -s …) before signing',
    details: { now: now.toISOString(), lastAuditTime, newestKey },
  };
}

// --- tools ------------------------------------------------------------------------

async function checkTools(runTool: ToolRun): Promise<DoctorCheck> {
  const found: Record<string, string | null> = { node: process.versions.node };
  const problems: string[] = [];
  if (compareVersions(process.versions.node, NODE_MINIMUM) < 0) problems.push(`node ${process.versions.node} is older than ${NODE_MINIMUM}`);
  const results = await Promise.all(TOOLS.map(async (t) => ({ t, out: await runTool(t.command, t.args) })));
  for (const { t, out } of results) {
    const version = out === null ? null : (t.pattern.exec(out)?.[1] ?? null);
    found[t.name] = version;
    if (out === null) problems.push(`${t.name} is not installed (${t.purpose})`);
    else if (version === null) problems.push(`${t.name} did not report a version`);
    else if (compareVersions(version, t.minimum) < 0) problems.push(`${t.name} ${version} is older than ${t.minimum}`);
  }
  const listing = Object.entries(found).map(([k, v]) => `${k} ${v ?? 'missing'}`).join(', ');
  if (problems.length === 0) return { id: 'tools', status: 'ok', summary: listing, details: { versions: found } };
  return {
    id: 'tools',
    status: 'warn',
    summary: `${problems.join('; ')} (${listing})`,
    fix: 'run scripts/provision-terminal.sh (apt-get install git gnupg gpgv minisign dpkg-dev)',
    details: { versions: found },
  };
}

// --- swap -------------------------------------------------------------------------

async function checkSwap(swapsFile: string): Promise<DoctorCheck> {
  const text = await readText(swapsFile);
  if (text === null) return { id: 'swap', status: 'ok', summary: 'swap state unknown on this system', details: {} };
  const devices = text.split('\n').slice(1).map((l) => l.trim().split(/\s+/)[0]).filter((d): d is string => Boolean(d));
  if (devices.length === 0) return { id: 'swap', status: 'ok', summary: 'no swap: unlocked keys stay in RAM' };
  return {
    id: 'swap',
    status: 'warn',
    summary: `swap is on (${devices.join(', ')}): unlocked key material could be paged to disk`,
    fix: 'swapoff -a (and remove swap from /etc/fstab), or use encrypted swap',
    details: { devices },
  };
}

/**
 * A release terminal is worked from an ordinary account. As root, the recipe steps (the
 * project's code) run as root too, and the keystore's 0700/0600 modes keep nobody out.
 */
function checkUser(uid: number | undefined): DoctorCheck {
  if (uid !== 0) return { id: 'user', status: 'ok', summary: `running as an ordinary user (uid ${uid ?? 'unknown'})` };
  return {
    id: 'user',
    status: 'warn',
    summary: "running as root: the project's recipe steps run as root too, and file modes protect nothing from root",
    fix: 'create an ordinary account for the release manager (adduser) and run airlock as that user; keep root for installing packages',
  };
}

export async function runDoctor(ctx: DoctorContext): Promise<DoctorReport> {
  const env = ctx.env ?? process.env;
  const home = ctx.homeDir ?? homedir();
  const now = ctx.now ?? new Date();
  const keystoreDir = resolve(ctx.keystoreDir);
  const { check: keystoreCheck, keystore } = await checkKeystore(keystoreDir);
  let auditCheck: DoctorCheck | null = null;
  let lastTime: string | null = null;
  let newestKey: string | null = null;
  if (keystore !== null) {
    const r = await checkAuditLog(keystore);
    auditCheck = r.check;
    lastTime = r.lastTime;
    const keys = (keystoreCheck.details?.keys as { createdAt: string }[] | undefined) ?? [];
    newestKey = keys.map((k) => k.createdAt).sort().pop() ?? null;
  }
  const checks: DoctorCheck[] = [
    await checkNetwork(ctx.netClassDir ?? '/sys/class/net'),
    await checkSshAgent(env),
    await checkForwardAgent(home, ctx.sshSystemConfig ?? '/etc/ssh/ssh_config'),
    keystoreCheck,
    ...(auditCheck ? [auditCheck] : []),
    checkClock(now, lastTime, newestKey),
    await checkTools(ctx.runTool ?? defaultRunTool),
    await checkSwap(ctx.swapsFile ?? '/proc/swaps'),
    checkUser('uid' in ctx ? ctx.uid : process.getuid?.()),
  ];
  const warnings = checks.filter((c) => c.status === 'warn').length;
  return { ok: warnings === 0, warnings, checks };
}
