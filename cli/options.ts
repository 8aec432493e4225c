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

export function jsonOption(cmd: Command): Command {
  return cmd.option('--json', 'print one JSON object (or JSON lines of events) for machines');
}
