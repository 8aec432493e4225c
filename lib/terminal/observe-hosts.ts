// The hosts' timestamp.json, read before anything is signed (plan-refresh.ts): opening a
// transport reads only; an SFTP host needs the publish key, unlocked by the session.
import type { Signer } from '../keys/signer.js';
import { observeHostTimestamp, type TimestampSeen } from '../publish/plan.js';
import { openTransport, type HostSpec } from '../publish/publish.js';

export async function observeHostTimestamps(hosts: readonly HostSpec[], publishSigner: Signer | undefined): Promise<{ host: string; timestamp: TimestampSeen | undefined }[]> {
  const out: { host: string; timestamp: TimestampSeen | undefined }[] = [];
  for (const host of hosts) {
    const transport = await openTransport(host, publishSigner ? { publishSigner } : {});
    try {
      out.push({ host: host.name, timestamp: await observeHostTimestamp(transport) });
    } finally {
      await transport.close().catch(() => undefined);
    }
  }
  return out;
}
