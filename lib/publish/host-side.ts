// What the host's administrator installs so the publish key can do nothing but SFTP into
// the release tree (docs/keys.md): an authorized_keys line with
// `restrict` (no forwarding, no pty, no ~/.ssh/rc; sshd(8) AUTHORIZED_KEYS FILE FORMAT)
// that also forces internal-sftp, and an sshd_config(5) Match block that forces
// internal-sftp and locks the user into a ChrootDirectory. The tests' own sshd runs with
// exactly these lines.
import { posix } from 'node:path';
import { AirlockError } from '../core/errors.js';
import { isPlainAbsolutePath } from './host-url.js';
import { openSshPublicKey } from './signer-agent.js';

export interface HostSideOptions {
  /** The login user of the sftp:// URL. */
  user: string;
  /** Root-owned directory, not writable by group or others (sshd_config ChrootDirectory). */
  chroot: string;
  /** The release tree as the SFTP client sees it (the URL's path, inside the chroot). */
  treePath: string;
  /** Raw Ed25519 public key of the keystore's publish key. */
  publishKey: Uint8Array;
}

export function authorizedKeysLine(publishKey: Uint8Array, comment = 'airlock-publish'): string {
  // command="internal-sftp" holds even if the Match block below is missing or mistyped.
  return `restrict,command="internal-sftp" ${openSshPublicKey(publishKey, comment)}`;
}

export function sshdMatchBlock(opts: { user: string; chroot: string }): string {
  return [
    `Match User ${opts.user}`,
    `\tChrootDirectory ${opts.chroot}`,
    '\tForceCommand internal-sftp -u 0022',
    '\tAuthenticationMethods publickey',
    '\tPubkeyAcceptedAlgorithms ssh-ed25519',
    '\tPasswordAuthentication no',
    '\tKbdInteractiveAuthentication no',
    '\tAllowTcpForwarding no',
    '\tAllowAgentForwarding no',
    '\tAllowStreamLocalForwarding no',
    '\tX11Forwarding no',
    '\tPermitTunnel no',
    '\tPermitTTY no',
    '',
  ].join('\n');
}

/** The whole set of host-side instructions `airlock host add` prints. */
export function hostSideInstructions(opts: HostSideOptions): string {
  // Printed for root to paste into a shell and sshd_config: nothing in them may be more than a plain name or path.
  if (!isPlainAbsolutePath(opts.chroot) || opts.chroot === '/') {
    throw new AirlockError('E_USAGE', `--chroot ${JSON.stringify(opts.chroot)}: give a plain absolute directory other than / (letters, digits, . _ + - and /; no "..")`);
  }
  if (!isPlainAbsolutePath(opts.treePath) || !/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/.test(opts.user)) {
    throw new AirlockError('E_USAGE', 'the host URL\'s user and path must be a plain login name and a plain absolute path');
  }
  const tree = posix.join(opts.chroot, opts.treePath);
  return [
    `# On the host, as root. 0. The account: no password, no shell, only the key below (skip if ${opts.user} exists):`,
    `id -u ${opts.user} >/dev/null 2>&1 || useradd --system --user-group --create-home --shell /usr/sbin/nologin ${opts.user}`,
    `install -d -o ${opts.user} -g ${opts.user} -m 0700 ~${opts.user}/.ssh`,
    '',
    '# 1. The chroot (root-owned, 0755 all the way up) and the release tree in it:',
    `install -d -o root -g root -m 0755 ${opts.chroot}`,
    `install -d -o ${opts.user} -m 0755 ${tree}`,
    '',
    `# 2. The publish key, in ~${opts.user}/.ssh/authorized_keys (owned by ${opts.user}, mode 0600; or your AuthorizedKeysFile):`,
    authorizedKeysLine(opts.publishKey),
    '',
    '# 3. At the END of /etc/ssh/sshd_config (Match blocks run to the end of the file), then `sshd -t && systemctl reload ssh`:',
    sshdMatchBlock(opts),
    `# 4. Let the web server serve ${tree} (read-only), and nothing else.`,
    '',
  ].join('\n');
}
