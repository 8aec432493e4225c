// `airlock root sign FILE --keystore DIR`: one root key holder's step of the ceremony,
// on their own device. The holder sees what the proposal changes (keys added and removed
// per role, thresholds, expiry, the proposal digest to compare with the others) BEFORE
// the passphrase is asked; Ctrl-C at the prompt refuses. Signs with every root key of
// that keystore the old or the new root lists, and writes the signature into FILE (or -o).
import { resolve } from 'node:path';
import { AirlockError } from '../../lib/core/errors.js';
import { Keystore } from '../../lib/keys/keystore.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import { readPassphrase } from '../../lib/keys/passphrase.js';
import { closeSigners, unlockKeys } from '../../lib/terminal/keys.js';
import { checkRootProposal, diffRoots, rootSignatureStatus, signRootProposal, writeRootProposal } from '../../lib/repo/root-ceremony.js';
import { emit, note } from '../run.js';
import { describeRootChange, loadProposal } from '../root-proposals.js';

export interface RootSignOptions {
  keystore?: string;
  previous?: string;
  output?: string;
  passphraseFd?: number;
  json?: boolean;
}

export async function rootSign(file: string, opts: RootSignOptions): Promise<void> {
  const now = new Date();
  const { proposal, previous } = await loadProposal([file], opts.previous);
  checkRootProposal(previous.signed, proposal.signed, now);
  const keystore = await Keystore.open(keystoreDirFor(opts));
  const listed = new Set([...previous.signed.roles.root.keyids, ...proposal.signed.roles.root.keyids]);
  const mine = (await keystore.list()).filter((k) => k.role === 'root' && listed.has(k.keyId));
  if (mine.length === 0) {
    throw new AirlockError('E_KEY_NOT_FOUND', `the keystore ${keystore.dir} holds no root key that root v${previous.signed.version} or the proposal lists; is this the right medium?`);
  }
  const diff = diffRoots(previous, proposal.signed);
  note(describeRootChange(diff, rootSignatureStatus(previous.signed, proposal)).join('\n'));
  note(`you sign with: ${mine.map((k) => k.keyId).join(', ')}`);
  const passphrase = await readPassphrase({ fd: opts.passphraseFd }, `Check the change above. Passphrase for ${keystore.dir} to sign it (Ctrl-C to refuse): `);
  let signed;
  try {
    const signers = await unlockKeys(keystore, mine, passphrase);
    try {
      signed = await signRootProposal(previous.signed, proposal, signers, now);
    } finally {
      await closeSigners(signers);
    }
  } finally {
    passphrase.wipe();
  }
  const output = resolve(opts.output ?? file);
  await writeRootProposal(output, signed.proposal);
  const status = rootSignatureStatus(previous.signed, signed.proposal);
  emit(opts, { ok: true, file: output, signedWith: signed.signedWith, proposalDigest: diff.proposalDigest, signatures: status }, () => [
    `signed root v${proposal.signed.version} with ${signed.signedWith.length} key(s); wrote ${output}`,
    `  old root v${status.old.version}: ${status.old.signedBy.length} of ${status.old.threshold}; new root v${status.new.version}: ${status.new.signedBy.length} of ${status.new.threshold}`,
    status.complete ? `both thresholds are met: run \`airlock root publish ${output}\`` : 'pass the file to the next holder',
  ]);
}
