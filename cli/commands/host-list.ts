// `airlock host list`: the registered hosts and their pinned host keys.
import { fingerprintOf } from '../../lib/publish/host-key.js';
import { readHosts } from '../../lib/publish/hosts.js';
import { terminalPaths } from '../../lib/terminal/home.js';
import { emit } from '../run.js';

export interface HostListOptions {
  json?: boolean;
}

function fingerprint(pin: string | undefined): string | undefined {
  if (pin === undefined) return undefined;
  return pin.startsWith('SHA256:') ? pin : fingerprintOf(Buffer.from(pin.split(' ')[1]!, 'base64'));
}

export async function hostList(opts: HostListOptions): Promise<void> {
  const hosts = await readHosts(terminalPaths().hosts);
  const rows = hosts.map((h) => ({ ...h, hostKeyFingerprint: fingerprint(h.hostKey) ?? null }));
  emit(opts, { ok: true, hosts: rows }, () =>
    rows.length === 0 ? ['no hosts; add one with `airlock host add NAME URL`'] : rows.map((h) => `${h.name}\t${h.url}${h.hostKeyFingerprint ? `\t${h.hostKeyFingerprint}` : ''}${h.s3 ? `\t${h.s3.endpoint}` : ''}`),
  );
}
