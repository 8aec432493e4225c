// The signed provenance file: the in-toto statement in a DSSE envelope signed by the
// targets key (docs/provenance.md), one JSON line (`.intoto.jsonl`). Signing
// goes through the Signer; verifying needs only public keys, so `airlock reproduce`
// runs with no keystore.
import { AirlockError } from '../core/errors.js';
import type { Signer } from '../keys/signer.js';
import { parseDsse, provenanceSubject, serializeDsse, signDsse, verifyDsse, type DsseEnvelope, type TrustedKey } from './dsse.js';
import { IN_TOTO_PAYLOAD_TYPE, parseStatement, statementBytes, type InTotoStatement, type RecordedBuild } from './provenance.js';

/** File name of a release's provenance: `<project>-<version>.intoto.jsonl`. */
export function provenanceFileName(project: string, version: string): string {
  return `${project}-${version}.intoto.jsonl`;
}

/** Signs the statement; returns the envelope file's bytes. */
export async function signProvenance(statement: InTotoStatement, signer: Signer): Promise<Uint8Array> {
  const payload = statementBytes(statement);
  const env = statement.predicate.buildDefinition.internalParameters.env;
  const project = env.AIRLOCK_PROJECT ?? 'unknown';
  const version = env.AIRLOCK_VERSION ?? 'unknown';
  const envelope = await signDsse(IN_TOTO_PAYLOAD_TYPE, payload, signer, provenanceSubject(`${project}/${version}/${provenanceFileName(project, version)}`, version, payload));
  return serializeDsse(envelope);
}

export interface VerifiedProvenance {
  statement: InTotoStatement;
  recorded: RecordedBuild;
  envelope: DsseEnvelope;
  /** Ids of the trusted keys whose signatures verified. */
  keyIds: string[];
}

/**
 * Parses a provenance envelope and verifies its signature(s) against the trusted keys
 * (e.g. the targets keys of a verified root) before reading the statement inside.
 */
export function parseProvenanceEnvelope(bytes: Uint8Array, trusted: TrustedKey | readonly TrustedKey[], options: { threshold?: number } = {}): VerifiedProvenance {
  const envelope = parseDsse(bytes);
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new AirlockError('E_PROVENANCE', `the envelope's payloadType is "${envelope.payloadType}", not ${IN_TOTO_PAYLOAD_TYPE}`);
  }
  const keys = Array.isArray(trusted) ? trusted : [trusted as TrustedKey];
  const { payload, keyIds } = verifyDsse(envelope, keys, options.threshold ?? 1);
  return { ...readStatement(payload), envelope, keyIds };
}

/**
 * Reads a provenance envelope whose bytes are already trusted by other means — a TUF
 * target whose length and hashes the trusted targets metadata vouches for — without
 * requiring its signature; the caller reports who signed it (lib/reproduce).
 */
export function parseTrustedProvenanceEnvelope(bytes: Uint8Array): Omit<VerifiedProvenance, 'keyIds'> {
  const envelope = parseDsse(bytes);
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new AirlockError('E_PROVENANCE', `the envelope's payloadType is "${envelope.payloadType}", not ${IN_TOTO_PAYLOAD_TYPE}`);
  }
  return { ...readStatement(Buffer.from(envelope.payload, 'base64')), envelope };
}

function readStatement(payload: Uint8Array): { statement: InTotoStatement; recorded: RecordedBuild } {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch (err) {
    throw new AirlockError('E_PROVENANCE', 'the signed provenance payload is not JSON', { cause: err });
  }
  return parseStatement(json);
}
