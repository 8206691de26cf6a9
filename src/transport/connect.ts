import { LocalTransport } from './local.js';
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

const connectors = new Map<string, Connector>([['local', async (spec) => new LocalTransport(spec.host)]]);

/** Lets a transport plug in (ssh registers itself) without the engine knowing it. */
export function registerConnector(name: string, connector: Connector): void {
  connectors.set(name, connector);
}

export async function connect(spec: ConnectionSpec): Promise<Transport> {
  const name = spec.connection === 'smart' || spec.connection === 'paramiko' ? 'ssh' : spec.connection;
  const connector = connectors.get(name);
  if (!connector) throw new UnreachableError(spec.host, `connection type '${spec.connection}' is not available`, `use one of: ${[...connectors.keys()].join(', ')}`);
  return connector(spec);
}
