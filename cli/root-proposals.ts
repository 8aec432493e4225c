// Root proposals as the ceremony commands (root show, sign, propose, publish) read and
// show them: the merged proposal and the root it follows, and the diff a holder reads.
import { resolve } from 'node:path';
import type { Envelope, RootSigned } from '../lib/core/tuf-metadata.js';
import {
  mergeRootProposals,
  previousRootFor,
  readRootProposal,
  type RootDiff,
  type RootSignatureStatus,
} from '../lib/repo/root-ceremony.js';
import { terminalPaths } from '../lib/terminal/home.js';

const short = (id: string) => `${id.slice(0, 16)}…`;

/** The human-readable diff a holder reads before signing: keys, thresholds, expiry. */
export function describeRootChange(diff: RootDiff, status: RootSignatureStatus): string[] {
  const lines = [
    `root proposal: v${diff.from.version} → v${diff.to.version}`,
    `  proposal digest  ${diff.proposalDigest}   (every holder must see the same)`,
    `  previous root    v${diff.from.version}, file SHA-256 ${diff.from.fingerprint}`,
    `  expires          ${diff.from.expires} → ${diff.to.expires}`,
  ];
  for (const r of diff.roles) {
    const changed = r.added.length > 0 || r.removed.length > 0 || r.threshold.from !== r.threshold.to;
    lines.push(`  ${r.role.padEnd(10)} threshold ${r.threshold.from} → ${r.threshold.to}, ${r.kept.length + r.added.length} key(s)${changed ? '' : '   (unchanged)'}`);
    for (const k of r.added) lines.push(`      + add     ${k}`);
    for (const k of r.removed) lines.push(`      - remove  ${k}`);
    if (changed) for (const k of r.kept) lines.push(`        keep    ${short(k)}`);
  }
  for (const [label, c] of [['old', status.old], ['new', status.new]] as const) {
    lines.push(
      `  signatures (${label} root v${c.version}): ${c.signedBy.length} signed, ${c.threshold} needed${c.met ? ' — met' : ''}` +
        (c.missing.length > 0 ? `; not yet signed: ${c.missing.map(short).join(', ')}` : ''),
    );
  }
  return lines;
}


export async function loadProposal(files: readonly string[], previousFile: string | undefined): Promise<{ proposal: Envelope<RootSigned>; previous: Envelope<RootSigned> }> {
  const proposal = mergeRootProposals(await Promise.all(files.map((f) => readRootProposal(resolve(f)))));
  const previous = await previousRootFor(proposal.signed, previousFile === undefined ? { repoDir: terminalPaths().repository } : { file: resolve(previousFile) });
  return { proposal, previous };
}

