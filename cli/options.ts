// Option groups shared by several commands, so each flag means one thing everywhere.
import { InvalidArgumentError, Option, type Command } from 'commander';

function fdNumber(flag: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${flag} takes a file descriptor number`);
    return Number(v);
  };
}

export function passphraseFdOption(): Option {
  return new Option('--passphrase-fd <n>', 'read the keystore passphrase from this file descriptor').argParser(fdNumber('--passphrase-fd'));
}

/** Every command that signs: where the keys are and how the passphrase comes in (never argv). */
export function signingOptions(cmd: Command): Command {
  return cmd
    .option('--keystore <dir>', 'keystore directory (default: $AIRLOCK_HOME/keystore); may sit on separate media')
    .addOption(passphraseFdOption());
}

/** The kind of key a command makes for one role; checked against the role before anything else. */
export function keyTypeOption(): Option {
  return new Option('--key-type <type>', 'the new key\'s type: ed25519 (default) or ecdsa-p256 (for tokens without Ed25519, e.g. a YubiKey in PIV mode; not for minisign or publish)');
}

/** For commands that make keys for several roles: TYPE for each that can take it, or ROLE=TYPE; repeatable. */
export function keyTypesOption(): Option {
  return new Option(
    '--key-type <[role=]type>',
    'type of the new keys: ed25519 (default) or ecdsa-p256, for every role that can take it (minisign, ssh and publish stay Ed25519), or ROLE=TYPE for one role; repeatable',
  ).argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
}

export function jsonOption(cmd: Command): Command {
  return cmd.option('--json', 'print one JSON object (or JSON lines of events) for machines');
}
