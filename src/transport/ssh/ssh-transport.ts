import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import type { AuthHandlerMiddleware, Client, ClientChannel, ConnectConfig, ParsedKey } from 'ssh2';
import { shellJoin } from '../quote.js';
import { Limit } from '../limit.js';
import { waitDrain, type ShellChannel } from '../remote-shell.js';
import { ShellTransport } from '../shell-transport.js';
import { UnreachableError } from '../types.js';
import { fingerprint, KnownHosts, knownHostsName } from './known-hosts.js';

type Ssh2 = typeof import('ssh2');
let ssh2: Ssh2 | undefined;
/**
 * ssh2 loads when the first SSH connection is opened, not with the CLI: it costs about 0.1 s
 * of start-up that a --syntax-check, a local run or --version never needs. It is CommonJS,
 * so require() gives its classes directly, synchronously.
 */
function ssh(): Ssh2 {
  return (ssh2 ??= createRequire(import.meta.url)('ssh2') as Ssh2);
}

/** One authentication attempt, in the order OpenSSH tries them. */
interface AuthStep {
  label: string;
  method: { type: 'agent' | 'publickey' | 'password' | 'keyboard-interactive'; username: string; [k: string]: unknown };
}

/** One hop of a connection: a jump host or the target itself. */
export interface SshEndpoint {
  /** The name known_hosts entries are looked up under. */
  name: string;
  address: string;
  port: number;
  user: string;
  /** ssh_config's HashKnownHosts for this hop: accept-new records it hashed. */
  hashKnownHosts?: boolean;
}

export type HostKeyPolicy = 'strict' | 'accept-new' | 'off';

/** Everything needed to reach one host over SSH, resolved from inventory, ~/.ssh/config and flags. */
export interface SshOptions {
  host: string;
  target: SshEndpoint;
  jumps: SshEndpoint[];
  identityFiles: string[];
  password?: string | undefined;
  /** Passphrase for encrypted keys, asked for at most once per run. */
  passphrase?: () => Promise<string | undefined>;
  agentSocket?: string | undefined;
  hostKeyPolicy: HostKeyPolicy;
  knownHostsFiles: string[];
  connectTimeoutMs: number;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  warn: (message: string) => void;
}

/** sshd's MaxStartups starts refusing at 10 unauthenticated connections; stay under it. */
export const handshakes = new Limit(8);
/** sshd's MaxSessions is 10 channels per connection; we never hold more than 8. */
const MAX_CHANNELS = 8;
const CHANNEL_RETRIES = 5;

/** A private key, parsed (and decrypted, asking for its passphrase if it needs one). */
async function loadKey(file: string, passphrase: SshOptions['passphrase']): Promise<ParsedKey | undefined> {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch {
    return undefined;
  }
  const first = (k: ParsedKey | ParsedKey[] | Error) => (Array.isArray(k) ? k[0] : k);
  const plain = first(ssh().utils.parseKey(data));
  if (plain && !(plain instanceof Error)) return plain;
  if (!(plain instanceof Error) || !/encrypted|passphrase/i.test(plain.message) || !passphrase) return undefined;
  const pass = await passphrase();
  if (pass === undefined) return undefined;
  const decrypted = first(ssh().utils.parseKey(data, pass));
  if (!decrypted || decrypted instanceof Error) throw new Error(`cannot decrypt ${file}: wrong passphrase`);
  return decrypted;
}

/**
 * An SSH connection to one host (through any jump hosts), carrying persistent shells:
 * one connection per host for the whole run, never one channel per command.
 */
export class SshTransport extends ShellTransport {
  private readonly clients: Client[] = [];
  private client?: Client;
  private channels = new Limit(MAX_CHANNELS);
  private lostReason?: string;
  private keys?: Array<{ file: string; key: ParsedKey }>;

  constructor(private readonly opts: SshOptions) {
    super(opts.host);
  }

  /** Connects (through the jump chain), verifying every hop's host key under its own name. */
  async connect(): Promise<void> {
    const started = Date.now();
    let sock: Duplex | undefined;
    const hops = [...this.opts.jumps, this.opts.target];
    try {
      for (const [i, hop] of hops.entries()) {
        const client = await handshakes.run(() => this.handshake(hop, sock));
        this.clients.push(client);
        if (i < hops.length - 1) {
          const next = hops[i + 1]!;
          sock = await new Promise<Duplex>((resolve, reject) =>
            client.forwardOut('127.0.0.1', 0, next.address, next.port, (err, stream) =>
              err ? reject(this.unreachable(`jump host ${hop.name} cannot reach ${next.address}:${next.port}: ${err.message}`)) : resolve(stream),
            ),
          );
        } else this.client = client;
      }
    } catch (e) {
      // A later hop failed (its key, its login): the hops before it are open connections
      // that keep the process alive. Nobody else holds this transport yet, so close them here.
      sock?.destroy();
      await this.closeConnection();
      throw e;
    }
    this.stats.connectMs = Date.now() - started;
  }

  private unreachable(message: string, hint?: string): UnreachableError {
    return new UnreachableError(this.host, message, hint);
  }

  private handshake(hop: SshEndpoint, sock: Duplex | undefined): Promise<Client> {
    const client = new (ssh().Client)();
    // What was tried on this hop only: a jump host's login is not the target's.
    const tried: string[] = [];
    let hostKeyError: UnreachableError | undefined;
    const config: ConnectConfig = {
      host: hop.address,
      port: hop.port,
      username: hop.user,
      sock,
      readyTimeout: this.opts.connectTimeoutMs,
      keepaliveInterval: this.opts.keepaliveIntervalMs,
      keepaliveCountMax: this.opts.keepaliveCountMax,
      hostVerifier: (key: Buffer) => {
        hostKeyError = this.verifyHostKey(hop, key);
        return hostKeyError === undefined;
      },
      authHandler: this.authHandler(hop, tried),
    };
    return new Promise<Client>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.end();
        reject(this.unreachable(`no SSH answer from ${hop.address}:${hop.port} within ${this.opts.connectTimeoutMs / 1000} s`, 'check the address and that sshd runs there; raise ConnectTimeout in ~/.ssh/config for slow links'));
      }, this.opts.connectTimeoutMs + 1000);
      client.once('ready', () => {
        clearTimeout(timer);
        client.on('error', (e) => this.onLost(`${hop.name}: ${e.message}`));
        client.on('close', () => this.onLost(`${hop.name} closed the connection`));
        resolve(client);
      });
      client.once('error', (e: Error & { level?: string; code?: string }) => {
        clearTimeout(timer);
        // ssh2 does not always close a failed handshake's transport (a forwarded stream
        // through a jump host stays open): end it, or it holds the process open.
        client.end();
        reject(hostKeyError ?? this.describeConnectError(hop, e, tried));
      });
      client.connect(config);
    });
  }

  private describeConnectError(hop: SshEndpoint, e: Error & { level?: string; code?: string }, tried: string[]): UnreachableError {
    const where = `${hop.user}@${hop.address}:${hop.port}`;
    if (e.code === 'ECONNREFUSED') return this.unreachable(`connection refused by ${hop.address}:${hop.port}`, 'is sshd running and listening on that port?');
    if (e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH') return this.unreachable(`no route to ${hop.address}`, 'check ansible_host and the network');
    if (e.code === 'ENOTFOUND') return this.unreachable(`cannot resolve host name ${hop.address}`, 'check ansible_host or HostName in ~/.ssh/config');
    if (e.level === 'client-authentication') {
      return this.unreachable(`authentication failed for ${where} (tried: ${tried.join(', ') || 'nothing'})`, 'check ansible_user and the key (ansible_ssh_private_key_file, ssh-agent), or give a password with --ask-pass');
    }
    if (/Timed out while waiting for handshake/.test(e.message)) return this.unreachable(`no SSH handshake from ${hop.address}:${hop.port} within ${this.opts.connectTimeoutMs / 1000} s`);
    return this.unreachable(`cannot connect to ${where}: ${e.message}`);
  }

  /** OpenSSH's checks: strict by default; accept-new records unknown keys, never replaces known ones. */
  private verifyHostKey(hop: SshEndpoint, key: Buffer): UnreachableError | undefined {
    const known = new KnownHosts(this.opts.knownHostsFiles);
    const name = knownHostsName(hop.name, hop.port);
    const verdict = known.check(name, key);
    if (verdict.ok) return undefined;
    const fp = fingerprint(key);
    if (verdict.reason === 'revoked') {
      return this.unreachable(`host key for ${name} (${fp}) is marked @revoked in ${verdict.entry.file}:${verdict.entry.line}`, 'this key must not be trusted; find out why it is still in use');
    }
    if (verdict.reason === 'changed') {
      if (this.opts.hostKeyPolicy === 'off') {
        this.opts.warn(`HOST KEY CHECKING IS OFF: ${name} presented ${fp}, which differs from ${verdict.entry.file}:${verdict.entry.line}; connecting anyway`);
        return undefined;
      }
      return this.unreachable(
        `HOST KEY FOR ${name} HAS CHANGED: it presented ${fp}, but ${verdict.entry.file}:${verdict.entry.line} holds a different key. Someone may be intercepting the connection.`,
        `if the host was legitimately reinstalled, remove the old key with: ssh-keygen -R '${name}' -f ${verdict.entry.file}`,
      );
    }
    if (this.opts.hostKeyPolicy === 'accept-new') {
      const file = known.add(name, key, { hashed: hop.hashKnownHosts === true });
      this.opts.warn(`permanently added ${name} (${fp}) to ${file}`);
      return undefined;
    }
    if (this.opts.hostKeyPolicy === 'off') {
      this.opts.warn(`HOST KEY CHECKING IS OFF: connecting to ${name} (${fp}) without verifying its key`);
      return undefined;
    }
    return this.unreachable(
      `host key for ${name} is not known (${fp}); refusing to connect (checked ${this.opts.knownHostsFiles.join(', ')})`,
      `verify the fingerprint out of band, then add it: ssh-keyscan -p ${hop.port} ${hop.address} >> ${this.opts.knownHostsFiles[0]}; or run once with --host-key-checking accept-new`,
    );
  }

  /** OpenSSH's order: agent, identity files, keyboard-interactive, password. */
  private authHandler(hop: SshEndpoint, tried: string[]): AuthHandlerMiddleware {
    let steps: AuthStep[] | undefined;
    return (methodsLeft, _partial, next) => {
      void (async () => {
        steps ??= await this.authSteps(hop);
        while (steps.length > 0) {
          const step = steps.shift()!;
          if (methodsLeft && !methodsLeft.includes(step.method.type as never)) continue;
          tried.push(step.label);
          next(step.method as never);
          return;
        }
        next(false as never);
      })().catch((e: Error) => {
        tried.push(e.message);
        next(false as never);
      });
    };
  }

  private async authSteps(hop: SshEndpoint): Promise<AuthStep[]> {
    const username = hop.user;
    const steps: AuthStep[] = [];
    if (this.opts.agentSocket) steps.push({ label: 'ssh-agent', method: { type: 'agent', username, agent: this.opts.agentSocket } });
    for (const { file, key } of await this.loadKeys()) steps.push({ label: `key ${file}`, method: { type: 'publickey', username, key } });
    const password = this.opts.password;
    if (password !== undefined) {
      const prompt = (_n: string, _i: string, _l: string, prompts: unknown[], finish: (answers: string[]) => void) => finish(prompts.map(() => password));
      steps.push({ label: 'keyboard-interactive', method: { type: 'keyboard-interactive', username, prompt } });
      steps.push({ label: 'password', method: { type: 'password', username, password } });
    }
    return steps;
  }

  private async loadKeys(): Promise<Array<{ file: string; key: ParsedKey }>> {
    if (this.keys) return this.keys;
    const out: Array<{ file: string; key: ParsedKey }> = [];
    for (const file of this.opts.identityFiles) {
      const key = await loadKey(file, this.opts.passphrase);
      if (key) out.push({ file, key });
    }
    this.keys = out;
    return out;
  }

  private onLost(reason: string): void {
    this.lostReason ??= reason;
  }

  protected override connectionLost(): string | undefined {
    return this.lostReason;
  }

  protected async openChannel(argv: string[] | null): Promise<ShellChannel> {
    if (!this.client) await this.connect();
    const client = this.client!;
    if (this.lostReason) throw this.lost(this.lostReason);
    const command = argv ? shellJoin(argv) : 'sh';
    let release!: () => void;
    const slot = new Promise<void>((r) => (release = r));
    const channel = await new Promise<ClientChannel>((resolve, reject) => {
      void this.channels.run(async () => {
        try {
          resolve(await this.openExec(client, command));
        } catch (e) {
          reject(e);
          return;
        }
        await slot; // held until the channel closes
      });
    });
    let closeCb: (reason: string) => void = () => {};
    let closed = false;
    channel.on('close', () => {
      release();
      if (closed) return;
      closed = true;
      closeCb(this.lostReason ?? 'the remote shell exited');
    });
    return {
      write: (data) => channel.write(data),
      drained: () => waitDrain(channel),
      onData: (cb) => void channel.on('data', cb),
      onStderr: (cb) => void channel.stderr.on('data', cb),
      onClose: (cb) => {
        closeCb = cb;
      },
      close: () => {
        channel.end();
      },
    };
  }

  /** Opens an exec channel; "open failed" (e.g. MaxSessions) is retried with backoff. */
  private async openExec(client: Client, command: string): Promise<ClientChannel> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await new Promise<ClientChannel>((resolve, reject) => client.exec(command, (err, ch) => (err ? reject(err) : resolve(ch))));
      } catch (e) {
        const reason = (e as { reason?: number }).reason;
        if (reason !== 2 || attempt >= CHANNEL_RETRIES) throw this.lost(`cannot open a channel: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
  }

  protected async closeConnection(): Promise<void> {
    for (const c of this.clients.reverse()) c.end();
    this.clients.length = 0;
  }
}
