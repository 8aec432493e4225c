// A root proposal comes from another device: it is untrusted input to each holder. What a
// holder is shown (keys, thresholds, expiry per role) must be all that a signature
// commits to, and a proposal must never leave a role whose threshold cannot be met.
import { describe, expect, it } from 'vitest';
import { AirlockError } from '../../lib/core/errors.js';
import { tufKeyId, type TufKey } from '../../lib/core/tuf-key.js';
import type { Envelope, RootSigned } from '../../lib/core/tuf-metadata.js';
import { checkRootProposal, previousRootFor, readRootProposal, signRootProposal } from '../../lib/repo/root-ceremony.js';
import { buildRoot } from '../../lib/repo/top-level.js';
import { codeOfSync as codeOf } from '../support/error-codes.js';
import { memorySigner } from '../support/memory-signer.js';

const root = memorySigner('root');
const roles = { root: root, targets: memorySigner('targets'), snapshot: memorySigner('snapshot'), timestamp: memorySigner('timestamp') };
const expires = new Date(Date.now() + 30 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

function rootV(version: number): RootSigned {
  return buildRoot({
    version,
    expires,
    roles: {
      root: { keys: [roles.root.tufKey], threshold: 1 },
      targets: { keys: [roles.targets.tufKey], threshold: 1 },
      snapshot: { keys: [roles.snapshot.tufKey], threshold: 1 },
      timestamp: { keys: [roles.timestamp.tufKey], threshold: 1 },
    },
  });
}

const previous = rootV(1);

describe('a root proposal from another device', () => {
  it('is sound as airlock proposes it', () => {
    expect(codeOf(() => checkRootProposal(previous, rootV(2)))).toBe('ok');
  });

  it('cannot count one key twice toward a threshold by listing it under a second key id', () => {
    const p = rootV(2);
    // The same public key in a second key object (an extra field gives another id).
    const twin = { ...roles.targets.tufKey, keyid_hash_algorithms: ['sha256'] } as unknown as TufKey;
    const twinId = tufKeyId(twin);
    p.keys[twinId] = twin;
    p.roles.targets = { keyids: [...p.roles.targets.keyids, twinId], threshold: 2 };
    expect(codeOf(() => checkRootProposal(previous, p))).toBe('E_ROOT_PROPOSAL');
  });

  it('cannot carry anything a holder is not shown: unknown fields, extra roles, unlisted keys, another spec major', () => {
    const extraField = { ...rootV(2), note: 'not shown' } as RootSigned;
    const extraRole = rootV(2);
    (extraRole.roles as Record<string, unknown>).mirror = { keyids: [roles.root.keyId], threshold: 1 };
    const unlisted = rootV(2);
    const stray = memorySigner('root').tufKey;
    unlisted.keys[tufKeyId(stray)] = stray;
    const spec = { ...rootV(2), spec_version: '2.0.0' };
    for (const p of [extraField, extraRole, unlisted, spec]) expect(codeOf(() => checkRootProposal(previous, p))).toBe('E_ROOT_PROPOSAL');
  });

  it('with any of those, no holder signs it', async () => {
    const p = { ...rootV(2), note: 'not shown' } as RootSigned;
    const env: Envelope<RootSigned> = { signatures: [], signed: p };
    await expect(signRootProposal(previous, env, [root], new Date())).rejects.toMatchObject({ code: 'E_ROOT_PROPOSAL' });
    expect(root.requests).toHaveLength(0);
  });

  it('refuses a role left without keys or with threshold 0', () => {
    const empty = rootV(2);
    empty.roles.timestamp = { keyids: [], threshold: 1 };
    delete empty.keys[roles.timestamp.keyId];
    const zero = rootV(2);
    zero.roles.root = { ...zero.roles.root, threshold: 0 };
    for (const p of [empty, zero]) expect(codeOf(() => checkRootProposal(previous, p))).toBe('E_ROOT_PROPOSAL');
  });
});

describe('a root file handed over from another device', () => {
  it('that is a FIFO or a device is refused at once, not waited on or read without end', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'airlock-proposal-'));
    try {
      const fifo = join(dir, '2.root.json');
      execFileSync('mkfifo', [fifo]);
      await expect(readRootProposal(fifo)).rejects.toMatchObject({ code: 'E_ROOT_PROPOSAL' });
      await expect(readRootProposal('/dev/zero')).rejects.toMatchObject({ code: 'E_ROOT_PROPOSAL' });
      await expect(previousRootFor(rootV(2), { file: '/dev/zero' })).rejects.toMatchObject({ code: 'E_ROOT_PROPOSAL' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 10_000);
});
