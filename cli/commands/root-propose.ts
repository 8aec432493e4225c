// `airlock root propose`: writes the unsigned next root (N+1.root.json) to a file, for
// the root key holders to sign one by one (`airlock root sign`) and the release manager
// to publish (`airlock root publish`). Keys to add come as the hex public key `airlock
// key list` prints, or as a keystore directory whose keys of that role are all added.
// --rotate ROLE generates the role's new key here, in the terminal keystore.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AirlockError } from '../../lib/core/errors.js';
import type { KeyType } from '../../lib/core/key-type.js';
import type { TufKey } from '../../lib/core/tuf-key.js';
import { formatExpires, TOP_LEVEL_ROLES, type TopLevelRole } from '../../lib/core/tuf-metadata.js';
import { parseKeyTypeChoices } from '../../lib/keys/key-type-choice.js';
import { Keystore } from '../../lib/keys/keystore.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import { readPassphrase } from '../../lib/keys/passphrase.js';
import type { KeyRole } from '../../lib/keys/signer.js';
import { expiresAt } from '../../lib/repo/expiry.js';
import { LocalRepository } from '../../lib/repo/local-repository.js';
import { ONLINE_ROLES, type OnlineRole } from '../../lib/repo/transaction.js';
import { closeSigners, keysListedBy, tufKeyFromHex } from '../../lib/terminal/keys.js';
import { diffRoots, proposeRoot, rootSignatureStatus, writeRootProposal, type RootChange } from '../../lib/repo/root-ceremony.js';
import { readConfig } from '../../lib/terminal/config.js';
import { terminalPaths } from '../../lib/terminal/home.js';
import { emit } from '../run.js';
import { describeRootChange } from '../root-proposals.js';

export interface RootProposeOptions {
  addKey?: string[];
  removeKey?: string[];
  threshold?: string[];
  rotate?: string[];
  keyType?: string[];
  expiresDays?: number;
  output: string;
  keystore?: string;
  passphraseFd?: number;
  json?: boolean;
}

function splitRole(flag: string, value: string): [TopLevelRole, string] {
  const at = value.indexOf(':');
  const role = value.slice(0, at) as TopLevelRole;
  if (at < 1 || !TOP_LEVEL_ROLES.includes(role)) throw new AirlockError('E_USAGE', `${flag} takes ROLE:VALUE with ROLE one of ${TOP_LEVEL_ROLES.join(', ')}; got "${value}"`);
  return [role, value.slice(at + 1)];
}

async function keysToAdd(role: TopLevelRole, value: string, alreadyListed: readonly string[]): Promise<TufKey[]> {
  if (/^(?:[0-9a-fA-F]{64}|04[0-9a-fA-F]{128})$/.test(value)) return [tufKeyFromHex(value)];
  const isDir = await stat(value).then((s) => s.isDirectory(), () => false);
  if (!isDir) throw new AirlockError('E_USAGE', `--add-key ${role}:${value}: give a hex public key (from \`airlock key list\`) or a keystore directory`);
  const found = (await (await Keystore.open(resolve(value))).list()).filter((k) => k.role === role && !alreadyListed.includes(k.keyId));
  if (found.length === 0) throw new AirlockError('E_KEY_NOT_FOUND', `the keystore ${value} holds no ${role} key the root does not already list; generate one there with \`airlock key generate ${role} --keystore ${value}\``);
  return found.map((k) => tufKeyFromHex(k.publicKey, k.keyType));
}

export async function rootPropose(opts: RootProposeOptions): Promise<void> {
  const paths = terminalPaths();
  const config = await readConfig(paths);
  const current = (await new LocalRepository(paths.repository).current()).root;
  const now = new Date();
  const add: { role: TopLevelRole; key: TufKey }[] = [];
  const remove: { role: TopLevelRole; keyId: string }[] = [];
  const thresholds: Partial<Record<TopLevelRole, number>> = {};
  const replace: Partial<Record<TopLevelRole, TufKey[]>> = {};
  const change: RootChange = { expires: expiresAt('root', now, config.expiryDays), add, remove, thresholds, replace };
  if (opts.expiresDays !== undefined) {
    if (!Number.isInteger(opts.expiresDays) || opts.expiresDays < 1 || opts.expiresDays > 3650) throw new AirlockError('E_USAGE', '--expires-days must be a whole number from 1 to 3650');
    change.expires = formatExpires(new Date(now.getTime() + opts.expiresDays * 86_400_000));
  }
  for (const v of opts.addKey ?? []) {
    const [role, value] = splitRole('--add-key', v);
    for (const key of await keysToAdd(role, value, current.signed.roles[role].keyids)) add.push({ role, key });
  }
  for (const v of opts.removeKey ?? []) {
    const [role, keyId] = splitRole('--remove-key', v);
    remove.push({ role, keyId });
  }
  for (const v of opts.threshold ?? []) {
    const [role, m] = v.includes(':') ? splitRole('--threshold', v) : (['root', v] as const);
    if (!/^[1-9]\d*$/.test(m)) throw new AirlockError('E_USAGE', `--threshold takes M or ROLE:M with M a whole number; got "${v}"`);
    thresholds[role] = Number(m);
  }

  const rotate = [...new Set(opts.rotate ?? [])];
  if (rotate.length === 0 && opts.keyType !== undefined) throw new AirlockError('E_USAGE', '--key-type applies to the keys --rotate makes; give --rotate ROLE');
  let keyTypes: Record<KeyRole, KeyType> | undefined;
  const generated: { role: OnlineRole; keyId: string }[] = [];
  if (rotate.length > 0) {
    for (const r of rotate) {
      if (!(ONLINE_ROLES as readonly string[]).includes(r)) throw new AirlockError('E_USAGE', `--rotate takes targets, snapshot or timestamp; root keys change with --add-key/--remove-key`);
    }
    keyTypes = parseKeyTypeChoices(opts.keyType, rotate as OnlineRole[]);
    // Check the whole proposal before a key is generated: a refused proposal leaves no stray key.
    proposeRoot(current.signed, change);
    const keystore = await Keystore.open(keystoreDirFor(opts));
    const passphrase = await readPassphrase({ fd: opts.passphraseFd }, `Passphrase for keystore ${keystore.dir} (the new keys get it too): `);
    try {
      // The new keys take the passphrase of the keys they replace: check it opens one first.
      const existing = await keysListedBy(keystore, current.signed, rotate[0] as OnlineRole);
      if (existing[0]) await closeSigners([await keystore.unlock(existing[0].keyId, passphrase)]);
      for (const r of rotate as OnlineRole[]) {
        const info = await keystore.generate(r, passphrase, keyTypes?.[r]);
        generated.push({ role: r, keyId: info.keyId });
        replace[r] = [tufKeyFromHex(info.publicKey, info.keyType)];
        thresholds[r] = 1;
      }
    } finally {
      passphrase.wipe();
    }
  }

  const proposed = proposeRoot(current.signed, change);
  const envelope = { signatures: [], signed: proposed };
  const output = resolve(opts.output);
  await writeRootProposal(output, envelope);
  const diff = diffRoots(current, proposed);
  const status = rootSignatureStatus(current.signed, envelope);
  emit(opts, { ok: true, file: output, version: proposed.version, generated, diff, signatures: status }, () => [
    ...describeRootChange(diff, status),
    ...generated.map((g) => `generated the new ${g.role} key ${g.keyId} in the terminal keystore`),
    `wrote the unsigned proposal to ${output}`,
    `next: each root key holder runs \`airlock root sign ${output} --keystore DIR\`, then \`airlock root publish ${output}\``,
  ]);
}
