// The `.repo` file dnf/yum users drop into /etc/yum.repos.d/. Spec: dnf.conf(5) "REPO
// OPTIONS" (an INI section named by the repository id with name, baseurl, enabled,
// gpgcheck, repo_gpgcheck, gpgkey). Both checks are on: gpgcheck makes dnf check every
// package's header signature, repo_gpgcheck the signature of repodata/repomd.xml, which
// pins every metadata file by its checksum.
import { AirlockError } from '../../core/errors.js';

export interface RpmRepoFile {
  /** The repository id: the project name. */
  id: string;
  name: string;
  /** URL of the rpm/ directory on the host. */
  baseUrl: string;
  /** URL of the OpenPGP key (keys/release-signing.asc). */
  gpgKey: string;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._+~-]*$/;

function assertLine(what: string, value: string): void {
  // eslint-disable-next-line no-control-regex
  if (value === '' || /[\x00-\x1f\x7f]/.test(value) || value !== value.trim()) throw new AirlockError('E_CONFIG', `the rpm repository ${what} ${JSON.stringify(value)} must be one line of printable text`);
}

export function formatRpmRepoFile(r: RpmRepoFile): string {
  if (!ID.test(r.id)) throw new AirlockError('E_CONFIG', `the rpm repository id ${JSON.stringify(r.id)} may hold only letters, digits and . _ + ~ -`);
  assertLine('name', r.name);
  for (const [what, url] of [['baseurl', r.baseUrl], ['gpgkey', r.gpgKey]] as const) {
    assertLine(what, url);
    if (!/^https?:\/\/[^\s]+$/.test(url)) throw new AirlockError('E_CONFIG', `the rpm repository ${what} must be an http(s) URL (set publicUrl in airlock.json)`);
  }
  return [`[${r.id}]`, `name=${r.name}`, `baseurl=${r.baseUrl}`, 'enabled=1', 'gpgcheck=1', 'repo_gpgcheck=1', `gpgkey=${r.gpgKey}`, ''].join('\n');
}

export function parseRpmRepoFile(text: string): RpmRepoFile & { gpgcheck: boolean; repoGpgcheck: boolean } {
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const id = /^\[(.+)\]$/.exec(lines[0] ?? '')?.[1];
  const kv = new Map(lines.slice(1).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const [name, baseUrl, gpgKey] = [kv.get('name'), kv.get('baseurl'), kv.get('gpgkey')];
  if (!id || !name || !baseUrl || !gpgKey) throw new AirlockError('E_CONFIG', 'not a .repo file airlock wrote ([id], name, baseurl, gpgkey)');
  return { id, name, baseUrl, gpgKey, gpgcheck: kv.get('gpgcheck') === '1', repoGpgcheck: kv.get('repo_gpgcheck') === '1' };
}
