// The release terminal's home ($AIRLOCK_HOME, default ~/.airlock): where its keystore,
// its configuration and its local copy of the whole host tree live. The local copy is
// the authority; publishing makes each host converge to it.
import { join } from 'node:path';
import { airlockHome } from '../keys/location.js';

export interface TerminalPaths {
  home: string;
  config: string;
  keystore: string;
  repository: string;
  staging: string;
  hosts: string;
}

export function terminalPaths(home: string = airlockHome()): TerminalPaths {
  return {
    home,
    config: join(home, 'airlock.json'),
    keystore: join(home, 'keystore'),
    repository: join(home, 'repository'),
    staging: join(home, 'staging'),
    hosts: join(home, 'hosts.json'),
  };
}
