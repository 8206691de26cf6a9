import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ErrorSink, OptionsError, ValidationError, type SourcePos } from '../errors.js';
import { didYouMean } from '../load/suggest.js';
import { loadVarsFile, loadYamlFile, posOf } from '../load/yaml.js';
import type { Vars } from '../vars/scope.js';
import { Inventory } from './inventory.js';

/** Expands Ansible host ranges: `web[01:10]`, `db-[a:c]`, `n[0:10:2]`. */
export function expandHostRange(name: string): string[] {
  const m = /^(.*?)\[([^\]:]+):([^\]:]+)(?::(\d+))?\](.*)$/.exec(name);
  if (!m) {
    if (/[[\]]/.test(name)) throw new Error(`bad host range in '${name}': expected [start:end] or [start:end:step]`);
    return [name];
  }
  const [, head, start, end, stepText, tail] = m as unknown as [string, string, string, string, string | undefined, string];
  const step = stepText ? Number(stepText) : 1;
  if (step < 1) throw new Error(`bad host range in '${name}': step must be at least 1`);
  const out: string[] = [];
  if (/^\d+$/.test(start) && /^\d+$/.test(end)) {
    const width = start.startsWith('0') ? start.length : 0;
    if (Number(start) > Number(end)) throw new Error(`bad host range in '${name}': start is after end`);
    for (let i = Number(start); i <= Number(end); i += step) out.push(String(i).padStart(width, '0'));
  } else if (/^[a-zA-Z]$/.test(start) && /^[a-zA-Z]$/.test(end)) {
    if (start > end) throw new Error(`bad host range in '${name}': start is after end`);
    for (let c = start.charCodeAt(0); c <= end.charCodeAt(0); c += step) out.push(String.fromCharCode(c));
  } else {
    throw new Error(`bad host range in '${name}': both ends must be numbers or single letters`);
  }
  return out.flatMap((x) => expandHostRange(`${head}${x}${tail}`));
}

/**
 * Finds an inventory as the CLI is used: a path, a comma list of hosts (`h1,h2,`), or a
 * name looked up as inventory/NAME.yml, .yaml, .ini or inventory/NAME/.
 */
export function resolveInventory(spec: string, baseDirs: string[]): string {
  // A bare name (`-i prod`) means inventory/prod first; a path (`./prod`, `hosts.ini`) means that path.
  const bareName = !spec.includes('/') && !/\.(ya?ml|ini|json)$/.test(spec);
  if (!bareName && existsSync(spec)) return resolve(spec);
  for (const base of baseDirs) {
    for (const candidate of [`${spec}.yml`, `${spec}.yaml`, `${spec}.ini`, spec]) {
      const p = join(base, 'inventory', candidate);
      if (existsSync(p)) return resolve(p);
    }
  }
  if (existsSync(spec)) return resolve(spec);
  const known = baseDirs.flatMap((b) => (existsSync(join(b, 'inventory')) ? readdirSync(join(b, 'inventory')).map((f) => f.replace(/\.(ya?ml|ini)$/, '')) : []));
  throw new OptionsError(`inventory '${spec}' not found`, `${didYouMean(spec, known, 'inventories')}; looked for ${spec}, inventory/${spec}.yml|.yaml|.ini and inventory/${spec}/`);
}

/** Loads an inventory file or directory, with its group_vars/ and host_vars/. */
/**
 * Loads one inventory source, or several (`-i a -i b`, as Ansible: read in order into one
 * inventory, a later source's values winning).
 */
export function loadInventory(specs: string | readonly string[], baseDirs: string[] = [process.cwd()]): Inventory {
  const inv = new Inventory();
  const sink = new ErrorSink();
  for (const spec of typeof specs === 'string' ? [specs] : specs) addSource(inv, spec, baseDirs, sink);
  inv.finish();
  sink.throwIfAny();
  return inv;
}

function addSource(inv: Inventory, spec: string, baseDirs: string[], sink: ErrorSink): void {
  if (spec.includes(',') && !existsSync(spec)) {
    for (const h of spec.split(',').map((s) => s.trim()).filter(Boolean)) inv.host(h);
    inv.sources.push(spec);
    return;
  }
  const path = resolveInventory(spec, baseDirs);
  const files = statSync(path).isDirectory()
    ? readdirSync(path)
        .filter((f) => !f.startsWith('.') && !['group_vars', 'host_vars'].includes(f) && !/\.(md|txt|retry|orig|bak|cfg)$|~$/.test(f))
        .sort()
        .map((f) => join(path, f))
        .filter((f) => statSync(f).isFile())
    : [path];
  for (const f of files) {
    inv.sources.push(f);
    sink.guard(() => (/\.(ya?ml|json)$/.test(f) ? loadYamlInventory(inv, f, sink) : loadIniInventory(inv, f, sink)), undefined);
  }
  loadVarsDirs(inv, statSync(path).isDirectory() ? path : resolve(path, '..'), sink);
}

/** Reads `group_vars/` and `host_vars/` next to an inventory (or a playbook). */
export function loadVarsDirs(inv: Inventory, dir: string, sink = new ErrorSink()): void {
  const readVars = (kind: 'group_vars' | 'host_vars', name: string): Vars => {
    const base = join(dir, kind);
    const merged: Vars = {};
    const files: string[] = [];
    for (const ext of ['', '.yml', '.yaml', '.json']) {
      const p = join(base, name + ext);
      if (!existsSync(p)) continue;
      if (statSync(p).isDirectory()) files.push(...readdirSync(p).filter((f) => /\.(ya?ml|json)$|^[^.]+$/.test(f)).sort().map((f) => join(p, f)));
      else files.push(p);
    }
    for (const f of files) Object.assign(merged, sink.guard(() => loadVarsFile(f, undefined, `${kind} file`), {}));
    return merged;
  };
  const names = (kind: string): string[] =>
    existsSync(join(dir, kind)) ? [...new Set(readdirSync(join(dir, kind)).filter((f) => !f.startsWith('.')).map((f) => f.replace(/\.(ya?ml|json)$/, '')))] : [];
  for (const g of names('group_vars')) Object.assign(inv.group(g).vars, readVars('group_vars', g));
  for (const h of names('host_vars')) {
    const host = inv.hosts.get(h);
    if (host) Object.assign(host.vars, readVars('host_vars', h));
  }
  sink.throwIfAny();
}

const GROUP_KEYS = ['hosts', 'vars', 'children'];

function loadYamlInventory(inv: Inventory, file: string, sink: ErrorSink): void {
  const data = loadYamlFile(file);
  if (data === null || data === undefined) return;
  const top: SourcePos = { file, line: 1, col: 1 };
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ValidationError('E_INVENTORY', 'a YAML inventory must be a mapping of groups', { pos: posOf(data) ?? top, hint: 'start with "all:\\n  hosts:\\n    myhost:"' });
  }
  const addGroup = (name: string, body: unknown, at: SourcePos | undefined): void => {
    inv.group(name);
    if (body === null || body === undefined) return;
    if (typeof body !== 'object' || Array.isArray(body)) {
      sink.add(new ValidationError('E_INVENTORY', `group '${name}' must be a mapping with hosts, vars or children`, { pos: at ?? top }));
      return;
    }
    const g = body as Record<string, unknown>;
    for (const key of Object.keys(g)) {
      if (!GROUP_KEYS.includes(key)) sink.add(new ValidationError('E_UNKNOWN_KEY', `unknown key '${key}' in group '${name}'`, { pos: posOf(g, key, 'key'), hint: didYouMean(key, GROUP_KEYS) }));
    }
    const mapping = (key: string): Record<string, unknown> | undefined => {
      const v = g[key];
      if (v === null || v === undefined) return undefined;
      if (typeof v !== 'object' || Array.isArray(v)) {
        sink.add(new ValidationError('E_INVENTORY', `'${key}' of group '${name}' must be a mapping`, { pos: posOf(g, key), hint: key === 'hosts' ? 'write hosts as "hosts:\\n  name1:\\n  name2:"' : undefined }));
        return undefined;
      }
      return v as Record<string, unknown>;
    };
    // In file order, so hosts keep the order the inventory lists them in.
    for (const key of Object.keys(g)) {
      if (key === 'hosts') addHosts(name, g, mapping('hosts') ?? {});
      else if (key === 'vars') Object.assign(inv.group(name).vars, mapping('vars') ?? {});
      else if (key === 'children') {
        for (const [child, childBody] of Object.entries(mapping('children') ?? {})) {
          addGroup(child, childBody, posOf(g.children, child));
          if (child === name) sink.add(new ValidationError('E_INVENTORY', `group '${name}' lists itself as a child`, { pos: posOf(g.children, child, 'key') }));
          else inv.link(name, child);
        }
      }
    }
  };
  const addHosts = (name: string, g: Record<string, unknown>, hosts: Record<string, unknown>): void => {
    for (const [hostSpec, hostVars] of Object.entries(hosts)) {
      let names: string[];
      try {
        names = expandHostRange(hostSpec);
      } catch (e) {
        sink.add(new ValidationError('E_INVENTORY', (e as Error).message, { pos: posOf(g.hosts, hostSpec, 'key') }));
        continue;
      }
      if (hostVars !== null && hostVars !== undefined && (typeof hostVars !== 'object' || Array.isArray(hostVars))) {
        sink.add(new ValidationError('E_INVENTORY', `variables of host '${hostSpec}' must be a mapping`, { pos: posOf(g.hosts, hostSpec) }));
        continue;
      }
      for (const h of names) Object.assign(inv.host(h, name).vars, hostVars ?? {});
    }
  };
  for (const [name, body] of Object.entries(data as Record<string, unknown>)) addGroup(name, body, posOf(data, name));
}

/** Ansible's INI inventory: `[group]`, `[group:vars]`, `[group:children]`, `host k=v`. */
function loadIniInventory(inv: Inventory, file: string, sink: ErrorSink): void {
  const text = readFileSync(file, 'utf8');
  let group = 'ungrouped';
  let kind: 'hosts' | 'vars' | 'children' = 'hosts';
  text.split('\n').forEach((raw, i) => {
    const pos: SourcePos = { file, line: i + 1, col: 1 };
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const section = /^\[([^\]:]+)(?::(\w+))?\]\s*$/.exec(line.trim());
    if (line.startsWith('[')) {
      if (!section) {
        sink.add(new ValidationError('E_INVENTORY', `bad section header '${line.trim()}'`, { pos, hint: 'write [group], [group:vars] or [group:children]' }));
        return;
      }
      group = section[1]!.trim();
      const k = section[2] ?? 'hosts';
      if (!['hosts', 'vars', 'children'].includes(k)) {
        sink.add(new ValidationError('E_INVENTORY', `unknown section type ':${k}'`, { pos: { ...pos, col: raw.indexOf(':') + 1 }, hint: 'use :vars or :children' }));
        return;
      }
      kind = k as typeof kind;
      inv.group(group);
      return;
    }
    const words = iniWords(line);
    if (kind === 'children') {
      inv.link(group, words[0]!);
      return;
    }
    if (kind === 'vars') {
      const m = /^([A-Za-z_][\w]*)\s*=\s*(.*)$/.exec(line.trim());
      if (!m) {
        sink.add(new ValidationError('E_INVENTORY', `expected 'name=value' in [${group}:vars], got '${line.trim()}'`, { pos, hint: 'one variable per line: name=value' }));
        return;
      }
      inv.group(group).vars[m[1]!] = iniValue(m[2]!.trim());
      return;
    }
    let names: string[];
    try {
      names = expandHostRange(words[0]!);
    } catch (e) {
      sink.add(new ValidationError('E_INVENTORY', (e as Error).message, { pos: { ...pos, col: raw.indexOf(words[0]!) + 1 } }));
      return;
    }
    const vars: Vars = {};
    for (const w of words.slice(1)) {
      const eq = w.indexOf('=');
      if (eq <= 0) {
        sink.add(new ValidationError('E_INVENTORY', `expected 'name=value' after host '${words[0]}', got '${w}'`, { pos: { ...pos, col: raw.indexOf(w) + 1 }, hint: 'host variables are written as name=value; quote values with spaces' }));
        return;
      }
      vars[w.slice(0, eq)] = iniValue(w.slice(eq + 1));
    }
    for (const h of names) Object.assign(inv.host(h, group === 'ungrouped' ? undefined : group).vars, vars);
  });
}

function iniWords(line: string): string[] {
  const noComment = line.replace(/\s+[#;].*$/, '');
  return (noComment.match(/(?:[^\s"']+|"(?:[^"\\]|\\.)*"|'[^']*')+/g) ?? []).map((w) => w.replace(/=(["'])(.*)\1$/, '=$2'));
}

/** INI values are Python literals where they parse as one (Ansible uses literal_eval). */
function iniValue(v: string): unknown {
  const unquoted = /^(["'])(.*)\1$/.exec(v);
  if (unquoted) return unquoted[2];
  if (/^-?\d+$/.test(v)) return Number(v);
  if (/^-?\d+\.\d+$/.test(v)) return Number(v);
  if (v === 'True') return true;
  if (v === 'False') return false;
  if (v === 'None') return null;
  return v;
}

