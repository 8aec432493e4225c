import { AirlockError } from '../core/errors.js';
import type { HostLocation } from './host-url.js';
import type { HostSpec, OpenTransportOptions } from './publish.js';
import type { Transport } from './transport.js';

export class SftpTransport {
  static async connect(host: HostSpec, _loc: Extract<HostLocation, { kind: 'sftp' }>, _opts: OpenTransportOptions): Promise<Transport> {
    throw new AirlockError('E_CONFIG', `host ${host.name}: SFTP publishing is not available in this build`);
  }
}
