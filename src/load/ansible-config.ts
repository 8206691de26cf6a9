import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';

/** Where roles and collections are found, as ansible-playbook finds them. */
export interface SearchPaths {
  /** roles_path: after the playbook's own roles/ directory. */
  rolesPath: string[];
  /** collections_path: each holds ansible_collections/<namespace>/<name>/. */
  collectionsPath: string[];
  /** The ansible.cfg read, if any (for messages). */
  configFile?: string | undefined;
  /** Why a config file was passed over (a world-writable directory), to warn about. */
  ignored?: string | undefined;
}

const DEFAULT_ROLES = ['~/.ansible/roles', '/usr/share/ansible/roles', '/etc/ansible/roles'];
const DEFAULT_COLLECTIONS = ['~/.ansible/collections', '/usr/share/ansible/collections'];

const expandHome = (p: string) => (p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p);

/**
 * The config file Ansible reads: $ANSIBLE_CONFIG, ./ansible.cfg, ~/.ansible.cfg, then
 * /etc/ansible/ansible.cfg. As Ansible, ./ansible.cfg in a directory anyone may write to is
 * ignored: another user could have put it there to point roles at their own code.
 */
export function findConfigFile(env: NodeJS.ProcessEnv, cwd: string): { file?: string; ignored?: string } {
  if (env.ANSIBLE_CONFIG) {
    const p = resolve(cwd, expandHome(env.ANSIBLE_CONFIG));
    const file = existsSync(p) && statSync(p).isDirectory() ? join(p, 'ansible.cfg') : p;
    if (existsSync(file)) return { file };
  }
  const local = join(cwd, 'ansible.cfg');
  let ignored: string | undefined;
  if (existsSync(local)) {
    if ((statSync(cwd).mode & 0o002) !== 0) ignored = `ignoring ${local}: its directory is world-writable (as ansible-playbook does)`;
    else return { file: local };
  }
  for (const p of [join(homedir(), '.ansible.cfg'), '/etc/ansible/ansible.cfg']) if (existsSync(p)) return { file: p, ignored };
  return { ignored };
}

/** The `[defaults]` section of an INI file (configparser's `key = value` / `key: value`). */
export function readDefaults(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  let section = '';
  let last: string | undefined;
  for (const raw of readFileSync(file, 'utf8').split(/\r?\n/)) {
    if (/^\s*([#;]|$)/.test(raw)) continue;
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(raw);
    if (header) {
      section = header[1]!.trim();
      last = undefined;
      continue;
    }
    if (section !== 'defaults') continue;
    // An indented line continues the value above it.
    if (/^\s/.test(raw) && last) {
      out[last] += `\n${raw.trim()}`;
      continue;
    }
    const m = /^\s*([^=:\s]+)\s*[=:]\s*(.*)$/.exec(raw);
    if (m) out[(last = m[1]!.toLowerCase())] = m[2]!.replace(/\s+[#;].*$/, '').trim();
  }
  return out;
}

/** A pathspec value: `:`-separated (or one per line); relative entries are relative to `base`. */
function pathList(value: string, base: string): string[] {
  return value
    .split(/[:\n]/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      const e = expandHome(p);
      return isAbsolute(e) ? e : resolve(base, e);
    });
}

/** roles_path and collections_path from the environment, else ansible.cfg, else Ansible's defaults. */
export function ansibleSearchPaths(env: NodeJS.ProcessEnv, cwd: string): SearchPaths {
  const { file, ignored } = findConfigFile(env, cwd);
  const cfg = file ? readDefaults(file) : {};
  const cfgBase = file ? dirname(file) : cwd;
  const fromEnv = (name: string) => (env[name] ? pathList(env[name]!, cwd) : undefined);
  const fromCfg = (...keys: string[]) => {
    const key = keys.find((k) => cfg[k] !== undefined);
    return key ? pathList(cfg[key]!, cfgBase) : undefined;
  };
  return {
    rolesPath: fromEnv('ANSIBLE_ROLES_PATH') ?? fromCfg('roles_path') ?? DEFAULT_ROLES.map(expandHome),
    collectionsPath: fromEnv('ANSIBLE_COLLECTIONS_PATH') ?? fromEnv('ANSIBLE_COLLECTIONS_PATHS') ?? fromCfg('collections_path', 'collections_paths') ?? DEFAULT_COLLECTIONS.map(expandHome),
    configFile: file,
    ignored,
  };
}
