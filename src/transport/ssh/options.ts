import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { ConnectionSpec } from '../connect.js';
import { sshConfigFor, expandHome, type SshHostConfig } from './config.js';
import type { HostKeyPolicy, SshEndpoint, SshOptions } from './ssh-transport.js';

/** Run-wide SSH settings from the command line. */
export interface SshDefaults {
  hostKeyPolicy?: HostKeyPolicy | undefined;
  privateKey?: string | undefined;
  password?: string | undefined;
  passphrase?: () => Promise<string | undefined>;
  configFiles?: string[];
  home?: string;
  /** ssh-agent socket; SSH_AUTH_SOCK when not given, none when null. */
  agentSocket?: string | null;
  warn: (message: string) => void;
}

/** Connect timeout and keepalive when nothing else says: documented in docs/ssh.md. */
export const DEFAULT_CONNECT_TIMEOUT_S = 10;
export const DEFAULT_KEEPALIVE_INTERVAL_S = 5;
export const DEFAULT_KEEPALIVE_COUNT_MAX = 3;

interface CommonArgs {
  jump?: string;
  identity?: string;
  port?: number;
  options: Record<string, string>;
}

/** The parts of `ansible_ssh_common_args` (OpenSSH flags) that we honour. */
export function parseCommonArgs(text: string, warn: (m: string) => void): CommonArgs {
  const words = text.match(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g)?.map((w) => w.replace(/^(["'])(.*)\1$/, '$2')) ?? [];
  const out: CommonArgs = { options: {} };
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const value = () => words[++i] ?? '';
    if (w === '-J') out.jump = value();
    else if (w.startsWith('-J')) out.jump = w.slice(2);
    else if (w === '-i') out.identity = value();
    else if (w === '-p') out.port = Number(value());
    else if (w === '-o' || w.startsWith('-o')) {
      const opt = w === '-o' ? value() : w.slice(2);
      const m = /^(\w+)\s*[= ]\s*(.*)$/.exec(opt);
      if (m) out.options[m[1]!.toLowerCase()] = m[2]!;
    } else warn(`ansible_ssh_common_args: '${w}' is not supported and was ignored`);
  }
  if (out.options.proxyjump) out.jump ??= out.options.proxyjump;
  if (out.options.proxycommand) warn('ProxyCommand is not supported; use ProxyJump (-J)');
  return out;
}

function policyOf(value: string | undefined): HostKeyPolicy | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (v === 'yes' || v === 'ask' || v === 'strict') return 'strict';
  if (v === 'accept-new') return 'accept-new';
  if (v === 'no' || v === 'off' || v === 'false') return 'off';
  return undefined;
}

function endpoint(spec: string, cfgFiles: string[] | undefined, home: string, fallbackUser: string, hashOption: boolean | undefined): SshEndpoint {
  const m = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(spec.trim());
  const name = (m?.[2] ?? spec).replace(/^\[|\]$/g, '');
  const cfg = sshConfigFor(name, cfgFiles, home);
  return {
    name: cfg.hostName ?? name,
    address: cfg.hostName ?? name,
    port: Number(m?.[3] ?? cfg.port ?? 22),
    user: m?.[1] ?? cfg.user ?? fallbackUser,
    hashKnownHosts: hashOption ?? cfg.hashKnownHosts ?? false,
  };
}

/** Everything SSH needs for one host: inventory variables over ~/.ssh/config over defaults. */
export function resolveSshOptions(spec: ConnectionSpec, d: SshDefaults): SshOptions {
  const home = d.home ?? homedir();
  const v = spec.vars;
  const str = (k: string) => (v[k] === undefined || v[k] === null ? undefined : String(v[k]));
  const common = parseCommonArgs([str('ansible_ssh_common_args'), str('ansible_ssh_extra_args')].filter(Boolean).join(' '), d.warn);
  const addressGiven = str('ansible_host') !== undefined;
  const cfg: SshHostConfig = sshConfigFor(spec.host, d.configFiles, home);
  for (const w of cfg.warnings) d.warn(w);
  const localUser = userInfo().username;
  // `-o HashKnownHosts=...` on the command line applies to every hop, as with ssh itself.
  const hashOption = common.options.hashknownhosts === undefined ? undefined : /^yes$/i.test(common.options.hashknownhosts.trim());
  const address = addressGiven ? spec.address : (cfg.hostName ?? spec.address);
  const target: SshEndpoint = {
    name: address,
    address,
    port: Number(str('ansible_port') ?? common.port ?? cfg.port ?? 22),
    user: str('ansible_user') ?? spec.user ?? cfg.user ?? localUser,
    hashKnownHosts: hashOption ?? cfg.hashKnownHosts ?? false,
  };
  const jumpSpec = common.jump ?? cfg.proxyJump;
  const jumps = jumpSpec ? jumpSpec.split(',').map((j) => endpoint(j, d.configFiles, home, localUser, hashOption)) : [];
  const identityFiles = [
    str('ansible_ssh_private_key_file'),
    common.identity,
    d.privateKey,
    ...cfg.identityFiles,
    ...['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(home, '.ssh', f)),
  ]
    .filter((f): f is string => !!f)
    .map((f) => expandHome(f, home));
  const userKnown = common.options.userknownhostsfile?.split(/\s+/) ?? cfg.userKnownHostsFiles ?? [join(home, '.ssh', 'known_hosts')];
  const envPolicy = process.env.ANSIBLE_HOST_KEY_CHECKING && /^(false|no|0)$/i.test(process.env.ANSIBLE_HOST_KEY_CHECKING) ? 'off' : undefined;
  return {
    host: spec.host,
    target,
    jumps,
    identityFiles: [...new Set(identityFiles)],
    password: str('ansible_password') ?? str('ansible_ssh_pass') ?? d.password,
    passphrase: d.passphrase,
    agentSocket: d.agentSocket === null ? undefined : (d.agentSocket ?? (process.env.SSH_AUTH_SOCK || undefined)),
    hostKeyPolicy: d.hostKeyPolicy ?? policyOf(common.options.stricthostkeychecking) ?? policyOf(cfg.strictHostKeyChecking) ?? envPolicy ?? 'strict',
    knownHostsFiles: [...userKnown.map((f) => expandHome(f, home)), '/etc/ssh/ssh_known_hosts'],
    connectTimeoutMs: 1000 * Number(str('ansible_ssh_timeout') ?? common.options.connecttimeout ?? cfg.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_S),
    keepaliveIntervalMs: 1000 * Number(common.options.serveraliveinterval ?? cfg.serverAliveInterval ?? DEFAULT_KEEPALIVE_INTERVAL_S),
    keepaliveCountMax: Number(common.options.serveralivecountmax ?? cfg.serverAliveCountMax ?? DEFAULT_KEEPALIVE_COUNT_MAX),
    warn: d.warn,
  };
}
