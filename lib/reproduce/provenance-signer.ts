// Whose DSSE signature a release's provenance carries, now that trust in its bytes comes
// from TUF: the provenance is a target, so the current trusted targets metadata vouches
// for its length and hashes (checked while it downloads, TUF §5.7), whatever key signed
// the envelope when the release was built. After `airlock key rotate targets` every
// older provenance is signed by the retired key — refusing it (as reproduce did) would
// turn the daily CI job red for good. So the signer is reported, not required:
//   current — the targets key(s) of the trusted root, at its threshold;
//   retired — targets key(s) of an earlier root in the chain this client verified from
//             its pinned root (TUF §5.3: each root checked by its predecessor);
//   unlisted — key ids of no root this client verified (a root pinned after the
//             rotation); the signature cannot be checked, the bytes are still TUF's.
// A signature by a key this client knows that does not verify is refused: the envelope
// was altered, or never signed by that key.
import { AirlockError, isAirlockError } from '../core/errors.js';
import { metadataFileName, type RootSigned } from '../core/tuf-metadata.js';
import { rawKeyOfTufKey } from '../core/key-type.js';
import { verifyDsse, type DsseEnvelope, type TrustedKey } from '../builder/index.js';
import { DEFAULT_LIMITS, TrustedMetadataSet, type Source } from '../verify/index.js';

/** Root versions followed at most when collecting the chain (a bound on a hostile host). */
const MAX_ROOT_CHAIN = 1024;

/** The targets keys and threshold of a verified root, as DSSE verification takes them. */
export function targetsKeysOf(root: RootSigned): { keys: TrustedKey[]; threshold: number } {
  const role = root.roles.targets;
  const keys: TrustedKey[] = [];
  for (const id of role.keyids) {
    const k = Object.hasOwn(root.keys, id) ? root.keys[id] : undefined;
    // The kinds airlock signs with (docs/formats.md): Ed25519 and ECDSA P-256.
    const raw = k === undefined ? undefined : rawKeyOfTufKey(k);
    if (raw !== undefined) keys.push({ keyId: id, keyType: raw.type, publicKey: raw.raw });
  }
  return { keys, threshold: role.threshold };
}


export interface ProvenanceSigner {
  key: 'current' | 'retired' | 'unlisted';
  /** Key ids whose signatures verified ('unlisted': the ids the envelope names). */
  keyIds: string[];
  /** For a retired key: the root versions that listed it as a targets key. */
  rootVersions?: number[];
}

export function identifyProvenanceSigner(envelope: DsseEnvelope, current: RootSigned, earlierRoots: readonly RootSigned[] = []): ProvenanceSigner {
  const now = targetsKeysOf(current);
  try {
    return { key: 'current', keyIds: verifyDsse(envelope, now.keys, now.threshold).keyIds };
  } catch (err) {
    if (!isAirlockError(err, 'E_PROVENANCE')) throw err;
    if (envelope.signatures.some((s) => now.keys.some((k) => k.keyId === s.keyid))) throw err; // a current key's signature that does not verify
  }
  for (const root of [...earlierRoots].sort((a, b) => b.version - a.version)) {
    const then = targetsKeysOf(root);
    const signed = envelope.signatures.filter((s) => then.keys.some((k) => k.keyId === s.keyid));
    if (signed.length === 0) continue;
    // Throws E_PROVENANCE when a listed key's signature does not verify.
    const { keyIds } = verifyDsse(envelope, then.keys, then.threshold);
    const rootVersions = earlierRoots.filter((r) => r.roles.targets.keyids.some((id) => keyIds.includes(id))).map((r) => r.version).sort((a, b) => a - b);
    return { key: 'retired', keyIds, rootVersions };
  }
  return { key: 'unlisted', keyIds: envelope.signatures.map((s) => s.keyid) };
}

async function fetchCapped(source: Source, path: string[], max: number): Promise<Uint8Array | undefined> {
  const controller = new AbortController();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of source.fetch({ path, signal: controller.signal })) {
      size += chunk.length;
      if (size > max) {
        controller.abort();
        throw new AirlockError('E_TOO_LARGE', `${path.join('/')} on ${source.name} is larger than ${max} bytes`);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (isAirlockError(err, 'E_NOT_FOUND')) return undefined;
    throw err;
  }
  return Buffer.concat(chunks);
}

/**
 * Every root from the pinned one to the newest, each verified by its predecessor (TUF
 * §5.3.4) — the only sound source of keys a repository used before a rotation (an older
 * root read on its own proves nothing). Expiry of the intermediate roots does not matter
 * (§5.3.10 judges only the final one, which the update itself checks).
 */
export async function verifiedRootChain(pinnedRoot: Uint8Array, source: Source, now: Date = new Date()): Promise<RootSigned[]> {
  const set = new TrustedMetadataSet(pinnedRoot, now);
  const chain = [set.root];
  for (let i = 0; i < MAX_ROOT_CHAIN; i++) {
    const bytes = await fetchCapped(source, ['metadata', metadataFileName('root', set.root.version + 1)], DEFAULT_LIMITS.rootMaxBytes);
    if (bytes === undefined) break;
    set.updateRoot(bytes);
    chain.push(set.root);
  }
  return chain;
}
