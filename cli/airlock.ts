#!/usr/bin/env node
// The release-terminal program. This file only registers commands: each action
// normalises its options and calls cli/commands/<name>.ts, which holds no crypto or
// policy (those live in lib/).
import { Command, InvalidArgumentError, Option } from 'commander';
import { jsonOption, keyTypeOption, keyTypesOption, passphraseFdOption, signingOptions } from './options.js';
import { action, USAGE_OUTPUT, usageExit } from './run.js';

const program = new Command();
program
  .name('airlock')
  .description('Build, sign and publish releases from an isolated release terminal.')
  .version('0.1.0')
  .configureOutput(USAGE_OUTPUT)
  .exitOverride(usageExit);

// --- commands are registered below, one block each ---------------------------------

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
const wholeNumber = (flag: string) => (v: string): number => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${flag} takes a whole number`);
  return Number(v);
};

program
  .command('init')
  .description('set up this release terminal: keystore, keys for every role, repository v1')
  .option('--name <name>', 'name shown as the OpenPGP user id and apt Origin', 'airlock release signing')
  .option('--root-keys <n>', 'number of root keys in the terminal keystore (n of an m-of-n threshold; default 1)', wholeNumber('--root-keys'))
  .option('--root-threshold <m>', 'root signatures needed to change the root', wholeNumber('--root-threshold'), 1)
  .option('--root-keystore <dir>', 'put one root key in this keystore (separate medium, own passphrase); repeat for each root key', collect)
  .option('--root-passphrase-file <file>', 'passphrase file (0600) for the --root-keystore of the same position; repeatable', collect)
  .option('--expiry <role=days>', 'expiry period of a role, e.g. timestamp=7; repeatable', collect)
  .addOption(keyTypesOption())
  .option('--keystore <dir>', 'keystore directory (default: $AIRLOCK_HOME/keystore)')
  .addOption(passphraseFdOption())
  .option('--dry-run', 'print the keystores and keys init would make; ask nothing, write nothing')
  .option('--json', 'print one JSON object')
  .action(action(async (opts) => (await import('./commands/init.js')).init(opts)));

jsonOption(
  signingOptions(
    program
      .command('release')
      .description('build a release from a pinned branch, sign it and publish it')
      .requiredOption('--source <git-url-or-dir>', "the project's git repository")
      .requiredOption('--branch <name>', 'the release branch, e.g. release/1.2.0')
      .option('--commit <sha>', 'the commit you confirmed as the head of that branch (full hex); without it you confirm on the terminal')
      .option('--to <dir-or-host...>', 'publish to these directories or registered hosts (default: every registered host)')
      .option('--allow-network', 'let recipe steps reach the network (recorded in the provenance)')
      .option('--dry-run', 'check the pins and print what would be built; sign and publish nothing'),
  ),
).action(action(async (opts) => (await import('./commands/release.js')).release(opts)));

jsonOption(
  signingOptions(
    program
      .command('import')
      .argument('<dir>', 'the archive: DIR/<project>/<version>/ holding the files and a release.json each (docs/import.md)')
      .description("sign an archive of earlier releases into the terminal's repository copy, in batches (resumable); publish afterwards")
      .option('--batch <targets>', 'targets per batch moved into the copy (default 10000); a release is never split', wholeNumber('--batch'))
      .option('--compat <outputs>', 'tuf (default: TUF targets and releases/ copies) or signatures (also .asc, .minisig, .sshsig, .sha512, SHA256SUMS per release)')
      .option('--dry-run', 'walk and check the archive, print the plan; ask nothing, write nothing'),
  ),
).action(action(async (dir: string, opts) => (await import('./commands/import.js')).importReleases(dir, opts)));

program
  .command('status')
  .description("show each role's version, expiry and keys; exit 1 if something has expired")
  .option('--warn-days <n>', 'warn when a role expires within this many days', wholeNumber('--warn-days'))
  .option('--keystore <dir>', 'mark the keys this keystore holds (default: $AIRLOCK_HOME/keystore)')
  .option('--json', 'print one JSON object')
  .action(action(async (opts) => (await import('./commands/status.js')).status(opts)));


// keys, audit log and terminal posture (lib/keys) ------------------------------------
const key = program.command('key').description('the keystore: generate keys, list public keys, change a passphrase (there is no export)');
jsonOption(
  signingOptions(key.command('generate').argument('<role>', 'root, targets, snapshot, timestamp, pgp, minisign, ssh or publish').description('make a new key for ROLE in the keystore').addOption(keyTypeOption())),
).action(action(async (role: string, opts) => (await import('./commands/key-generate.js')).keyGenerate(role, opts)));
jsonOption(
  key
    .command('list')
    .description('show public keys, key ids and fingerprints (never private keys)')
    .option('--keystore <dir>', 'keystore directory (default: $AIRLOCK_HOME/keystore)'),
).action(action(async (opts) => (await import('./commands/key-list.js')).keyList(opts)));
jsonOption(
  signingOptions(key.command('passwd').argument('[keyid]', 'key id (or a unique prefix, or a role holding one key)').description("change a key's passphrase, or with --all one passphrase for every key (rewrites each file atomically)"))
    .option('--all', "one new passphrase for every key of the keystore (each key's current passphrase is checked before any is rewritten)")
    .addOption(new Option('--new-passphrase-fd <n>', 'read the new passphrase from this fd (default: the next line of --passphrase-fd)').argParser((v) => {
      if (!/^\d+$/.test(v)) throw new InvalidArgumentError('--new-passphrase-fd takes a file descriptor number');
      return Number(v);
    })),
).action(action(async (keyId: string | undefined, opts) => (await import('./commands/key-passwd.js')).keyPasswd(keyId, opts)));

// hardware keys (lib/keys/pkcs11, issue 11) ------------------------------------------
jsonOption(
  key
    .command('add-token')
    .argument('<role>', 'root, targets, snapshot, timestamp, pgp, minisign, ssh or publish')
    .description('add a key that lives in a PKCS#11 token (YubiKey, Nitrokey, HSM, SoftHSM2): make it inside the token (--generate) or adopt one there (--key-label)')
    .option('--module <path>', 'the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so')
    .option('--token <label>', 'the token label')
    .option('--uri <pkcs11-uri>', 'an RFC 7512 URI naming the token (and the key), instead of --token / --key-label')
    .option('--generate', 'make a new key inside the token (sensitive, never extractable)')
    .addOption(keyTypeOption())
    .option('--key-label <label>', 'the key to adopt; with --generate, the new key\'s label (default airlock-ROLE)')
    .option('--key-id <hex>', 'CKA_ID of the key to adopt, or of the new key')
    .addOption(new Option('--pin-fd <n>', 'read the token PIN from this file descriptor (else AIRLOCK_PIN_FILE, else a prompt)').argParser((v) => {
      if (!/^\d+$/.test(v)) throw new InvalidArgumentError('--pin-fd takes a file descriptor number');
      return Number(v);
    }))
    .option('--keystore <dir>', 'keystore directory (default: $AIRLOCK_HOME/keystore)'),
).action(action(async (role: string, opts) => (await import('./commands/key-add-token.js')).keyAddToken(role, opts)));

const audit = jsonOption(
  program
    .command('audit')
    .description("show the keystore's audit log of every signature made")
    .option('--keystore <dir>', 'keystore directory (default: $AIRLOCK_HOME/keystore)'),
).action(action(async (opts) => (await import('./commands/audit.js')).audit(opts)));
// --keystore and --json written after `verify` are parsed by `audit`, which has them too: read both levels.
jsonOption(
  audit
    .command('verify')
    .description('check the hash chain of the audit log; exit 1 if an entry was edited, removed, reordered or cut off')
    .option('--keystore <dir>', 'keystore directory (default: $AIRLOCK_HOME/keystore)'),
).action(action(async (_opts: object, cmd: Command) => (await import('./commands/audit.js')).auditVerify(cmd.optsWithGlobals())));

jsonOption(
  program
    .command('doctor')
    .description("check the terminal's posture before a release (network, ssh agent, keystore, clock, tools)")
    .option('--strict', 'exit 1 if any check warns')
    .option('--keystore <dir>', 'keystore directory (default: $AIRLOCK_HOME/keystore)'),
).action(action(async (opts) => (await import('./commands/doctor.js')).doctor(opts)));

// trust lifecycle: root ceremony, key rotation, expiry (lib/repo, issue 5) -----------
const publishing = (cmd: Command): Command =>
  cmd
    .option('--to <dir-or-host...>', 'publish to these directories or registered hosts (default: every registered host)')
    .option('--no-publish', "only update the terminal's repository copy; publish later");
const rootKeystores = (cmd: Command): Command =>
  cmd
    .option('--root-keystore <dir>', 'a keystore holding root keys (separate medium); repeatable', collect)
    .option('--root-passphrase-file <file>', 'passphrase file (0600) for the --root-keystore of the same position; repeatable', collect);

const root = program.command('root').description('the root signing ceremony: propose a new root, sign it on each holder\'s device, publish it');
jsonOption(
  signingOptions(
    root
      .command('propose')
      .description('write the unsigned next root (N+1.root.json) to a file for the root key holders to sign')
      .option('--add-key <role:key>', 'add a key: ROLE:HEX_PUBLIC_KEY or ROLE:KEYSTORE_DIR; repeatable', collect)
      .option('--remove-key <role:keyid>', 'remove a key by key id (or a unique prefix); repeatable', collect)
      .option('--threshold <m>', 'root threshold M, or ROLE:M for another role; repeatable', collect)
      .option('--rotate <role>', 'replace the targets, snapshot or timestamp key by a new one generated in --keystore; repeatable', collect)
      .addOption(keyTypesOption())
      .option('--expires-days <d>', 'the new root expires in D days (default: the configured root expiry)', wholeNumber('--expires-days'))
      .requiredOption('-o, --output <file>', 'where to write the proposal'),
  ),
).action(action(async (opts) => (await import('./commands/root-propose.js')).rootPropose(opts)));
jsonOption(
  signingOptions(
    root
      .command('sign')
      .argument('<file>', 'the root proposal')
      .description("show what the proposal changes, then add this keystore's root signature(s)")
      .option('--previous <file>', 'the current root (metadata/N.root.json from the host) when this device has no repository copy')
      .option('-o, --output <file>', 'write the signed proposal here (default: FILE itself)'),
  ),
).action(action(async (file: string, opts) => (await import('./commands/root-sign.js')).rootSign(file, opts)));
jsonOption(
  root
    .command('show')
    .argument('<files...>', 'the root proposal (signed copies are merged)')
    .description('show what a root proposal changes and who has signed it')
    .option('--previous <file>', 'the current root, when this device has no repository copy'),
).action(action(async (files: string[], opts) => (await import('./commands/root-show.js')).rootShow(files, opts)));
jsonOption(
  publishing(
    signingOptions(
      root
        .command('publish')
        .argument('<files...>', 'the signed root proposal (signed copies from several holders are merged)')
        .description('make the proposal the root once signed by the thresholds of the old and the new root; re-sign what its key changes need; publish'),
    ),
  ),
).action(action(async (files: string[], opts) => (await import('./commands/root-publish.js')).rootPublish(files, opts)));

jsonOption(
  publishing(
    rootKeystores(
      signingOptions(
        key
          .command('rotate')
          .argument('<role>', 'targets, snapshot or timestamp')
          .description("replace ROLE's key by a new one through a new root signed by the root keys at hand; the old key's signatures stop counting")
          .option('--dry-run', 'print the plan (keys, files, hosts); ask nothing, write nothing')

          .addOption(keyTypeOption()),
      ),
    ),
  ),
).action(action(async (role: string, opts) => (await import('./commands/key-rotate.js')).keyRotate(role, opts)));

jsonOption(
  publishing(
    signingOptions(
      program
        .command('refresh')
        .description('re-sign the timestamp (and snapshot/targets when due) and publish the metadata')
        .option('--resign <role>', 'also re-sign targets or snapshot now; repeatable', collect)
        .option('--warn-days <n>', 'margin: re-sign what expires within the timestamp period plus this', wholeNumber('--warn-days'))
        .option('--dry-run', 'print what would be re-signed; ask nothing, write nothing'),
    ),
  ),
).action(action(async (opts) => (await import('./commands/refresh.js')).refresh(opts)));

jsonOption(
  program
    .command('expiry')
    .argument('[role=days...]', 'set the expiry period of a role, e.g. timestamp=7 targets=90')
    .description('show or set how long each role stays valid when signed, and the warning margin')
    .option('--warn-days <n>', 'warn (status) and re-sign early (refresh) this many days before expiry', wholeNumber('--warn-days')),
).action(action(async (assignments: string[], opts) => (await import('./commands/expiry.js')).expiry(assignments, opts)));

// hosts and publishing (lib/publish) ------------------------------------------------
const hostCmd = program.command('host').description('the static hosts this repository is published to, with pinned SSH host keys');
jsonOption(
  hostCmd
    .command('add')
    .argument('<name>', 'a short name for the host')
    .argument('<url>', 'sftp://user@host:port/path, s3://bucket/prefix, file:///abs/dir or /abs/dir')
    .description('register a host, pin its SSH host key, print the host-side sshd lines')
    .option('--host-key <key>', "the host's public key line (ssh-ed25519 AAAA…), a .pub file, or SHA256:… fingerprint")
    .option('--known-hosts <file>', 'take the pinned key from this known_hosts file')
    .option('--endpoint <url>', 's3:// hosts: the S3 API endpoint (https://…; credentials come from AWS_* variables or ~/.aws/credentials)')
    .option('--region <region>', 's3:// hosts: the signing region (default us-east-1)')
    .option('--path-style', 's3:// hosts: address the bucket in the path (Ceph RGW, MinIO) rather than the host name')
    .option('--mutable-max-age <seconds>', 's3:// hosts: how long caches may keep timestamp.json, keys/ and apt/rpm indices (default 0: no-cache)')
    .option('--chroot <dir>', 'ChrootDirectory printed in the sshd Match block', '/srv/airlock')
    .option('--replace', 'replace a host of the same name')
    .option('--file-mode <octal>', 'permission bits of published files, whatever the umask (default 0644)')
    .option('--dir-mode <octal>', 'permission bits of published directories (default 0755)')
    .option('--keystore <dir>', 'keystore directory (default: $AIRLOCK_HOME/keystore), for the publish key'),
).action(action(async (name: string, url: string, opts) => (await import('./commands/host-add.js')).hostAdd(name, url, opts)));
jsonOption(hostCmd.command('list').description('show the registered hosts and their pinned host keys')).action(
  action(async (opts) => (await import('./commands/host-list.js')).hostList(opts)),
);
jsonOption(hostCmd.command('remove').argument('<name>', 'the host to forget').description('forget a host (files on it are untouched)')).action(
  action(async (name: string, opts) => (await import('./commands/host-remove.js')).hostRemove(name, opts)),
);
jsonOption(
  signingOptions(
    program
      .command('publish')
      .description("make the hosts hold the terminal's repository: ordered, checked, resumable (re-run to finish)")
      .option('--to <dir-or-host...>', 'only these registered hosts or directories (default: every registered host)')
      // --to is the one name for "where to publish" in every command; --host stays as its old spelling.
      .addOption(new Option('--host <name...>').hideHelp())
      .option('--dry-run', 'print the plan (what would be uploaded, in order) and write nothing')
      .option('--full-check', 'read every file on the hosts back to compare, ignoring the digest cache')
      .option('--concurrency <n>', 'hosts published to at once (default 3)', (v) => {
        if (!/^[1-9]\d*$/.test(v)) throw new InvalidArgumentError('--concurrency takes a positive whole number');
        return Number(v);
      }),
  ),
).action(action(async (opts) => (await import('./commands/publish.js')).publish(opts)));

// sync: bring the repository copy up to date from a host (lib/repo/sync-from-host.ts)
jsonOption(
  program
    .command('sync')
    .description("bring the terminal's repository copy up to date from a host, verified against the copy's own root like a client")
    .requiredOption('--from <host>', 'a registered directory host, a directory holding the host tree, or its http(s) URL')
    .option('--dry-run', 'verify the host and print what would be brought in; write nothing')
    .option('--keystore <dir>', 'keystore whose newest pgp key must have signed the apt and rpm indices (default: $AIRLOCK_HOME/keystore)'),
).action(action(async (opts) => (await import('./commands/sync.js')).sync(opts)));

// reproduce: rebuild a signed release with no keys and compare (lib/reproduce) ------
jsonOption(
  program
    .command('reproduce')
    .argument('<project/version>', 'the release, e.g. hello/1.2.0')
    .description('verify a published release, rebuild it from its recorded commit and compare every artifact byte for byte (no keys needed)')
    .requiredOption('--from <url-or-dir>', 'the static host: http(s) base URL or directory (repeat for mirrors)', collect)
    .requiredOption('--source <git-url-or-dir>', "the project's git repository (any clone holding the recorded commit)")
    .option('--root <root.json>', 'the pinned root of trust (default: the airlock-verify state, see --state)')
    .option('--fingerprint <hex>', "refuse unless the --root file's SHA-256 is this")
    .option('--state <dir>', 'airlock-verify trusted state (kept between runs: rollback and freeze are detected); default $AIRLOCK_VERIFY_STATE or ~/.local/state/airlock-verify when --root is not given')
    .option('--work-dir <dir>', 'parent of the fresh build directory (default: the system temp directory)')
    .option('--output <dir>', 'keep report.json, the build log and differing files (with diffoscope reports) here; default: a new temp directory, only when something differs')
    .option('--allow-network', 'let recipe steps reach the network (for machines without network namespaces)')
    .option('--no-diffoscope', 'do not run diffoscope even when it is installed')
    .option('--keep-build', 'keep the build directory (checkout, outputs, log)'),
).action(action(async (release: string, opts) => (await import('./commands/reproduce.js')).reproduce(release, opts)));

await program.parseAsync(process.argv);
