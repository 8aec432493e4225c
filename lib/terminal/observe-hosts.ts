// The hosts' timestamp.json, read before anything is signed (plan-refresh.ts): opening a
// transport reads only; an SFTP host needs the publish key, unlocked by the session.
// A copy behind a host (another terminal published, or the copy was restored from an old
// backup) is refused here — by a real run and by --dry-run alike — before a passphrase for
// the signing keys is read: signing on it would leave two timestamps of one version.
import { parseHostUrl } from '../publish/host-url.js';
import type { Signer } from '../keys/signer.js';
import { observeHostTimestamp, refuseHostAhead, type TimestampSeen } from '../publish/plan.js';
import { openTransport, type HostSpec } from '../publish/publish.js';

export interface HostTimestamp {
  host: string;
  /** Undefined: the host holds no timestamp.json yet. */
  timestamp: TimestampSeen | undefined;
}

export async function observeHostTimestamps(hosts: readonly HostSpec[], publishSigner: Signer | undefined): Promise<HostTimestamp[]> {
  const out: HostTimestamp[] = [];
  for (const host of hosts) {
    const transport = await openTransport(host, publishSigner ? { publishSigner, readOnly: true } : { readOnly: true });
    try {
      out.push({ host: host.name, timestamp: await observeHostTimestamp(transport) });
    } finally {
      await transport.close().catch(() => undefined);
    }
  }
  return out;
}

/** The hosts that are read with the publish key (SFTP); the others need no key. */
export function hostNeedsKey(host: HostSpec): boolean {
  return parseHostUrl(host.url).kind === 'sftp';
}

/**
 * Reads each host's timestamp.json and refuses (E_PUBLISH_STALE) when one is ahead of
 * `local`: the hosts that need no key when `publishSigner` is undefined, the SFTP ones
 * when it is given. Returns what was seen, for the printed plan.
 */
export async function refuseStaleCopy(local: TimestampSeen, hosts: readonly HostSpec[], publishSigner: Signer | undefined): Promise<HostTimestamp[]> {
  const seen = await observeHostTimestamps(
    hosts.filter((h) => hostNeedsKey(h) === (publishSigner !== undefined)),
    publishSigner,
  );
  for (const o of seen) refuseHostAhead(o.host, o.timestamp, local);
  return seen;
}
