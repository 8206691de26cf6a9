import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';

/** The ~/.ssh/config settings senex-play honours for a host. */
export interface SshHostConfig {
  hostName?: string;
  user?: string;
  port?: number;
  identityFiles: string[];
  proxyJump?: string;
  userKnownHostsFiles?: string[];
  strictHostKeyChecking?: 'yes' | 'no' | 'accept-new' | 'ask' | 'off';
  /** HashKnownHosts: new known_hosts lines name the host as `|1|salt|hash` (Debian's default). */
  hashKnownHosts?: boolean;
  connectTimeout?: number;
  serverAliveInterval?: number;
  serverAliveCountMax?: number;
  /** What we read but cannot honour (Match blocks), to say so. */
  warnings: string[];
}

interface Line {
  key: string;
  value: string;
  file: string;
  line: number;
}

export function expandHome(p: string, home = homedir()): string {
  return p === '~' ? home : p.startsWith('~/') ? join(home, p.slice(2)) : p;
}

function unquote(v: string): string {
  return v.replace(/^"(.*)"$/, '$1');
}

function glob(pattern: string, name: string): boolean {
  return new RegExp(`^${pattern.replace(/[.+^${}()|\\[\]]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(name);
}

/** Reads a config file, following Include (globs; relative to ~/.ssh), into flat lines. */
function readLines(file: string, home: string, depth = 0): Line[] {
  if (!existsSync(file) || depth > 16) return [];
  const out: Line[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      const text = raw.trim();
      if (!text || text.startsWith('#')) return;
      const m = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(text);
      if (!m) return;
      const key = m[1]!.toLowerCase();
      const value = m[2]!.trim();
      if (key === 'include') {
        for (const pattern of value.split(/\s+/).map(unquote)) {
          const full = isAbsolute(expandHome(pattern, home)) ? expandHome(pattern, home) : join(home, '.ssh', pattern);
          const dir = dirname(full);
          const names = /[*?]/.test(basename(full)) && existsSync(dir) ? readdirSync(dir).filter((n) => glob(basename(full), n)).sort() : [basename(full)];
          for (const n of names) out.push(...readLines(join(dir, n), home, depth + 1));
        }
        return;
      }
      out.push({ key, value, file, line: i + 1 });
    });
  return out;
}

function hostMatches(patterns: string, host: string): boolean {
  let matched = false;
  for (const p of patterns.split(/\s+/).map(unquote)) {
    if (p.startsWith('!')) {
      if (glob(p.slice(1), host)) return false;
    } else if (glob(p, host)) matched = true;
  }
  return matched;
}

/**
 * Resolves ~/.ssh/config (and /etc/ssh/ssh_config) for a host with OpenSSH's rules: the
 * first value obtained for a key wins; Host patterns with * ? and !; Include followed;
 * ~ and %h %p %r %u %d expanded. Match blocks are skipped with a warning.
 */
export function sshConfigFor(host: string, files = [join(homedir(), '.ssh', 'config'), '/etc/ssh/ssh_config'], home = homedir()): SshHostConfig {
  const cfg: SshHostConfig = { identityFiles: [], warnings: [] };
  const seen = new Set<string>();
  for (const file of files) {
    let active = true;
    for (const l of readLines(file, home)) {
      if (l.key === 'host') {
        active = hostMatches(l.value, host);
        continue;
      }
      if (l.key === 'match') {
        active = false;
        cfg.warnings.push(`${l.file}:${l.line}: 'Match' blocks are not supported; its settings are ignored`);
        continue;
      }
      if (!active) continue;
      if (l.key === 'identityfile') {
        cfg.identityFiles.push(unquote(l.value));
        continue;
      }
      if (seen.has(l.key)) continue;
      seen.add(l.key);
      const v = unquote(l.value);
      switch (l.key) {
        case 'hostname':
          cfg.hostName = v;
          break;
        case 'user':
          cfg.user = v;
          break;
        case 'port':
          cfg.port = Number(v);
          break;
        case 'proxyjump':
          if (v.toLowerCase() !== 'none') cfg.proxyJump = v;
          break;
        case 'userknownhostsfile':
          cfg.userKnownHostsFiles = l.value.split(/\s+/).map(unquote);
          break;
        case 'stricthostkeychecking':
          cfg.strictHostKeyChecking = v.toLowerCase() as SshHostConfig['strictHostKeyChecking'];
          break;
        case 'hashknownhosts':
          cfg.hashKnownHosts = v.toLowerCase() === 'yes';
          break;
        case 'connecttimeout':
          cfg.connectTimeout = Number(v);
          break;
        case 'serveraliveinterval':
          cfg.serverAliveInterval = Number(v);
          break;
        case 'serveralivecountmax':
          cfg.serverAliveCountMax = Number(v);
          break;
      }
    }
  }
  const tokens = (s: string) =>
    expandHome(s, home)
      .replace(/%h/g, cfg.hostName ?? host)
      .replace(/%p/g, String(cfg.port ?? 22))
      .replace(/%r/g, cfg.user ?? userInfo().username)
      .replace(/%u/g, userInfo().username)
      .replace(/%d/g, home)
      .replace(/%%/g, '%');
  cfg.identityFiles = cfg.identityFiles.map(tokens);
  if (cfg.userKnownHostsFiles) cfg.userKnownHostsFiles = cfg.userKnownHostsFiles.map(tokens);
  if (cfg.hostName) cfg.hostName = cfg.hostName.replace(/%h/g, host);
  return cfg;
}
