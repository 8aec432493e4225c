// `airlock root show FILE…`: what a root proposal changes and who has signed it, without
// signing. The same text `airlock root sign` shows a holder before asking the passphrase.
import { diffRoots, rootSignatureStatus } from '../../lib/repo/root-ceremony.js';
import { describeRootChange, loadProposal } from '../root-proposals.js';
import { emit } from '../run.js';

export interface RootShowOptions {
  previous?: string;
  json?: boolean;
}

export async function rootShow(files: string[], opts: RootShowOptions): Promise<void> {
  const { proposal, previous } = await loadProposal(files, opts.previous);
  const diff = diffRoots(previous, proposal.signed);
  const status = rootSignatureStatus(previous.signed, proposal);
  emit(opts, { ok: true, diff, signatures: status }, () => describeRootChange(diff, status));
}
