import { LocalTransport } from './local.js';
import { resolveSshOptions, type SshDefaults } from './ssh/options.js';
import { SshTransport } from './ssh/ssh-transport.js';
import { UnreachableError, type Transport } from './types.js';

/** How to reach a host, from its variables and the run's options. */
export interface ConnectionSpec {
  host: string;
  connection: string;
  address: string;
  port: number;
  user?: string | undefined;
  vars: Record<string, unknown>;
}

export type Connector = (spec: ConnectionSpec) => Promise<Transport>;

/** The connection types a run can use, with its run-wide SSH settings. */
export function connector(ssh: SshDefaults): Connector {
  return async (spec) => {
    const type = spec.connection === 'smart' || spec.connection === 'paramiko' ? 'ssh' : spec.connection;
    if (type === 'local') return new LocalTransport(spec.host);
    if (type === 'ssh') {
      const t = new SshTransport(resolveSshOptions(spec, ssh));
      await t.connect();
      return t;
    }
    throw new UnreachableError(spec.host, `connection type '${spec.connection}' is not supported`, 'use ssh or local');
  };
}
